"""Configuration objects for unit tests: one getambassador.io document as a RawObject."""

from __future__ import annotations

from typing import Any

from legation.ir.provenance import Source
from legation.model.raw import RawObject

OAUTH2 = {
    "authorizationURL": "http://idp.test/oidc",
    "authorizationEndpoint": "http://idp.test/oidc/authorize",
    "tokenEndpoint": "http://idp.test/oidc/token",
    "clientID": "app",
}
"""An OAuth2 Filter's spec with the provider's endpoints given (no client secret)."""


def raw_doc(kind: str, name: str, spec: dict[str, Any], version: str = "v3alpha1") -> RawObject:
    """`kind` `name` in namespace default with `spec`, read from `in.yaml` line 1."""
    doc = {
        "apiVersion": f"getambassador.io/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return RawObject(doc=doc, source=Source("in.yaml", 1))
