"""KubernetesSource against a scripted API: permissions, CRD discovery, snapshots, debounce."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from legation.model.parse import parse_object
from legation.sources.base import SourceError
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.kubernetes.resources import BUILTIN_TYPES, ambassador_type
from legation.sources.kubernetes.source import KubernetesSource
from tests.unit.sources.fake_kube import FakeKubeApi, listing, obj

MAPPINGS = ambassador_type("Mapping", "v3alpha1")


def mapping(name: str, rv: str, prefix: str = "/a/") -> dict[str, Any]:
    return obj(
        "Mapping",
        name,
        rv,
        api="getambassador.io/v3alpha1",
        spec={"prefix": prefix, "service": "x"},
    )


def scripted(allowed: bool = True, mappings: list[dict[str, Any]] | None = None) -> FakeKubeApi:
    api = FakeKubeApi()
    api.post_handler = lambda path, body: {**body, "status": {"allowed": allowed}}
    api.on_get("/apis/getambassador.io", {"versions": [{"version": "v3alpha1"}]})
    api.on_get(
        "/apis/getambassador.io/v3alpha1",
        {
            "resources": [
                {"name": "mappings", "kind": "Mapping"},
                {"name": "mappings/status", "kind": "Mapping"},
            ]
        },
    )
    for rtype in BUILTIN_TYPES:
        api.on_get(rtype.path(), listing([], rv="1"))
    api.on_get(MAPPINGS.path(), listing(mappings or [], rv="5"))
    return api


def options(**kw: Any) -> KubernetesOptions:
    return KubernetesOptions(ingress_status_address=None, rediscover_s=3600, **kw)


async def test_initial_snapshot_has_every_object_at_namespace_slash_name() -> None:
    api = scripted(mappings=[mapping("m1", "3")])
    source = KubernetesSource(options(), api)
    try:
        snapshot = await source.initial()
        assert [raw.source.location for raw in snapshot.objects] == ["default/m1"]
        parsed = parse_object(snapshot.objects[0])
        assert [r.key for r in parsed.resources] == ["Mapping/m1.default"]
        notices = [p.message for p in snapshot.problems]
        assert any("hosts.getambassador.io is not installed" in m for m in notices)
        assert "Mapping" in source.informers and "Host" not in source.informers
    finally:
        await source.close()
    assert api.closed


async def test_unchanged_objects_keep_their_raw_object() -> None:
    api = scripted(mappings=[mapping("m1", "3"), mapping("m2", "4")])
    source = KubernetesSource(options(), api)
    try:
        first = await source.initial()
        informer = source.informers["Mapping"]
        informer.apply("MODIFIED", mapping("m2", "9", prefix="/b/"))
        second = source.snapshot()
        assert second.objects[0] is first.objects[0]  # m1: same resourceVersion
        assert second.objects[1] is not first.objects[1]
        assert second.objects[1].doc["spec"]["prefix"] == "/b/"
    finally:
        await source.close()


async def test_a_burst_of_changes_is_one_snapshot() -> None:
    api = scripted()
    source = KubernetesSource(options(debounce_ms=200, quiet_ms=30), api)
    try:
        await source.initial()
        updates = source.updates()
        informer = source.informers["Mapping"]
        next_snapshot = asyncio.ensure_future(updates.__anext__())
        for i in range(5):
            informer.apply("ADDED", mapping(f"m{i}", str(10 + i)))
            await asyncio.sleep(0.005)
        snapshot = await asyncio.wait_for(next_snapshot, 2)
        assert len(snapshot.objects) == 5
        await updates.aclose()
    finally:
        await source.close()


async def test_missing_permissions_stop_the_source_with_their_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = scripted(allowed=False)
    source = KubernetesSource(options(), api)
    with pytest.raises(SourceError, match=r"watch mappings\.getambassador\.io"):
        await source.initial()
    assert "RBAC: missing permission: list services" in caplog.text
    await source.close()


async def test_report_creates_events_for_errors() -> None:
    api = scripted(
        mappings=[
            obj("Mapping", "bad", "3", api="getambassador.io/v3alpha1", spec={"service": "x"})
        ]
    )
    source = KubernetesSource(options(), api)
    try:
        snapshot = await source.initial()
        problems = parse_object(snapshot.objects[0]).problems
        assert problems
        source.report(problems)
        for _ in range(100):
            if any(path.endswith("/events") for path, _ in api.posts):
                break
            await asyncio.sleep(0.01)
        events = [body for path, body in api.posts if path.endswith("/events")]
        assert events and events[0]["involvedObject"]["name"] == "bad"
        assert "prefix" in events[0]["message"]
    finally:
        await source.close()
