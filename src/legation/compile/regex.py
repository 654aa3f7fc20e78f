"""Regular expressions checked the way Envoy will check them: with RE2.

Envoy refuses a regex whose compiled RE2 program is larger than the runtime value
`re2.max_program_size.error_level`, 100 by default (source/common/common/regex.cc:
`ProgramSize() > error_level` is an error); legation's bootstrap leaves it at the
default, so the same limit is checked here and a too-complex pattern is the
Mapping's error instead of a rejected route table.
"""

from __future__ import annotations

import functools

import re2

ENVOY_MAX_PROGRAM_SIZE = 100
"""Envoy's default `re2.max_program_size.error_level`."""


def _options(case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the reason is returned; RE2 need not also print it
    # as Envoy gets it: a case-insensitive match is sent as `(?i)pattern`, whose
    # program is larger than the pattern's own
    options.case_sensitive = case_sensitive
    return options


_OPTIONS = {True: _options(True), False: _options(False)}


@functools.lru_cache(maxsize=4096)
def regex_error(pattern: str, case_sensitive: bool = True) -> str | None:
    """None when Envoy would accept `pattern`, else why not: RE2's reason (e.g.
    `invalid perl operator: (?=`), or a program size over Envoy's limit."""
    try:
        compiled = re2.compile(pattern, options=_OPTIONS[case_sensitive])
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode() if isinstance(reason, bytes) else str(reason)
    size = compiled.programsize
    if size > ENVOY_MAX_PROGRAM_SIZE:
        return (
            f"its RE2 program size is {size}, over Envoy's limit of {ENVOY_MAX_PROGRAM_SIZE} "
            "(re2.max_program_size.error_level); use a simpler pattern, e.g. fewer "
            "alternatives or repetitions, or a prefix match"
        )
    return None
