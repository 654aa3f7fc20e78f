"""Envoy access logging, as the ambassador Module asks for it (`envoy_log_*`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LogType(StrEnum):
    """One text line per request, or one JSON object per request."""

    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class AccessLog:
    """A file access log on every HTTP connection manager."""

    path: str = "/dev/stdout"
    """The file Envoy appends to (`/dev/stdout` shares Envoy's standard output)."""
    log_type: LogType = LogType.TEXT
    text_format: str | None = None
    """For `text`: an Envoy format string; None uses Envoy's default line."""
    json_format: tuple[tuple[str, str], ...] = ()
    """For `json`: (key, format) pairs, in the order written; empty uses a default set."""
