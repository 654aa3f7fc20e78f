"""Documents cut down to what a diagnostics page can show.

A document is shown as written (as data for JSON, re-dumped as YAML for HTML), but
never expanded without bound: YAML aliases share subtrees, so a few kB of input can
stand for gigabytes once walked (an alias bomb), and a huge but legal document
would block the server while it is dumped. The walk has a budget of characters;
long lists and mappings show their first items and say how many more there are,
long strings are cut, deep nesting stops, and whatever is left out is said in a
note. The result's size is bounded whatever the input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_CHARS = 100_000
"""Budget of the whole shown document, in characters: keys and scalars, plus the
indentation and punctuation each node costs in YAML."""
MAX_ITEMS = 500
"""Items shown per list or mapping."""
MAX_STRING = 4_096
"""Characters shown per string."""
MAX_DEPTH = 64
"""Nesting levels shown."""
MAX_YAML = 256 * 1024
"""Characters of re-dumped YAML shown."""

CUT = "…"

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the C dumper when built with it


@dataclass
class _Walk:
    budget: int = MAX_CHARS
    notes: set[str] = field(default_factory=set)

    def spend(self, chars: int, depth: int) -> bool:
        """Take a node of `chars` at `depth` from the budget; False when it is spent."""
        if self.budget <= 0:
            self.notes.add(f"the document is larger than the {MAX_CHARS:,} characters shown")
            return False
        self.budget -= chars + 2 * depth + 2
        return True


def _scalar(value: Any, walk: _Walk) -> Any:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str) and len(value) > MAX_STRING:
        walk.notes.add(f"strings longer than {MAX_STRING:,} characters are cut")
        return f"{value[:MAX_STRING]}{CUT} ({len(value) - MAX_STRING:,} more characters)"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)[:MAX_STRING]


def _more(count: int, what: str, walk: _Walk) -> str:
    walk.notes.add(f"lists and mappings show their first {MAX_ITEMS:,} items")
    return f"{CUT} {count:,} more {what}"


def _bound(value: Any, walk: _Walk, depth: int) -> Any:
    if depth > MAX_DEPTH:
        walk.notes.add(f"nesting deeper than {MAX_DEPTH} levels is not shown")
        return CUT
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            name = str(key)[:MAX_STRING]
            if i == MAX_ITEMS:
                out[CUT] = _more(len(value) - i, "keys", walk)
                break
            if not walk.spend(len(name), depth):
                out[CUT] = f"{CUT} not shown"
                break
            out[name] = _bound(item, walk, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for i, item in enumerate(value):
            if i == MAX_ITEMS:
                items.append(_more(len(value) - i, "items", walk))
                break
            if not walk.spend(0, depth):
                items.append(f"{CUT} not shown")
                break
            items.append(_bound(item, walk, depth + 1))
        return items
    shown = _scalar(value, walk)
    walk.spend(len(shown) if isinstance(shown, str) else 8, depth)
    return shown


@dataclass(frozen=True)
class ShownDocument:
    """What a page shows of one document."""

    data: Any
    """The document as plain data, cut down as described in the module docstring."""
    yaml: str
    """`data` re-dumped as YAML (at most `MAX_YAML` characters)."""
    notes: tuple[str, ...]
    """What was left out, in words; empty when the document is shown whole."""


def shown_document(doc: Any) -> ShownDocument:
    """`doc` cut down to a bounded size, with its YAML and notes on what is missing."""
    walk = _Walk()
    data = _bound(doc, walk, 0)
    text = yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    if len(text) > MAX_YAML:
        walk.notes.add(f"the YAML is cut after {MAX_YAML:,} characters")
        text = text[:MAX_YAML] + f"\n# {CUT} cut: {len(text) - MAX_YAML:,} more characters\n"
    return ShownDocument(data, text, tuple(sorted(walk.notes)))


def shown_json(data: Any) -> str:
    """`data` (e.g. an Envoy resource) as indented JSON, cut down like a document."""
    walk = _Walk()
    text = json.dumps(_bound(data, walk, 0), indent=2, sort_keys=True)
    if len(text) > MAX_YAML:
        text = text[:MAX_YAML] + f"\n{CUT} cut: {len(text) - MAX_YAML:,} more characters\n"
    elif walk.notes:
        text += f"\n{CUT} shortened: {'; '.join(sorted(walk.notes))}\n"
    return text
