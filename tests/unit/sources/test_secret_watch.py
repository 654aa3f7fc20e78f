"""Secrets are read only when named: by-name informers, started and stopped with references."""

from __future__ import annotations

import asyncio
from typing import Any

from legation.sources.kubernetes.informer import EventType, InformerEvent
from legation.sources.kubernetes.resources import INGRESSES
from legation.sources.kubernetes.secret_refs import all_secret_references, secret_references
from legation.sources.kubernetes.source import KubernetesSource
from tests.unit.sources.fake_kube import listing, obj
from tests.unit.sources.test_kube_source import options, scripted

SECRETS_IN_DEFAULT = "/api/v1/namespaces/default/secrets"
STORED = {
    "tls": obj("Secret", "tls", "1", type="kubernetes.io/tls", data={"tls.crt": "eA=="}),
    "token": obj("Secret", "token", "2", type="kubernetes.io/service-account-token"),
    "other": obj("Secret", "other", "4", type="kubernetes.io/tls", data={"tls.crt": "eA=="}),
}


def by_name(params: dict[str, str]) -> dict[str, Any]:
    """The API server's answer to a list with `fieldSelector=metadata.name=X`."""
    name = params.get("fieldSelector", "").removeprefix("metadata.name=")
    return listing([STORED[name]] if name in STORED else [], rv="9")


def ingress(name: str, *secrets: str, rv: str = "5") -> dict[str, Any]:
    tls = [{"hosts": ["a.example"], "secretName": s} for s in secrets]
    return obj("Ingress", name, rv, api="networking.k8s.io/v1", spec={"tls": tls})


def secret_calls(api: Any) -> list[tuple[str, str, dict[str, str]]]:
    return [c for c in api.calls if "/secrets" in c[1]]


def test_references_from_every_kind_that_names_secrets() -> None:
    host = obj("Host", "h", "1", spec={"tlsSecret": {"name": "cert", "namespace": "certs"}})
    spec = {"secret": "s", "ca_secret": "ca", "crl_secret": "crl"}
    context = obj("TLSContext", "c", "1", namespace="ns", spec=spec)
    namespaced = obj("TLSContext", "d", "1", namespace="ns", spec={"secret": "s2.other"})
    annotated = obj("Service", "svc", "1", namespace="ann")
    annotated["metadata"]["annotations"] = {
        "getambassador.io/config": "---\napiVersion: getambassador.io/v3alpha1\nkind: Host\n"
        "name: x\nspec:\n  tlsSecret: {name: from-annotation}\n"
    }
    assert secret_references(host) == {("certs", "cert")}
    inline = obj("Host", "i", "1", spec={"tlsSecret": {"name": "c"}, "tls": {"crl_secret": "r"}})
    assert secret_references(inline) == {("default", "c"), ("default", "r")}
    assert secret_references(context) == {("ns", "s"), ("ns", "ca"), ("ns", "crl")}
    assert secret_references(namespaced) == {("ns", "s2.other"), ("other", "s2")}
    assert secret_references(ingress("i", "one", "two")) == {("default", "one"), ("default", "two")}
    assert secret_references(annotated) == {("ann", "from-annotation")}
    mapping = obj("Mapping", "m", "1", spec={"tlsSecret": {"name": "not-a-reference"}})
    assert all_secret_references([mapping, obj("Host", "bare", "1", spec={})]) == set()


async def test_only_named_secrets_are_fetched_each_by_name() -> None:
    api = scripted()
    api.on_get(INGRESSES.path(), listing([ingress("web", "tls", "token")], rv="5"))
    api.on_get(SECRETS_IN_DEFAULT, by_name)
    source = KubernetesSource(options(), api)
    try:
        snapshot = await source.initial()
        names = [
            raw.doc["metadata"]["name"] for raw in snapshot.objects if raw.doc["kind"] == "Secret"
        ]
        assert names == ["tls"]  # "token" is named but is a service-account token
        calls = secret_calls(api)
        assert calls and all(path == SECRETS_IN_DEFAULT for _, path, _ in calls)
        selectors = {params.get("fieldSelector") for _, _, params in calls}
        assert selectors == {"metadata.name=tls", "metadata.name=token"}
        assert "metadata.name=other" not in selectors
        assert not any(path == "/api/v1/secrets" for _, path, _ in api.calls)
    finally:
        await source.close()


async def test_a_dropped_reference_stops_its_watch_and_drops_the_secret() -> None:
    api = scripted()
    api.on_get(INGRESSES.path(), listing([ingress("web", "tls")], rv="5"))
    api.on_get(SECRETS_IN_DEFAULT, by_name)
    source = KubernetesSource(options(), api)
    try:
        first = await source.initial()
        assert any(raw.doc["kind"] == "Secret" for raw in first.objects)
        assert source.secrets is not None and set(source.secrets.informers) == {("default", "tls")}
        updates = source.updates()
        source.informers["Ingress"].apply("MODIFIED", ingress("web", "other", rv="6"))
        second = await asyncio.wait_for(updates.__anext__(), 5)
        names = [
            raw.doc["metadata"]["name"] for raw in second.objects if raw.doc["kind"] == "Secret"
        ]
        assert names == ["other"]
        assert set(source.secrets.informers) == {("default", "other")}
        await updates.aclose()
    finally:
        await source.close()


async def test_references_outside_the_watched_namespace_are_not_read() -> None:
    from legation.sources.kubernetes.secret_watch import SecretWatches

    api = scripted()
    api.on_get("/api/v1/namespaces/apps/secrets", by_name)
    watches = SecretWatches(api, "apps", lambda e: None)
    try:
        await watches.sync({("apps", "tls"), ("other", "tls")})
        assert set(watches.informers) == {("apps", "tls")}
        assert watches.out_of_scope == {("other", "tls")}
        await asyncio.sleep(0.05)
        assert all("/namespaces/apps/" in c[1] for c in secret_calls(api))
    finally:
        await watches.close()


def test_dropped_informer_reports_its_secret_deleted() -> None:
    seen: list[InformerEvent] = []

    async def run() -> None:
        from legation.sources.kubernetes.secret_watch import SecretWatches

        api = scripted()
        api.on_get(SECRETS_IN_DEFAULT, by_name)
        watches = SecretWatches(api, None, seen.append)
        started = await watches.sync({("default", "tls")})
        assert await watches.wait_synced(started, 5) == []
        await watches.sync(set())
        assert watches.informers == {}
        await watches.close()

    asyncio.run(run())
    assert [(e.type, e.key) for e in seen] == [
        (EventType.ADDED, "default/tls"),
        (EventType.DELETED, "default/tls"),
    ]


def test_jwt_filters_name_their_jwks_and_ca_secrets() -> None:
    jwt = {"jwksSecret": {"name": "keys", "key": "jwks"}, "jwksCASecret": "idp-ca"}
    assert secret_references(obj("Filter", "f", "1", namespace="ns", spec={"JWT": jwt})) == {
        ("ns", "keys"),
        ("ns", "idp-ca"),
    }
    assert secret_references(obj("Filter", "g", "1", spec={"OAuth2": {}})) == set()


def test_oauth2_filters_name_their_client_secret() -> None:
    own = {"OAuth2": {"secretName": "idp-client"}}
    other = {"OAuth2": {"secretName": "idp-client", "secretNamespace": "auth"}}
    assert secret_references(obj("Filter", "f", "1", namespace="ns", spec=own)) == {
        ("ns", "idp-client")
    }
    assert secret_references(obj("Filter", "f", "1", namespace="ns", spec=other)) == {
        ("auth", "idp-client")
    }
    inline = {"OAuth2": {"secret": "not-a-reference"}}
    assert secret_references(obj("Filter", "f", "1", spec=inline)) == set()
