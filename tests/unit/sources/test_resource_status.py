"""The Accepted condition of getambassador.io resources (real apiserver:
tests/k8s/test_leader_election.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.sources.kubernetes.events import ObjectRef
from legation.sources.kubernetes.informer import EventType, InformerEvent
from legation.sources.kubernetes.resource_status import (
    ResourceStatusWriter,
    errors_by_uid,
    status_patch,
    status_path,
    verdict,
)
from legation.sources.kubernetes.source import status_only
from tests.unit.sources.fake_kube import FakeKubeApi

NOW = "2026-01-01T00:00:00Z"


def resource(name: str, kind: str = "Mapping", generation: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "resourceVersion": "7",
            "generation": generation,
        },
        "spec": {},
        **extra,
    }


def ref(name: str, kind: str = "Mapping", api: str = "getambassador.io/v3alpha1") -> ObjectRef:
    return ObjectRef(api, kind, name, "ns", f"uid-{name}")


def problem(name: str, message: str, severity: Severity = Severity.ERROR) -> ConfigProblem:
    return ConfigProblem(
        Source(f"ns/{name}"), f"Mapping/{name}.ns", message, "spec.prefix", severity
    )


def test_errors_flip_it_notices_do_not() -> None:
    refs = {"ns/a": [ref("a"), ref("a", "Service", "v1")], "ns/b": [ref("b")]}
    problems = [
        problem("a", "prefix must start with '/'"),
        problem("a", "second"),
        problem("b", "only a notice", Severity.NOTICE),
    ]
    errors = errors_by_uid(problems, refs)
    assert errors == {
        "uid-a": ["field spec.prefix: prefix must start with '/'", "field spec.prefix: second"]
    }
    bad = verdict(resource("a"), errors["uid-a"])
    assert (bad.accepted, bad.reason) == (False, "InvalidConfiguration")
    assert bad.message == "field spec.prefix: prefix must start with '/' (and 1 more error(s))"
    assert verdict(resource("b"), errors.get("uid-b", [])).accepted


def test_problems_of_other_kinds_are_left_to_events() -> None:
    refs = {"ns/svc": [ref("svc", "Service", "v1")]}
    assert errors_by_uid([problem("svc", "bad annotation")], refs) == {}


def test_no_patch_when_the_status_already_says_it() -> None:
    obj = resource("a", generation=3)
    patch = status_patch(obj, verdict(obj, []), NOW)
    assert patch is not None
    condition = patch["status"]["conditions"][0]
    assert condition == {
        "type": "Accepted",
        "status": "True",
        "reason": "Accepted",
        "message": "the resource is in use",
        "observedGeneration": 3,
        "lastTransitionTime": NOW,
    }
    written = {**obj, "status": patch["status"]}
    assert status_patch(written, verdict(written, []), "later") is None
    # a new generation with the same verdict: rewritten, transition time kept
    newer = {**written, "metadata": {**obj["metadata"], "generation": 4}}
    again = status_patch(newer, verdict(newer, []), "later")
    assert again is not None
    assert again["status"]["conditions"][0]["lastTransitionTime"] == NOW
    # flipping to False is a transition
    flipped = status_patch(written, verdict(written, ["broken"]), "later")
    assert flipped is not None and flipped["status"]["state"] == "Rejected"
    assert flipped["status"]["conditions"][0]["lastTransitionTime"] == "later"


def test_host_shows_its_tls() -> None:
    host = resource("h", "Host", spec={"hostname": "x", "tlsSecret": {"name": "cert"}})
    assert verdict(host, []).message == (
        "the resource is in use; TLS: certificate from Secret ns/cert"
    )
    assert "TLS: none" in verdict(resource("p", "Host"), []).message


def test_writer_patches_the_status_subresource_once_per_version() -> None:
    api = FakeKubeApi()
    writer = ResourceStatusWriter(api, field_manager="legation-pod-a")
    objects = [resource("a"), resource("b")]
    asyncio.run(writer.sync(objects, {"uid-a": ["broken"]}))
    assert [p for p, _ in api.patches] == [
        "/apis/getambassador.io/v3alpha1/namespaces/ns/mappings/a/status",
        "/apis/getambassador.io/v3alpha1/namespaces/ns/mappings/b/status",
    ]
    assert status_path(objects[0]) == api.patches[0][0]
    # the watch event has not arrived yet: the same version is not patched again
    asyncio.run(writer.sync(objects, {"uid-a": ["broken"]}))
    assert len(api.patches) == 2
    assert writer.written == 2


def test_writer_stops_when_it_may_no_longer_write() -> None:
    api = FakeKubeApi()
    allowed = [True]

    async def run() -> None:
        writer = ResourceStatusWriter(api, may_write=lambda: allowed[0])
        objects = [resource(f"m{i}") for i in range(20)]
        task = asyncio.create_task(writer.sync(objects, {}))
        while len(api.patches) < 3:
            await asyncio.sleep(0.001)
        allowed[0] = False  # leadership lost mid-pass
        await task

    asyncio.run(run())
    assert 3 <= len(api.patches) < 8  # paced: it had not got far, and stopped at once


def test_a_status_only_change_makes_no_snapshot() -> None:
    """Writing 10,000 conditions must not trigger 10,000 rebuilds."""
    before = resource("a")
    written = {
        **before,
        "metadata": {**before["metadata"], "resourceVersion": "8"},
        "status": {"state": "Accepted"},
    }
    assert status_only(InformerEvent(EventType.MODIFIED, "ns/a", written, before))
    edited = {**written, "spec": {"prefix": "/x/"}}
    assert not status_only(InformerEvent(EventType.MODIFIED, "ns/a", edited, before))
    assert not status_only(InformerEvent(EventType.ADDED, "ns/a", written))
