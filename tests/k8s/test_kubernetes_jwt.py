"""JWT in Kubernetes mode: Filter and FilterPolicy read through the API (with the shipped
RBAC), the JWK set from a Secret named by `jwksSecret`, and a replaced Secret (a rotated
key) picked up; and the generated CRD schemas accept the commercial edition's manifests."""

from __future__ import annotations

from typing import Any

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import poll
from tests.e2e.jwks import SigningKey, jwks_json
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.gateway import KubeGateway
from tests.k8s.kube import Kube, mapping, resource
from tests.k8s.manifests import Discovery, apply
from tests.k8s.test_deploy import make_apiserver_module, server  # noqa: F401  (fixtures)
from tests.k8s.test_kubernetes_source import gateway, kube, upstream  # noqa: F401  (fixtures)


def _ambassador(
    kind: str, name: str, namespace: str, spec: dict[str, Any], version: str = "v3alpha1"
) -> dict[str, Any]:
    return resource(kind, name, namespace, f"getambassador.io/{version}", spec=spec)


def _jwks_secret(namespace: str, jwks: str) -> dict[str, Any]:
    return resource("Secret", "jwks", namespace, "v1", type="Opaque", stringData={"jwks": jwks})


def test_jwt_filter_with_jwks_secret_in_kubernetes(
    gateway: KubeGateway,  # noqa: F811
    kube: Kube,  # noqa: F811
    upstream: EchoUpstream,  # noqa: F811
) -> None:
    ns = kube.namespace("jwt")
    first, second = SigningKey("first"), SigningKey("second")
    kube.apply(_jwks_secret(ns, jwks_json(first)))
    kube.apply(_ambassador("Filter", "jwt", ns, {"JWT": {"jwksSecret": {"name": "jwks"}}}))
    rules = [{"host": "*", "path": "/jwt-open/*", "filters": None},
             {"host": "*", "path": "*", "filters": [{"name": "jwt"}]}]  # fmt: skip
    policy = _ambassador("FilterPolicy", "policy", ns, {"rules": rules})
    kube.apply(policy)
    try:
        _check_jwt_in_kubernetes(gateway, kube, upstream, ns, first, second)
    finally:
        # a FilterPolicy applies to the whole gateway, whatever its namespace: leave
        # none behind for the tests that share this API server
        kube.delete(policy)


def _check_jwt_in_kubernetes(
    gateway: KubeGateway,  # noqa: F811
    kube: Kube,  # noqa: F811
    upstream: EchoUpstream,  # noqa: F811
    ns: str,
    first: SigningKey,
    second: SigningKey,
) -> None:
    kube.apply(mapping("jwt-m", ns, "/jwt/", upstream.service))
    kube.apply(mapping("jwt-open", ns, "/jwt-open/", upstream.service))

    def status(key: SigningKey | None, path: str = "/jwt/x") -> int:
        headers = {"authorization": f"Bearer {key.token(sub='k8s')}"} if key else {}
        return gateway.get(path, headers=headers).status_code

    # the kinds are watched apart: wait for the route, then for the policy on it
    poll(lambda: status(None) == 401, timeout=20)
    poll(lambda: status(first) == 200, timeout=20)
    assert status(second) == 401
    assert status(None, "/jwt-open/x") == 200
    kube.apply(_jwks_secret(ns, jwks_json(second)))  # rotated in the Secret
    poll(lambda: status(second) == 200, timeout=20)
    assert status(first) == 401


def test_crd_schemas_accept_commercial_edition_manifests(server: KubeApiServer) -> None:  # noqa: F811
    jwt = {
        "jwksURI": "https://idp.example.com/.well-known/jwks.json",
        "insecureTLS": False, "renegotiateTLS": "never", "validAlgorithms": ["RS256"],
        "audience": "api", "requireAudience": True, "issuer": "https://idp.example.com/",
        "requireIssuer": True, "requireIssuedAt": False, "requireExpiresAt": True,
        "requireNotBefore": False, "leewayForExpiresAt": "30s", "leewayForNotBefore": "0s",
        "leewayForIssuedAt": "0s",
        "injectRequestHeaders": [{"name": "X-Sub", "value": "{{ .token.Claims.sub }}"}],
        "errorResponse": {"contentType": "application/json", "realm": "api",
                          "headers": [{"name": "X-Why", "value": "{{ .message }}"}],
                          "bodyTemplate": '{"error": "{{ .message }}"}'},
    }  # fmt: skip
    policy = {"rules": [
        {"host": "*", "path": "/public/*", "filters": None},
        {"host": "api.example.com", "path": "*", "precedence": 1, "filters": [
            {"name": "jwt", "namespace": "legation", "onDeny": "break", "onAllow": "continue",
             "ifRequestHeader": {"name": "authorization", "negate": False},
             "arguments": {"scope": ["read"]}}]},
    ]}  # fmt: skip
    docs = [
        _ambassador("Filter", "jwt", "legation", {"JWT": jwt}),
        _ambassador("Filter", "jwt-v2", "legation", {"JWT": {"jwksURI": "http://x/k"}}, "v2"),
        _ambassador("FilterPolicy", "policy", "legation", policy),
    ]
    with server.client() as api:
        discovery = Discovery(api)
        for doc in docs:
            r = apply(api, discovery, doc, dry_run=True)
            assert r.status_code in (200, 201), r.text
