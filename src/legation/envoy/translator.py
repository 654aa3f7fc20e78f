"""translate(): IR → Envoy resources. Pure; the translator object only memoises."""

from __future__ import annotations

import operator
from typing import Any

from legation.envoy.cluster import translate_cluster
from legation.envoy.endpoint import translate_load_assignment
from legation.envoy.filters import extra_resources, route_states
from legation.envoy.filters.base import RouteUseMemo
from legation.envoy.listener import translate_listener
from legation.envoy.matcher import use_tree
from legation.envoy.resources import XdsResources
from legation.envoy.route import RouteTranslator
from legation.envoy.secret import translate_secret
from legation.ir.clusters import Cluster
from legation.ir.gateway import Gateway
from legation.memo import ItemMemo

_NAME = operator.attrgetter("name")


class Translator:
    """Translates successive IRs, reusing the messages of unchanged IR objects."""

    def __init__(self, route_matcher: str = "auto") -> None:
        """`route_matcher`: `auto` (a matcher tree for large virtual hosts), `list`, `tree`."""
        choices = {
            "auto": use_tree,
            "list": lambda routes: False,
            # a tree needs at least one trie key: Envoy refuses an empty prefix_match_map
            "tree": lambda routes: any(r.literal_path for r in routes),
        }
        if route_matcher not in choices:
            raise ValueError(f"route_matcher must be one of {sorted(choices)}")
        self._use_tree = choices[route_matcher]
        # one per route configuration: each prunes its caches to its own routes, so the
        # HTTP and HTTPS configurations do not evict each other's
        self._routes: dict[str, RouteTranslator] = {}
        # what the routes ask of the filters (which filters each listener needs)
        self._uses = RouteUseMemo()
        self._clusters: ItemMemo[Cluster, Any] = ItemMemo()

    def translate(self, gateway: Gateway) -> XdsResources:
        """All Envoy resources for one IR, each collection sorted by name."""
        self._uses.retain({rc.name for rc in gateway.route_configs})
        listeners = {
            lst.name: translate_listener(lst, gateway, self._uses) for lst in gateway.listeners
        }
        endpoints = {a.cluster: translate_load_assignment(a) for a in gateway.load_assignments}
        self._routes = {
            rc.name: self._routes.get(rc.name) or RouteTranslator(self._use_tree)
            for rc in gateway.route_configs
        }
        states = route_states(gateway)
        versioned = {
            rc.name: self._routes[rc.name].versioned_route_configuration(rc, states)
            for rc in gateway.route_configs
        }
        routes = {name: packed for name, (packed, _) in versioned.items()}
        # the compiler hands back the very same Cluster objects for unchanged clusters
        translated = self._clusters.map(gateway.clusters, translate_cluster)
        clusters = dict(zip(map(_NAME, gateway.clusters), translated, strict=True))
        secrets = {s.name: translate_secret(s) for s in gateway.secrets}
        extra = extra_resources(gateway)  # the filters' own (an auth service's cluster)
        listeners = {**extra.listeners, **listeners}
        routes = {**extra.routes, **routes}
        clusters = {**extra.clusters, **clusters}
        endpoints = {**extra.endpoints, **endpoints}
        secrets = {**extra.secrets, **secrets}
        return XdsResources(
            listeners=dict(sorted(listeners.items())),
            routes=dict(sorted(routes.items())),
            clusters=dict(sorted(clusters.items())),
            endpoints=dict(sorted(endpoints.items())),
            secrets=dict(sorted(secrets.items())),
            route_versions={name: version for name, (_, version) in versioned.items()},
        )


def translate(gateway: Gateway) -> XdsResources:
    """Translate one IR from scratch."""
    return Translator().translate(gateway)
