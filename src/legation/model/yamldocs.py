"""Read multi-document YAML into RawObjects, keeping document and field line numbers."""

from __future__ import annotations

import re
from typing import Any

import yaml

from legation.ir.errors import ConfigProblem
from legation.ir.provenance import Source
from legation.model.limits import ALIAS_TOKEN, ShapeError, check_node_shape
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


def _expand(
    doc: Any, node: yaml.Node, source: Source, offset: int, problems: list[ConfigProblem]
) -> list[RawObject]:
    """A document, or the items of a Kubernetes `List`, as RawObjects."""
    if not isinstance(doc, dict):
        what = type(doc).__name__
        problems.append(ConfigProblem(source, None, f"expected a mapping (object), got {what}"))
        return []
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
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
            out.extend(_expand(item, item_node, source.at_line(line), offset, problems))
        return out
    lines: dict[str, int] = {}
    _field_lines(node, "", _FIELD_LINE_DEPTH, lines, offset)
    return [RawObject(doc=doc, source=source, field_lines=lines)]


class _AliasScan:
    """Tells whether a document's text could hold a YAML alias, cheaply (a regex over the
    document's lines, and none at all when the whole text has no alias token)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.any = ALIAS_TOKEN.search(text) is not None
        self._line_starts: list[int] | None = None

    def may_alias(self, node: yaml.Node) -> bool:
        if not self.any:
            return False
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        starts = self._line_starts
        first, last = node.start_mark.line, node.end_mark.line + 1
        begin = starts[min(first, len(starts) - 1)]
        end = starts[last] if last < len(starts) else len(self.text)
        return ALIAS_TOKEN.search(self.text, begin, end) is not None


def _construct(
    loader: Any,
    node: yaml.Node,
    source: Source,
    offset: int,
    problems: list[ConfigProblem],
    may_alias: bool = True,
) -> list[RawObject]:
    """One composed document → RawObjects, after checking its shape.

    Any failure here is this document's problem: the parser has already moved past it,
    so the documents after it are still read.
    """
    try:
        check_node_shape(node, may_alias=may_alias)
        doc = loader.construct_document(node)
    except ShapeError as exc:
        line = exc.line + 1 + offset if exc.line is not None else source.line
        problems.append(ConfigProblem(source.at_line(line), None, f"document {exc.message}"))
        return []
    except yaml.MarkedYAMLError as exc:
        problems.append(_yaml_problem(exc, source.location, source.annotation, offset))
        return []
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise plain ValueErrors, e.g. for a date like 2024-13-01
        problems.append(ConfigProblem(source, None, f"invalid YAML value: {exc}"))
        return []
    if doc is None:
        return []
    return _expand(doc, node, source, offset, problems)


def _yaml_problem(
    exc: yaml.MarkedYAMLError, location: str, annotation: str | None, offset: int
) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    line = (mark.line + 1 + offset) if mark is not None else None
    reason = " ".join(p for p in (exc.context, exc.problem) if p)
    return ConfigProblem(Source(location, line, annotation), None, f"invalid YAML: {reason}")


def parse_documents(
    text: str, location: str, *, annotation: str | None = None, line_offset: int = 0
) -> tuple[list[RawObject], list[ConfigProblem]]:
    """Parse every YAML document in `text`.

    Empty documents are skipped. A document nested too deeply or whose aliases expand
    too far (see `legation.model.limits`) is refused on its own. A syntax error is
    reported with its line; documents before it are kept, since YAML cannot
    resynchronise after a syntax error.
    """
    objects: list[RawObject] = []
    problems: list[ConfigProblem] = []
    loader = _Loader(text)
    aliases = _AliasScan(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 + line_offset
            source = Source(location, line, annotation, index if annotation else None)
            index += 1
            may_alias = aliases.may_alias(node)
            objects.extend(_construct(loader, node, source, line_offset, problems, may_alias))
    except yaml.MarkedYAMLError as exc:
        problems.append(_yaml_problem(exc, location, annotation, line_offset))
    except yaml.YAMLError as exc:
        problems.append(
            ConfigProblem(Source(location, None, annotation), None, f"invalid YAML: {exc}")
        )
    finally:
        loader.dispose()
    return objects, problems
