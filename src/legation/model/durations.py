"""Durations as Ambassador writes them (`5s`, `500ms`, `1m30s`), read as milliseconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_MS = {
    "ns": 1e-6,
    "us": 1e-3,
    "µs": 1e-3,
    "ms": 1.0,
    "s": 1000.0,
    "m": 60_000.0,
    "h": 3_600_000.0,
}


def parse_duration_ms(value: Any) -> Any:
    """`"1.5s"` → 1500. A bare number means seconds. Other types pass on to pydantic."""
    if isinstance(value, bool):
        return value  # pydantic rejects it with its own message
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration must not be negative")
        return round(value * 1000)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d*)?", text):
        return round(float(text) * 1000)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"invalid duration {value!r}: expected a number with a unit, e.g. '5s', '250ms', '1m'"
        )
    return round(total)


DurationMs = Annotated[int, BeforeValidator(parse_duration_ms)]
"""A duration field: written `5s` / `250ms` / `1m` (or a number of seconds), held in ms."""
