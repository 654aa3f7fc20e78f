"""HTTP routes as the compiler decided them: matched, ordered and grouped."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from legation.ir.policies import Mirror, RouteOptions
from legation.ir.provenance import Source


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

    def constraint_count(self) -> int:
        """Number of constraints beyond the path; more constraints sort first."""
        return len(self.headers) + len(self.query) + (1 if self.method else 0)


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


@dataclass(frozen=True, slots=True)
class Route:
    """One Envoy route: a match, an ordering key and a weighted set of targets."""

    name: str
    """Stable name derived from the match (the canary group id), never from a position."""
    hostname: str
    """DNS glob selecting the virtual host; `*` for every host."""
    match: RouteMatch
    precedence: int
    targets: tuple[WeightedTarget, ...]
    source: Source
    """Where the group's primary Mapping was written."""
    prefix_rewrite: str | None = None
    """Replacement for the matched prefix; None leaves the path alone."""
    regex_rewrite: RegexRewrite | None = None
    timeout_ms: int = 3000
    mappings: tuple[str, ...] = field(default=())
    """Keys of every Mapping in the group, primary first."""
    options: RouteOptions = field(default_factory=RouteOptions)
    """Retries, CORS, hashing, upgrades, host rewrite, redirect (from the primary)."""
    mirrors: tuple[Mirror, ...] = ()
    """Shadow Mappings with the same match: each gets a copy of the traffic."""

    order: tuple[int, int, int, int, str, str] = field(default=(0, 0, 0, 0, "", ""), compare=False)
    """Sort key, computed once: see `sort_key`."""
    literal_path: bool = field(default=True, compare=False)
    """The path is a case-sensitive prefix or exact value (not a regex), computed once."""

    def __post_init__(self) -> None:
        path = self.match.path
        object.__setattr__(
            self, "literal_path", path.kind is not PathKind.REGEX and path.case_sensitive
        )
        object.__setattr__(
            self,
            "order",
            (
                -self.precedence,
                -len(self.match.path.value),
                -self.match.constraint_count(),
                0 if self.match.path.kind is PathKind.EXACT else 1,
                self.match.path.value,
                self.name,
            ),
        )

    def sort_key(self) -> tuple[int, int, int, int, str, str]:
        """Ambassador order: precedence, then longer paths, then more constraints first;
        at a tie, an exact path before a prefix.

        The trailing name keeps the order total, so output never depends on the order
        in which resources arrived.
        """
        return self.order
