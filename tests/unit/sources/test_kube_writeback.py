"""What the Kubernetes source writes back: Events for errors, Ingress status."""

from __future__ import annotations

from typing import Any

from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.sources.kubernetes.client import KubeApiError
from legation.sources.kubernetes.events import EventRecorder, ObjectRef, event_name, events_for
from legation.sources.kubernetes.ingress_status import IngressStatusWriter, is_ours, needs_update
from tests.unit.sources.fake_kube import FakeKubeApi, obj

SVC = ObjectRef("v1", "Service", "web", "default", "uid-svc")
MAP = ObjectRef("getambassador.io/v3alpha1", "Mapping", "web", "default", "uid-map")
OBJECTS = {"default/web": [SVC, MAP]}


def problem(
    resource: str | None, message: str, annotation: str | None = None, **kw: Any
) -> ConfigProblem:
    source = Source("default/web", annotation=annotation, document=0 if annotation else None)
    return ConfigProblem(source, resource, message, **kw)


def test_events_go_to_the_object_at_fault() -> None:
    items = events_for(
        [
            problem("Mapping/web.default", "required field is missing", field="spec.prefix"),
            problem("Mapping/x.default", "bad", annotation="getambassador.io/config"),
            problem("Mapping/web.default", "only a notice", severity=Severity.NOTICE),
            ConfigProblem(Source("elsewhere/thing"), None, "not a watched object"),
        ],
        OBJECTS,
    )
    assert [(ref.kind, message) for ref, message in items] == [
        ("Mapping", "Mapping/web.default: field spec.prefix: required field is missing"),
        ("Service", "annotation getambassador.io/config[0]: Mapping/x.default: bad"),
    ]


def test_the_same_problem_twice_is_one_event() -> None:
    same = problem("Mapping/web.default", "bad")
    assert len(events_for([same, same], OBJECTS)) == 1


async def test_recorder_creates_each_event_once_and_accepts_existing_ones() -> None:
    api = FakeKubeApi()
    recorder = EventRecorder(api, instance="test")
    items = [(MAP, "Mapping/web.default: bad")]
    await recorder.record(items)
    await recorder.record(items)  # a reconfiguration with the same error
    assert len(api.posts) == 1
    path, body = api.posts[0]
    assert path == "/api/v1/namespaces/default/events"
    assert body["type"] == "Warning" and body["reason"] == "InvalidConfiguration"
    assert body["involvedObject"]["uid"] == "uid-map"
    assert body["metadata"]["name"] == event_name(MAP, "Mapping/web.default: bad")

    def conflict(path: str, body: dict[str, Any]) -> dict[str, Any]:
        raise KubeApiError(409, "AlreadyExists", "exists", "POST", path)

    restarted = EventRecorder(api, instance="test")  # e.g. after a restart
    api.post_handler = conflict
    await restarted.record(items)
    await restarted.record(items)
    assert len(api.posts) == 2  # one attempt, answered "already exists", then remembered


def ingress(
    name: str,
    rv: str = "1",
    cls: str | None = None,
    annotation: str | None = None,
    status: Any = None,
) -> dict[str, Any]:
    o = obj("Ingress", name, rv, api="networking.k8s.io/v1", spec={})
    if cls:
        o["spec"]["ingressClassName"] = cls
    if annotation:
        o["metadata"]["annotations"] = {"kubernetes.io/ingress.class": annotation}
    if status is not None:
        o["status"] = {"loadBalancer": {"ingress": status}}
    return o


def test_which_ingresses_are_ours() -> None:
    ours = obj(
        "IngressClass",
        "gw",
        "1",
        namespace="",
        spec={"controller": "getambassador.io/ingress-controller"},
    )
    other = obj(
        "IngressClass", "nginx", "1", namespace="", spec={"controller": "k8s.io/ingress-nginx"}
    )
    classes = {"gw": ours, "nginx": other}
    assert is_ours(ingress("a", cls="legation"), classes)
    assert is_ours(ingress("a", cls="gw"), classes)
    assert not is_ours(ingress("a", cls="nginx"), classes)
    assert is_ours(ingress("a", annotation="ambassador"), classes)
    assert not is_ours(ingress("a", annotation="nginx", cls="legation"), classes)
    assert not is_ours(ingress("a"), classes)  # no class, and no default class of ours
    ours["metadata"]["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    assert is_ours(ingress("a"), classes)


async def test_status_is_patched_only_when_it_differs() -> None:
    api = FakeKubeApi()
    writer = IngressStatusWriter(api, "127.0.0.1")
    done = ingress("done", cls="legation", status=[{"ip": "127.0.0.1"}])
    todo = ingress("todo", cls="legation", status=[{"ip": "10.9.9.9"}])
    foreign = ingress("foreign", cls="nginx")
    assert not needs_update(done, "127.0.0.1") and needs_update(todo, "127.0.0.1")
    await writer.sync([done, todo, foreign], {})
    await writer.sync([done, todo, foreign], {})  # same version: not tried again
    assert api.patches == [
        (
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses/todo/status",
            {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}},
        )
    ]
    host_writer = IngressStatusWriter(api, "gw.example.com")
    await host_writer.sync([ingress("h", cls="legation")], {})
    assert api.patches[-1][1]["status"]["loadBalancer"]["ingress"] == [
        {"hostname": "gw.example.com"}
    ]


async def test_a_follower_writes_nothing_and_catches_up_once_it_leads() -> None:
    """Leader election: `may_write` is asked before each write; what a follower skipped
    is written when it becomes the leader."""
    api = FakeKubeApi()
    leading = [False]
    recorder = EventRecorder(api, instance="b", may_write=lambda: leading[0])
    writer = IngressStatusWriter(api, "127.0.0.1", may_write=lambda: leading[0])
    items = [(MAP, "Mapping/web.default: bad")]
    ingresses = [ingress("todo", cls="legation")]
    await recorder.record(items)
    await writer.sync(ingresses, {})
    assert api.posts == [] and api.patches == []
    leading[0] = True
    await recorder.record(items)
    await writer.sync(ingresses, {})
    assert len(api.posts) == 1 and len(api.patches) == 1
    assert api.posts[0][1]["reportingInstance"] == "b"
