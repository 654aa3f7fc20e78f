"""Which host a Mapping matches: `hostname` over `host` over an exact `:authority` header.

As in Emissary, the three are not combined: `hostname` (a DNS glob) wins over `host`
(exact, or a regex with `host_regex`), which wins over an exact `:authority` entry in
`headers`; the given are dropped. An exact host cannot contain `*` (no DNS name does),
so `host: "*"` or `headers: {":authority": "*.x"}` is an error rather than a route
that never matches. A `:authority` entry of `regex_headers` is an ordinary header
match and is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from legation.model.mapping import MappingSpec

AUTHORITY = ":authority"


@dataclass(frozen=True, slots=True)
class HostMatch:
    """The host part of a Mapping's match, after the override rules."""

    hostname: str
    """Virtual-host glob (lower case); `*` for every host, and for a regex host."""
    regex: str | None = None
    """The `host` pattern when `host_regex` is set (matched on `:authority`)."""
    written: str | None = None
    """The winning host as written: it counts as an `:authority` header in the route
    weight (a `hostname: "*"` counts too, as in Emissary)."""
    ignored: tuple[tuple[str, str], ...] = ()
    """(field, winner) for each host setting that was overridden and dropped."""


@dataclass(frozen=True, slots=True)
class HostError:
    """An exact host containing `*`: the field and what is wrong."""

    field: str
    message: str


def authority_header(spec: MappingSpec) -> str | None:
    """The name under which `headers` holds an exact `:authority` value, if any."""
    for name, value in spec.headers.items():
        if name.lower() == AUTHORITY and value is not True:
            return name
    return None


def host_match(spec: MappingSpec) -> HostMatch | HostError:
    """The effective host of a Mapping, or the error that rejects it."""
    written: str | None = None
    regex = False
    given: list[str] = []
    name = authority_header(spec)
    if name is not None:
        written = str(spec.headers[name])
        if "*" in written:
            return HostError(
                f"headers.{name}",
                f"exact {AUTHORITY} match {written!r} contains '*', which no host name can "
                "match; use `hostname` for a glob",
            )
        given.append(f"headers.{name}")
    if spec.host is not None:
        written, regex = spec.host, spec.host_regex
        given.append("host")
        if not regex and "*" in written:
            return HostError(
                "host",
                f"host {written!r} is an exact match and contains '*', which no host name "
                "can match; use `hostname` for a glob (or `host_regex: true`)",
            )
    if spec.hostname is not None:
        written, regex = spec.hostname, False
        given.append("hostname")
    winner = given[-1] if given else ""
    ignored = tuple((field, winner) for field in given[:-1])
    if not written:
        return HostMatch("*", ignored=ignored)
    if regex:
        return HostMatch("*", regex=written, written=written, ignored=ignored)
    return HostMatch(written.lower(), written=written, ignored=ignored)
