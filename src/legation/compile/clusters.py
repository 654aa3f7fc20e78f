"""One cluster per distinct upstream, listing every Mapping that uses it: kept between
compiles and updated for the Mappings that went and came."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from legation.compile.mapping import CompiledMapping
from legation.ir.clusters import Cluster
from legation.memo import changes


class ClusterMemo:
    """The clusters of the routed Mappings (`collect`), as a fresh compile finds them.

    A cluster is the one of the first Mapping (in compile order) that names it, with the
    sorted keys of all its users. Mappings with one cluster name almost always have
    equal clusters; the distinct ones are counted, and only when a name has several is
    the first user looked up in the list.
    """

    def __init__(self) -> None:
        self._compiled: Sequence[CompiledMapping] = ()
        self._users: dict[str, dict[str, CompiledMapping]] = {}
        self._variants: dict[str, dict[Cluster, int]] = {}
        self._clusters: dict[str, Cluster] = {}

    def collect(self, compiled: Sequence[CompiledMapping]) -> dict[str, Cluster]:
        """Cluster name → cluster (a new dict: the caller may add to it)."""
        gone, came = changes(self._compiled, compiled)
        touched: set[str] = set()
        for cm, step in [(cm, -1) for cm in gone] + [(cm, 1) for cm in came]:
            if cm.options.redirect is not None:
                continue  # answered by Envoy itself: no upstream
            name = cm.cluster.name
            touched.add(name)
            users = self._users.setdefault(name, {})
            variants = self._variants.setdefault(name, {})
            left = variants.get(cm.cluster, 0) + step
            if step < 0:
                del users[cm.key]
            else:
                users[cm.key] = cm
            if left:
                variants[cm.cluster] = left
            else:
                del variants[cm.cluster]
        self._compiled = tuple(compiled)
        for name in touched:
            self._update(name, compiled)
        return dict(self._clusters)

    def _update(self, name: str, compiled: Sequence[CompiledMapping]) -> None:
        users = self._users[name]
        if not users:
            del self._users[name], self._variants[name]
            self._clusters.pop(name, None)
            return
        variants = self._variants[name]
        if len(variants) == 1:
            (cluster,) = variants
        else:  # rare: which one a fresh compile takes depends on the order
            cluster = next(
                cm.cluster
                for cm in compiled
                if cm.cluster.name == name and cm.options.redirect is None
            )
        mappings = tuple(sorted(users))
        if cluster.mappings != mappings:
            cluster = dataclasses.replace(cluster, mappings=mappings)
        old = self._clusters.get(name)
        self._clusters[name] = old if old == cluster else cluster
