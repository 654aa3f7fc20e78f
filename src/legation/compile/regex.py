"""Regular expressions checked the way Envoy will check them: with RE2."""

from __future__ import annotations

import functools

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason is returned; RE2 need not also print it


@functools.lru_cache(maxsize=4096)
def regex_error(pattern: str) -> str | None:
    """None when RE2 accepts `pattern`, else RE2's reason (e.g. `invalid perl operator: (?=`)."""
    try:
        re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode() if isinstance(reason, bytes) else str(reason)
    return None
