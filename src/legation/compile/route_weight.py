"""Emissary's `route_weight` of a Mapping: what routes are ordered by, highest first.

The weight is `(precedence, len(prefix), header length, query length, prefix, method)`
followed by each match's `name-value`. A header or query match counts len(name) +
len(value), +1 for a regex; a presence match (value `true`) counts its value as `*`.
The Mapping's host counts as a header `:authority` (see host_match.py) and its `method`
as a header `:method`. The prefix counts as written, so a `prefix_regex` counts the
characters of its pattern.
"""

from __future__ import annotations

from legation.compile.host_match import AUTHORITY, HostMatch, authority_header
from legation.ir.routes import RouteWeight
from legation.model.mapping import MappingSpec

_Match = tuple[str, str | None, bool]
"""A header or query match as Emissary weighs it: name, value (None: presence), regex."""


def _length(match: _Match) -> int:
    name, value, regex = match
    return len(name) + len(value or "*") + (1 if regex else 0)


def _key(match: _Match) -> str:
    return f"{match[0]}-{match[1] or '*'}"


def _exact_or_present(values: dict[str, str | bool], skip: str | None = None) -> list[_Match]:
    return [(n, None if v is True else str(v), False) for n, v in values.items() if n != skip]


def header_matches(spec: MappingSpec, host: HostMatch) -> list[_Match]:
    """Headers in Emissary's order: `headers`, `regex_headers`, the host, the method."""
    out = _exact_or_present(spec.headers, skip=authority_header(spec))
    out += [(n, v, True) for n, v in spec.regex_headers.items()]
    if host.written:
        out.append((AUTHORITY, host.written, host.regex is not None))
    if spec.method:
        out.append((":method", spec.method, spec.method_regex))
    return out


def route_weight(spec: MappingSpec, host: HostMatch) -> RouteWeight:
    """The route weight of one Mapping."""
    headers = header_matches(spec, host)
    query = _exact_or_present(spec.query_parameters)
    query += [(n, v, True) for n, v in spec.regex_query_parameters.items()]
    return RouteWeight(
        precedence=spec.precedence,
        path_length=len(spec.prefix),
        header_length=sum(map(_length, headers)),
        query_length=sum(map(_length, query)),
        path=spec.prefix,
        method=spec.method or "GET",
        keys=tuple(_key(m) for m in headers + query),
    )
