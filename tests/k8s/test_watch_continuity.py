"""Watch continuity against a real API server: a watch whose resourceVersion was compacted
away (410 Gone) is replaced by a relist whose diff reports what happened in the gap."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from legation.sources.kubernetes.backoff import Backoff
from legation.sources.kubernetes.client import connect
from legation.sources.kubernetes.informer import EventType, Informer, InformerEvent, InformerOptions
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.kubernetes.resources import ambassador_type
from legation.sources.kubernetes.source import KubernetesSource
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.kube import Kube, mapping

MAPPINGS = ambassador_type("Mapping", "v3alpha1")


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.02)


async def test_relist_after_compaction_reports_the_gap(
    make_apiserver: Callable[..., KubeApiServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_apiserver(watch_cache=False)
    kube = Kube(server)
    kube.install_crds()
    ns = kube.namespace("gap")
    for name in ("keep", "doomed"):
        kube.create(mapping(name, ns, f"/{name}/", "127.0.0.1:1"))

    api = await connect(server.write_kubeconfig(tmp_path / "kubeconfig"))
    seen: list[InformerEvent] = []
    informer = Informer(
        api,
        MAPPINGS,
        InformerOptions(namespace=ns, backoff=Backoff(initial=0.05)),
        handler=seen.append,
    )
    task = asyncio.create_task(informer.run())
    try:
        await wait_for(lambda: len(informer.cache) == 2)
        await asyncio.sleep(0.3)  # the watch is open
        task.cancel()  # the watch breaks (e.g. the connection dropped) ...
        await asyncio.gather(task, return_exceptions=True)
        stale = informer.resource_version

        # ... and in the gap: one object is created, one deleted, one changed; then etcd
        # compacts, so the informer's resourceVersion is gone
        kube.create(mapping("born", ns, "/born/", "127.0.0.1:1"))
        kube.delete(mapping("doomed", ns, "/doomed/", "127.0.0.1:1"))
        kube.apply(mapping("keep", ns, "/keep2/", "127.0.0.1:1"))
        kube.apply(mapping("born", ns, "/born2/", "127.0.0.1:1"))
        server.compact_etcd()
        seen.clear()

        task = asyncio.create_task(informer.run())  # resumes from `stale`: 410, relist
        with caplog.at_level(logging.INFO, "legation.sources.kubernetes.informer"):
            await wait_for(lambda: informer.lists == 2)
        assert "watch of mappings.getambassador.io expired" in caplog.text  # a real 410
        assert informer.resource_version != stale
        assert sorted((e.type, e.key) for e in seen) == [
            (EventType.ADDED, f"{ns}/born"),
            (EventType.DELETED, f"{ns}/doomed"),
            (EventType.MODIFIED, f"{ns}/keep"),
        ]
        assert sorted(informer.cache) == [f"{ns}/born", f"{ns}/keep"]
        assert informer.cache[f"{ns}/keep"]["spec"]["prefix"] == "/keep2/"

        # and the watch goes on from the new list
        kube.create(mapping("later", ns, "/later/", "127.0.0.1:1"))
        await wait_for(lambda: f"{ns}/later" in informer.cache)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()
        kube.close()


async def test_source_picks_up_a_crd_installed_later(
    make_apiserver: Callable[..., KubeApiServer], tmp_path: Path
) -> None:
    """Missing CRDs are logged and tolerated; once installed, their kind is watched."""
    server = make_apiserver()
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    source = KubernetesSource(
        KubernetesOptions(kubeconfig=kubeconfig, ingress_status_address=None, rediscover_s=0.5)
    )
    try:
        first = await source.initial()
        assert "Mapping" in source.missing_crds
        assert any(
            "mappings.getambassador.io is not installed" in p.message for p in first.problems
        )
        kube = Kube(server)
        kube.install_crds()
        ns = kube.namespace("late")
        kube.create(mapping("late", ns, "/late/", "127.0.0.1:1"))
        updates = source.updates()

        async def until_seen() -> None:
            async for snapshot in updates:
                if any(raw.source.location == f"{ns}/late" for raw in snapshot.objects):
                    return

        await asyncio.wait_for(until_seen(), 15)
        assert source.missing_crds == []
        await updates.aclose()
        kube.close()
    finally:
        await source.close()
