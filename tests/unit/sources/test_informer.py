"""The informer: list, watch, relist after 410 Gone with a diff, backoff, filters."""

from __future__ import annotations

import asyncio
import random

import pytest

from legation.sources.kubernetes.backoff import Backoff
from legation.sources.kubernetes.client import KubeApiError, KubeConnectionError
from legation.sources.kubernetes.informer import (
    EventType,
    Informer,
    InformerEvent,
    InformerOptions,
    diff_lists,
)
from legation.sources.kubernetes.resources import SERVICES, ambassador_type
from tests.unit.sources.fake_kube import FakeKubeApi, listing, obj

MAPPINGS = ambassador_type("Mapping", "v3alpha1")
PATH = MAPPINGS.path()


def mapping(name: str, rv: str) -> dict[str, object]:
    return obj("Mapping", name, rv, api="getambassador.io/v3alpha1", spec={"prefix": f"/{name}/"})


def fast() -> InformerOptions:
    return InformerOptions(backoff=Backoff(initial=0.001, maximum=0.01))


# --- diff_lists --------------------------------------------------------------------------


def test_diff_lists_reports_added_modified_deleted_and_keeps_unchanged() -> None:
    a, b, c = mapping("a", "1"), mapping("b", "1"), mapping("c", "1")
    cache = {"default/a": a, "default/b": b, "default/c": c}
    b2, d = mapping("b", "5"), mapping("d", "6")
    fresh, events = diff_lists(cache, [mapping("a", "1"), b2, d])
    assert [(e.type, e.key) for e in events] == [
        (EventType.MODIFIED, "default/b"),
        (EventType.DELETED, "default/c"),
        (EventType.ADDED, "default/d"),
    ]
    assert fresh["default/a"] is a  # unchanged version: the cached dict is kept
    assert fresh["default/b"] is b2
    assert "default/c" not in fresh
    deleted = next(e for e in events if e.type is EventType.DELETED)
    assert deleted.object is c  # the last known state


def test_diff_lists_of_identical_lists_is_empty() -> None:
    cache = {"default/a": mapping("a", "1")}
    fresh, events = diff_lists(cache, [mapping("a", "1")])
    assert events == [] and fresh == cache


# --- backoff -----------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, jitter=0.5, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base / 2 <= delay <= base
    assert len(set(delays)) == len(delays)  # jittered, not lockstep
    backoff.reset()
    assert backoff.next_delay() <= 1.0


# --- the informer against a scripted API ---------------------------------------------------


async def run_until(informer: Informer, condition: object, timeout: float = 2.0) -> None:
    """Run the informer until `condition()` holds."""
    task = asyncio.create_task(informer.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():  # type: ignore[operator]
            assert asyncio.get_running_loop().time() < deadline, "condition not reached"
            await asyncio.sleep(0.001)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_list_then_watch_from_the_list_version_with_bookmarks() -> None:
    api = FakeKubeApi()
    api.on_get(PATH, listing([mapping("a", "10")], rv="42"))
    api.on_watch(
        PATH,
        [
            {"type": "ADDED", "object": mapping("b", "43")},
            {
                "type": "BOOKMARK",
                "object": {"kind": "Mapping", "metadata": {"resourceVersion": "50"}},
            },
            {"type": "MODIFIED", "object": mapping("a", "51")},
            {"type": "DELETED", "object": mapping("b", "52")},
        ],
    )
    seen: list[InformerEvent] = []
    informer = Informer(api, MAPPINGS, fast(), handler=seen.append)
    await run_until(informer, lambda: len(seen) == 4 and len(api.calls) >= 3)
    watch = next(c for c in api.calls if c[0] == "WATCH")
    assert watch[2]["resourceVersion"] == "42"
    assert watch[2]["allowWatchBookmarks"] == "true"
    assert [(e.type.value, e.key) for e in seen] == [
        ("ADDED", "default/a"),
        ("ADDED", "default/b"),
        ("MODIFIED", "default/a"),
        ("DELETED", "default/b"),
    ]
    assert list(informer.cache) == ["default/a"]
    # the second watch resumes from the last version seen, without a new list
    second = [c for c in api.calls if c[0] == "WATCH"][1]
    assert second[2]["resourceVersion"] == "52"
    assert informer.lists == 1


async def test_410_gone_relists_and_emits_the_deletes_missed_in_the_gap() -> None:
    api = FakeKubeApi()
    api.on_get(
        PATH,
        listing([mapping("a", "10"), mapping("b", "11")], rv="20"),
        # after the gap: b was deleted, c created, a unchanged
        listing([mapping("a", "10"), mapping("c", "30")], rv="31"),
    )
    api.on_watch(
        PATH, [{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}]
    )
    seen: list[InformerEvent] = []
    informer = Informer(api, MAPPINGS, fast(), handler=seen.append)
    await run_until(informer, lambda: informer.lists == 2 and informer.resource_version == "31")
    assert [(e.type.value, e.key) for e in seen] == [
        ("ADDED", "default/a"),
        ("ADDED", "default/b"),
        ("DELETED", "default/b"),
        ("ADDED", "default/c"),
    ]
    assert sorted(informer.cache) == ["default/a", "default/c"]
    lists = [c for c in api.calls if c[0] == "GET"]
    assert all("resourceVersion" not in c[2] for c in lists)  # a fresh, consistent list


async def test_http_410_on_the_watch_request_also_relists() -> None:
    api = FakeKubeApi()
    api.on_get(PATH, listing([mapping("a", "1")], rv="5"), listing([], rv="9"))
    api.on_watch(PATH, KubeApiError(410, "Gone", "too old resource version", "GET", PATH))
    seen: list[InformerEvent] = []
    informer = Informer(api, MAPPINGS, fast(), handler=seen.append)
    await run_until(informer, lambda: informer.lists == 2)
    assert [e.type.value for e in seen] == ["ADDED", "DELETED"]


async def test_errors_back_off_and_recover() -> None:
    api = FakeKubeApi()
    broken = KubeConnectionError("connection refused")
    api.on_get(
        PATH,
        broken,
        broken,
        KubeApiError(500, "InternalError", "etcd", "GET", PATH),
        listing([mapping("a", "1")], rv="2"),
    )
    sleeps: list[float] = []
    options = fast()
    real_next = options.backoff.next_delay

    def record() -> float:
        delay = real_next()
        sleeps.append(delay)
        return delay

    options.backoff.next_delay = record  # type: ignore[method-assign]
    informer = Informer(api, MAPPINGS, options)
    await run_until(informer, informer.synced.is_set)
    assert len(sleeps) == 3 and sleeps[0] <= 0.001 and sleeps[2] <= 0.004
    assert informer.last_error is None


async def test_forbidden_is_logged_naming_verb_and_resource(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeKubeApi()
    api.on_get(PATH, listing([], rv="1"))
    api.on_watch(
        PATH, KubeApiError(403, "Forbidden", 'cannot watch resource "mappings"', "GET", PATH)
    )
    informer = Informer(api, MAPPINGS, fast())
    with caplog.at_level("ERROR"):
        await run_until(informer, lambda: informer.last_error is not None)
    assert "forbidden to watch mappings.getambassador.io in all namespaces" in caplog.text
    assert "verb 'watch'" in caplog.text


async def test_pages_namespace_and_label_selector() -> None:
    api = FakeKubeApi()
    path = SERVICES.path("team")
    pages = {
        "": listing([obj("Service", "a", "1", "team")], rv="7", token="next"),
        "next": listing([obj("Service", "b", "2", "team")], rv="7"),
    }
    api.on_get(path, lambda params: pages[params.get("continue", "")])
    options = InformerOptions(namespace="team", label_selector="app=gw", page_size=1)
    informer = Informer(api, SERVICES, options)
    await informer.list_once()
    assert sorted(informer.cache) == ["team/a", "team/b"]
    first = api.calls[0][2]
    assert first == {"labelSelector": "app=gw", "limit": "1"}
    # items of built-in lists have no kind/apiVersion: the informer fills them in
    assert informer.cache["team/a"]["kind"] == "Service"
    assert informer.cache["team/a"]["apiVersion"] == "v1"


async def test_accept_filter_treats_rejected_objects_as_absent() -> None:
    api = FakeKubeApi()
    informer = Informer(api, SERVICES, fast(), accept=lambda o: o.get("type") != "skip")
    informer.replace([obj("Service", "a", "1", type="keep")], "1")
    event = informer.apply("MODIFIED", obj("Service", "a", "2", type="skip"))
    assert event is not None and event.type is EventType.DELETED
    assert informer.apply("ADDED", obj("Service", "b", "3", type="skip")) is None
    assert informer.cache == {}


async def test_missing_crd_lists_as_empty() -> None:
    api = FakeKubeApi()  # nothing scripted: 404
    informer = Informer(api, MAPPINGS, fast())
    informer.replace([mapping("a", "1")], "1")
    events = await informer.list_once()
    assert [e.type for e in events] == [EventType.DELETED]
