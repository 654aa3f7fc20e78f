"""Per-Mapping statistics: the `stat_prefix` of a Mapping's Envoy routes.

Envoy roots a route's statistics at `vhost.<virtual host>.route.<stat_prefix>.`
(request counts per status class and code, timeouts, retries, the latency histogram).
The prefix comes from the Mapping, never from the request, so there is one set of series
per Mapping (per virtual host it is served on), however many paths or clients it sees.
"""

from __future__ import annotations

import re

from legation.model.mapping import MappingSpec
from legation.model.resource import Resource

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def route_stat_prefix(res: Resource[MappingSpec]) -> str:
    """The Mapping's `stats_name`, else its name, as one stat-name element.

    Dots would split the name into several elements (and confuse Envoy's tag
    extraction, which takes the element after `route.`), so every character outside
    `[A-Za-z0-9_-]` becomes `_`.
    """
    name = res.spec.stats_name or res.name
    return _UNSAFE.sub("_", name)
