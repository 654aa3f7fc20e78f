"""Bounds on the shape of input documents, so no document can exhaust the stack or memory.

YAML aliases let a few lines stand for billions of nodes (an "alias bomb"), and a deeply
nested value makes every recursive consumer (validation, `repr`, JSON encoding) blow the
stack. Both are refused before anything walks the document; the checks are iterative.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

MAX_NESTING_DEPTH = 100
"""Deepest nesting of mappings and lists in one document (Kubernetes objects, CRD schemas
included, stay well below it)."""

MAX_ALIAS_NODES = 100_000
"""Most nodes one document may gain by expanding its YAML aliases."""


class ShapeError(ValueError):
    """A document is nested too deeply, expands too far, or refers to itself."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        """0-based line (as YAML marks count) of the node that broke the limit, if known."""


ALIAS_TOKEN = re.compile(r"(?:\A|[\s\[\{,:])\*")
"""Where a YAML alias (`*name`) could start. A document without a match has no alias
(a `*` inside `.*` or `"*"` does not match), so only its depth needs checking."""

_SCALAR_CHARS_PER_NODE = 100
"""An aliased scalar counts one node per this many characters: a long string repeated
by aliases is as costly to expand as many nodes."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _weight(node: yaml.Node) -> int:
    if isinstance(node, yaml.ScalarNode):
        return 1 + len(node.value) // _SCALAR_CHARS_PER_NODE
    return 1


def check_node_shape(
    root: yaml.Node,
    max_depth: int = MAX_NESTING_DEPTH,
    max_alias_nodes: int = MAX_ALIAS_NODES,
    *,
    may_alias: bool = True,
) -> None:
    """Raise `ShapeError` when a composed YAML document breaks a bound.

    `may_alias=False` (the document's text has no alias token, see `ALIAS_TOKEN`)
    checks depth alone, visiting only mappings and lists: the common, cheap case.
    """
    if not may_alias:
        _check_depth(root, max_depth)
    else:
        _check_expansion(root, max_depth, max_alias_nodes)


def _check_depth(root: yaml.Node, max_depth: int) -> None:
    stack = [(root, 1)]
    collections = (yaml.MappingNode, yaml.SequenceNode)
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise ShapeError(f"nested deeper than {max_depth} levels", _line(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, collections):
                    stack.append((key, depth + 1))
                if isinstance(value, collections):
                    stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((c, depth + 1) for c in node.value if isinstance(c, collections))


def _check_expansion(root: yaml.Node, max_depth: int, max_alias_nodes: int) -> None:
    """Aliases appear in the node graph as one node reached twice; each node's expanded
    size is computed once (post-order, memoised), so the check costs one visit per
    distinct node however far the aliases would expand. A node reached again while it
    is still open is a recursive alias."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    open_nodes: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            children = _children(node)
            sizes[key] = _weight(node) + sum(sizes[id(c)] for c in children)
            heights[key] = 1 + max((heights[id(c)] for c in children), default=0)
            continue
        if key in open_nodes:
            raise ShapeError("a YAML alias refers to a node that contains it", _line(node))
        # an alias reached again still counts at its depth here: the expanded value nests
        if depth + heights.get(key, 1) - 1 > max_depth:
            raise ShapeError(f"nested deeper than {max_depth} levels", _line(node))
        if key in sizes:
            continue
        open_nodes.add(key)
        distinct += _weight(node)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(_children(node)))
    expanded = sizes[id(root)]
    if expanded - distinct > max_alias_nodes:
        raise ShapeError(
            f"YAML aliases expand this document by {expanded - distinct} nodes, more than "
            f"the limit of {max_alias_nodes}; refused"
        )


def _line(node: yaml.Node) -> int | None:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) if mark is not None else None


def nesting_exceeds(value: Any, max_depth: int = MAX_NESTING_DEPTH) -> bool:
    """True when plain data (dicts and lists, e.g. a Kubernetes object) nests deeper than
    `max_depth`, or contains itself. Iterative, so any depth is safe to ask about."""
    stack: list[tuple[Any, int, bool]] = [(value, 1, False)]
    open_items: set[int] = set()
    while stack:
        item, depth, done = stack.pop()
        if done:
            open_items.discard(id(item))
            continue
        if isinstance(item, Mapping):
            children: list[Any] = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if depth > max_depth or id(item) in open_items:
            return True
        open_items.add(id(item))
        stack.append((item, depth, True))
        stack.extend((child, depth + 1, False) for child in children)
    return False
