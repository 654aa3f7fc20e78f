"""Read multi-document YAML into RawObjects, keeping document and field line numbers."""

from __future__ import annotations

from typing import Any

import yaml

from legation.ir.errors import ConfigProblem
from legation.ir.provenance import Source
from legation.model.raw import RawObject

try:
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_FIELD_LINE_DEPTH = 3


def _field_lines(
    node: yaml.Node, prefix: str, depth: int, out: dict[str, int], offset: int
) -> None:
    """Record the line of every mapping key down to a fixed depth."""
    if depth == 0 or not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        path = f"{prefix}{key_node.value}"
        out[path] = key_node.start_mark.line + 1 + offset
        _field_lines(value_node, path + ".", depth - 1, out, offset)


def _expand(doc: Any, node: yaml.Node, source: Source, offset: int) -> list[RawObject]:
    """A document, or the items of a Kubernetes `List`, as RawObjects."""
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        items_node: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == "items":
                    items_node = value_node
        out: list[RawObject] = []
        for index, item in enumerate(doc["items"]):
            item_node = (
                items_node.value[index]
                if isinstance(items_node, yaml.SequenceNode) and index < len(items_node.value)
                else node
            )
            line = item_node.start_mark.line + 1 + offset
            out.extend(_expand(item, item_node, source.at_line(line), offset))
        return out
    lines: dict[str, int] = {}
    _field_lines(node, "", _FIELD_LINE_DEPTH, lines, offset)
    return [RawObject(doc=doc, source=source, field_lines=lines)]


def parse_documents(
    text: str, location: str, *, annotation: str | None = None, line_offset: int = 0
) -> tuple[list[RawObject], list[ConfigProblem]]:
    """Parse every YAML document in `text`.

    Empty documents are skipped. A syntax error is reported with its line; documents
    before it are kept, since YAML cannot resynchronise after a syntax error.
    """
    objects: list[RawObject] = []
    problems: list[ConfigProblem] = []
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            doc = loader.construct_document(node)
            line = node.start_mark.line + 1 + line_offset
            source = Source(location, line, annotation, index if annotation else None)
            index += 1
            if doc is None:
                continue
            if not isinstance(doc, dict):
                problems.append(
                    ConfigProblem(
                        source, None, f"expected a mapping (object), got {type(doc).__name__}"
                    )
                )
                continue
            objects.extend(_expand(doc, node, source, line_offset))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 + line_offset) if mark is not None else None
        reason = " ".join(p for p in (exc.context, exc.problem) if p)
        problems.append(
            ConfigProblem(Source(location, line, annotation), None, f"invalid YAML: {reason}")
        )
    except yaml.YAMLError as exc:
        problems.append(
            ConfigProblem(Source(location, None, annotation), None, f"invalid YAML: {exc}")
        )
    finally:
        loader.dispose()
    return objects, problems
