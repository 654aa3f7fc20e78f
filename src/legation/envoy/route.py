"""IR routes → Envoy `Route`, `VirtualHost` and `RouteConfiguration` messages."""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.config.route.v3 import route_pb2
from envoy.type.matcher.v3 import regex_pb2, string_pb2
from envoy.type.v3 import percent_pb2
from google.protobuf import any_pb2, duration_pb2, struct_pb2, wrappers_pb2

from legation.envoy.filters import NO_STATES, RouteStates, patch_route, patch_virtual_host
from legation.envoy.matcher import Chunks, use_tree
from legation.envoy.matcher import field as _field
from legation.envoy.route_options import apply_route_options, redirect_action
from legation.envoy.tree_cache import TreeCache
from legation.ir.gateway import RouteConfig, VirtualHost
from legation.ir.routes import HeaderMatch, HeaderToAdd, PathKind, QueryMatch, Route, WeightedTarget

METADATA_NAMESPACE = "legation"
"""Filter-metadata namespace carrying each route's provenance into Envoy."""


def _regex(pattern: str, case_sensitive: bool = True) -> Any:
    if not case_sensitive and not pattern.startswith("(?i)"):
        pattern = "(?i)" + pattern
    return regex_pb2.RegexMatcher(regex=pattern)


def _header(h: HeaderMatch) -> Any:
    if h.value is None:
        return rc.HeaderMatcher(name=h.name, present_match=True)
    if h.regex:
        return rc.HeaderMatcher(
            name=h.name, string_match=string_pb2.StringMatcher(safe_regex=_regex(h.value))
        )
    return rc.HeaderMatcher(name=h.name, string_match=string_pb2.StringMatcher(exact=h.value))


def _query(q: QueryMatch) -> Any:
    if q.value is None:
        return rc.QueryParameterMatcher(name=q.name, present_match=True)
    if q.regex:
        return rc.QueryParameterMatcher(
            name=q.name, string_match=string_pb2.StringMatcher(safe_regex=_regex(q.value))
        )
    return rc.QueryParameterMatcher(
        name=q.name, string_match=string_pb2.StringMatcher(exact=q.value)
    )


def _route_match(route: Route) -> Any:
    m = route.match
    match = rc.RouteMatch()
    if m.path.kind is PathKind.PREFIX:
        match.prefix = m.path.value
    elif m.path.kind is PathKind.EXACT:
        match.path = m.path.value
    else:
        match.safe_regex.CopyFrom(_regex(m.path.value, m.path.case_sensitive))
    if not m.path.case_sensitive and m.path.kind is not PathKind.REGEX:
        match.case_sensitive.CopyFrom(wrappers_pb2.BoolValue(value=False))
    headers = [_header(h) for h in m.headers]
    if m.method:
        headers.append(_header(HeaderMatch(":method", m.method, regex=m.method_regex)))
    match.headers.extend(headers)
    match.query_parameters.extend(_query(q) for q in m.query)
    if route.runtime_fraction is not None:
        # No runtime key: the share is the configuration's, not a runtime override's.
        match.runtime_fraction.default_value.CopyFrom(
            percent_pb2.FractionalPercent(
                numerator=route.runtime_fraction,
                denominator=percent_pb2.FractionalPercent.HUNDRED,
            )
        )
    return match


def _headers_to_add(values: Sequence[HeaderToAdd]) -> list[Any]:
    append = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD
    overwrite = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
    return [
        base_pb2.HeaderValueOption(
            header=base_pb2.HeaderValue(key=h.name, value=h.value),
            append_action=append if h.append else overwrite,
        )
        for h in values
    ]


def _weighted(target: WeightedTarget) -> Any:
    return rc.WeightedCluster.ClusterWeight(
        name=target.cluster,
        weight=wrappers_pb2.UInt32Value(value=target.weight),
        request_headers_to_add=_headers_to_add(target.add_request_headers),
        request_headers_to_remove=list(target.remove_request_headers),
        response_headers_to_add=_headers_to_add(target.add_response_headers),
        response_headers_to_remove=list(target.remove_response_headers),
    )


def _metadata(route: Route) -> Any:
    data = struct_pb2.Struct()
    data.update({"source": route.source.describe(), "mappings": list(route.mappings)})
    meta = base_pb2.Metadata()
    meta.filter_metadata[METADATA_NAMESPACE].CopyFrom(data)
    return meta


def translate_route(route: Route, states: RouteStates = NO_STATES) -> Any:
    """One Envoy route (a canary group member's carries its `runtime_fraction`).

    `states`: the filters' gateway-level values (`route_states`), all a route's bytes
    depend on besides the route itself."""
    action = rc.RouteAction(
        timeout=duration_pb2.Duration(
            seconds=route.timeout_ms // 1000, nanos=(route.timeout_ms % 1000) * 1_000_000
        )
    )
    if route.prefix_rewrite is not None:
        action.prefix_rewrite = route.prefix_rewrite
    if route.regex_rewrite is not None:
        action.regex_rewrite.CopyFrom(
            regex_pb2.RegexMatchAndSubstitute(
                pattern=_regex(route.regex_rewrite.pattern),
                substitution=route.regex_rewrite.substitution,
            )
        )
    if route.options.redirect is not None:
        out = rc.Route(
            name=route.name,
            match=_route_match(route),
            redirect=redirect_action(route.options.redirect),
            metadata=_metadata(route),
        )
        if route.stat_prefix is not None:
            out.stat_prefix = route.stat_prefix
        patch_route(route, out, states)
        return out
    apply_route_options(route.options, route.mirrors, action)
    out = rc.Route(
        name=route.name, match=_route_match(route), route=action, metadata=_metadata(route)
    )
    if len(route.targets) == 1:
        only = route.targets[0]
        action.cluster = only.cluster
        out.route.CopyFrom(action)
        out.request_headers_to_add.extend(_headers_to_add(only.add_request_headers))
        out.request_headers_to_remove.extend(only.remove_request_headers)
        out.response_headers_to_add.extend(_headers_to_add(only.add_response_headers))
        out.response_headers_to_remove.extend(only.remove_response_headers)
    else:
        out.route.weighted_clusters.clusters.extend(_weighted(t) for t in route.targets)
    if route.stat_prefix is not None:
        out.stat_prefix = route.stat_prefix
    patch_route(route, out, states)  # the action is final: filters see the whole route
    return out


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


# Field numbers from envoy/config/route/v3/route.proto and route_components.proto.
_RC_NAME, _RC_VIRTUAL_HOSTS = 1, 2
_VH_NAME, _VH_DOMAINS, _VH_ROUTES, _VH_MATCHER = 1, 2, 3, 21


def _same_routes(a: tuple[Route, ...], b: tuple[Route, ...]) -> bool:
    """The same Route objects in the same order (compared at C speed)."""
    return a is b or (len(a) == len(b) and not any(map(operator.is_not, a, b)))


class RouteTranslator:
    """Translates routes, reusing the serialized form of a Route object seen before.

    The compiler hands back the very same Route objects for unchanged canary groups,
    so with 10,000 Mappings one change translates one route, not 10,000. The route
    configuration is assembled from the routes' cached bytes (fields in number order,
    exactly what deterministic serialization of the whole message gives) and handed
    on as an `Any`, so unchanged routes are neither rebuilt nor re-serialized.

    A route's bytes depend on the Route and on the filters' `route_states` only; when
    those states change (an AuthService appears, say), every cache is dropped.
    """

    def __init__(self, use_tree: Callable[[Sequence[Route]], bool] = use_tree) -> None:
        self._cache: dict[int, tuple[Route, bytes]] = {}
        self.use_tree = use_tree
        """Decides, per virtual host, between a matcher tree and a plain route list."""
        self._trees: dict[str, TreeCache] = {}
        self._vh_cache: dict[str, tuple[tuple[Any, ...], tuple[Route, ...], Chunks, bytes]] = {}
        self._states: RouteStates = NO_STATES

    def _route_bytes(self, route: Route) -> bytes:
        # The entry holds the Route, so its id cannot be reused while the entry lives.
        hit = self._cache.get(id(route))
        if hit is None or hit[0] is not route:
            message = translate_route(route, self._states)
            hit = (route, message.SerializeToString(deterministic=True))
            self._cache[id(route)] = hit
        return hit[1]

    def _prune(self, config: RouteConfig) -> None:
        """Drop cached routes no longer used, once they outnumber the live ones."""
        live = sum(len(vh.routes) for vh in config.virtual_hosts)
        if len(self._cache) > 2 * live + 1024:
            keep = {id(r) for vh in config.virtual_hosts for r in vh.routes}
            self._cache = {k: v for k, v in self._cache.items() if k in keep}

    def _virtual_host(self, vh: VirtualHost) -> tuple[Chunks, bytes]:
        """One serialized VirtualHost, unjoined, and a digest of its content; reused
        whole when its routes are the same objects."""
        hit = self._vh_cache.get(vh.name)
        # everything of the virtual host but its routes (compared by identity)
        own = (vh.domains, vh.local_rate_limit)
        if hit is not None and hit[0] == own and _same_routes(hit[1], vh.routes):
            return hit[2], hit[3]
        out = Chunks()
        out.add(_field(_VH_NAME, vh.name.encode()))
        for d in vh.domains:
            out.add(_field(_VH_DOMAINS, d.encode()))
        digest = hashlib.blake2b(b"".join(out.parts), digest_size=16)
        if self.use_tree(vh.routes):
            trees = self._trees.setdefault(vh.name, TreeCache())
            tree, tree_digest = trees.matcher_chunks(vh.routes, self._route_bytes, vh.changes)
            out.add_message(_VH_MATCHER, tree)
            digest.update(b"T" + tree_digest)  # not the tree's megabytes
        else:
            routes = b"".join(_field(_VH_ROUTES, self._route_bytes(r)) for r in vh.routes)
            out.add(routes)
            digest.update(b"L" + routes)
        extra = rc.VirtualHost()
        patch_virtual_host(vh, extra, self._states)
        # fields after the routes parse the same as in number order (protobuf merges)
        data = extra.SerializeToString(deterministic=True)
        out.add(data)
        digest.update(data)
        self._vh_cache[vh.name] = (own, vh.routes, out, digest.digest())
        return out, digest.digest()

    def route_configuration(self, config: RouteConfig, states: RouteStates = NO_STATES) -> Any:
        """The RDS resource for one route configuration, as a packed `Any`.

        `states`: the filters' `route_states(gateway)` for this translation."""
        return self.versioned_route_configuration(config, states)[0]

    def versioned_route_configuration(
        self, config: RouteConfig, states: RouteStates = NO_STATES
    ) -> tuple[Any, str]:
        """`route_configuration()` and its content version, found from the digests of
        its parts (the xDS cache need not hash its megabytes)."""
        if states != self._states:
            self._cache, self._trees, self._vh_cache = {}, {}, {}
            self._states = states
        out = Chunks()
        out.add(_field(_RC_NAME, config.name.encode()))
        version = hashlib.blake2b(out.parts[0], digest_size=8)
        for vh in config.virtual_hosts:
            chunks, digest = self._virtual_host(vh)
            out.add_message(_RC_VIRTUAL_HOSTS, chunks)
            version.update(digest)
        for stale in self._vh_cache.keys() - {vh.name for vh in config.virtual_hosts}:
            del self._vh_cache[stale]
            self._trees.pop(stale, None)
        self._prune(config)
        packed = any_pb2.Any(
            type_url=f"type.googleapis.com/{route_pb2.RouteConfiguration.DESCRIPTOR.full_name}",
            value=out.join(),
        )
        return packed, version.hexdigest()
