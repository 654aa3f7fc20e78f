"""HTTP routes as the compiler decided them: matched, ordered and grouped."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from legation.ir.policies import Mirror, RouteOptions
from legation.ir.provenance import Source

ACME_PREFIX = "/.well-known/acme-challenge/"
"""Always routed, whatever a Host's insecure action, and never authenticated
(certificate issuers use it)."""


class PathKind(StrEnum):
    """How the request path is compared with a route's path value."""

    PREFIX = "prefix"
    EXACT = "exact"
    REGEX = "regex"


@dataclass(frozen=True, slots=True)
class PathMatch:
    """The path part of a route match."""

    kind: PathKind
    value: str
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """A request header constraint; `value` None means the header must be present."""

    name: str
    value: str | None = None
    regex: bool = False


@dataclass(frozen=True, slots=True)
class QueryMatch:
    """A query parameter constraint; `value` None means the parameter must be present."""

    name: str
    value: str | None = None
    regex: bool = False


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """Everything a request must satisfy to take a route (besides its virtual host)."""

    path: PathMatch
    method: str | None = None
    method_regex: bool = False
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[QueryMatch, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class RouteWeight:
    """Emissary's `route_weight` of a Mapping: routes are tried highest weight first.

    Compared field by field, in this order; strings compare as strings (so at a full
    tie, `/b/` comes before `/a/` and `PUT` before `POST`, as in Emissary).
    """

    precedence: int
    path_length: int
    """Length of the Mapping's `prefix` as written (a regex counts its characters)."""
    header_length: int
    """Sum over header matches (with `host` as `:authority` and `method` as `:method`) of
    len(name) + len(value), a value-less (presence) match counting as `*`, +1 per regex."""
    query_length: int
    """The same sum over query-parameter matches."""
    path: str
    method: str
    """The Mapping's `method` as written; `GET` when it has none."""
    keys: tuple[str, ...] = ()
    """`name-value` of each header match, then of each query match, as written."""


@dataclass(frozen=True, slots=True)
class HeaderToAdd:
    """A header added to a request or response."""

    name: str
    value: str
    append: bool = True


@dataclass(frozen=True, slots=True)
class RegexRewrite:
    """A regex substitution applied to the path before it goes upstream."""

    pattern: str
    substitution: str


@dataclass(frozen=True, slots=True)
class WeightedTarget:
    """One member of a canary group: a cluster and its share of the traffic."""

    cluster: str
    """Name of the IR cluster (and the Envoy cluster) receiving the traffic."""
    weight: int
    """Share of the group's traffic, in percent; the shares of a group sum to 100."""
    mapping: str
    """`Kind/name.namespace` of the Mapping that contributed this target."""
    add_request_headers: tuple[HeaderToAdd, ...] = ()
    remove_request_headers: tuple[str, ...] = ()
    add_response_headers: tuple[HeaderToAdd, ...] = ()
    remove_response_headers: tuple[str, ...] = ()


OrderKey = tuple[int, int, int, int, str, str, tuple[str, ...], int, str, int]
"""A route's sort key as a flat tuple of plain values: compared in C, which matters when
tens of thousands of routes are sorted on every change (a dataclass field would compare
through Python-level `__eq__` / `__lt__`)."""
"""What routes sort by, highest first (see `Route.sort_key`)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One Envoy route: a match, an ordering key and its target.

    A canary group of several Mappings becomes one route per member, with the same match
    and consecutive places, each with its own settings and a `runtime_fraction`.
    """

    name: str
    """Stable name derived from the match (the canary group id) and, in a group of several,
    the member's Mapping; never from a position."""
    hostname: str
    """DNS glob selecting the virtual host; `*` for every host."""
    match: RouteMatch
    precedence: int
    targets: tuple[WeightedTarget, ...]
    source: Source
    """Where this route's Mapping was written."""
    route_weight: RouteWeight
    """The canary group's route weight (the highest of its members'): the sort order."""
    group: str
    """The canary group id; the member routes of one group are consecutive."""
    prefix_rewrite: str | None = None
    """Replacement for the matched prefix; None leaves the path alone."""
    regex_rewrite: RegexRewrite | None = None
    timeout_ms: int = 3000
    mappings: tuple[str, ...] = field(default=())
    """Key of the Mapping this route was made from."""
    options: RouteOptions = field(default_factory=RouteOptions)
    """Retries, CORS, hashing, upgrades, host rewrite, redirect (this member's own)."""
    mirrors: tuple[Mirror, ...] = ()
    """Shadow Mappings with the same match: each gets a copy of the traffic."""
    runtime_fraction: int | None = None
    """For a member of a canary group of several: the route takes a request only when
    Envoy's per-request random value (mod 100) is below this number. Envoy uses one
    value for every route of a request, so the members' numbers are cumulative shares
    and each member gets exactly its share; the last member's is 100."""
    member: int = 0
    """Position of this route within its canary group (the order it is tried in)."""
    stat_prefix: str | None = None
    """Envoy's per-route statistics prefix (the Mapping's `stats_name`, else its name):
    one bounded series set per Mapping; None keeps no per-route statistics."""

    order: OrderKey = field(default=(0, 0, 0, 0, "", "", (), 0, "", 0), compare=False)
    """Sort key, computed once: see `sort_key`."""
    literal_path: bool = field(default=True, compare=False)
    """The path is a case-sensitive prefix or exact value (not a regex), computed once."""

    def __post_init__(self) -> None:
        path = self.match.path
        object.__setattr__(
            self, "literal_path", path.kind is not PathKind.REGEX and path.case_sensitive
        )
        exact = 1 if path.kind is PathKind.EXACT else 0
        w = self.route_weight
        order = (w.precedence, w.path_length, w.header_length, w.query_length, w.path, w.method)
        object.__setattr__(self, "order", (*order, w.keys, exact, self.group, -self.member))

    def sort_key(self) -> OrderKey:
        """Emissary's order, highest first: the route weight; at a tie, an exact path
        before a prefix; then the group id (so output never depends on the order in
        which resources arrived) and the member's place in its group.
        """
        return self.order
