"""Which Secrets the configuration refers to, read from the raw watched objects.

legation reads a Secret only when something names it: a Host's `tlsSecret` (and the
`ca_secret` / `crl_secret` of its inline `tls`), a TLSContext's `secret`, `ca_secret`
or `crl_secret`, an Ingress's `spec.tls[].secretName`, a JWT Filter's `jwksSecret` /
`jwksCASecret`, or an OAuth2 Filter's `secretName` (Hosts and TLSContexts written in a
Service's `getambassador.io/config` annotation count too).
This runs on raw dicts, before any parsing: a reference is a (namespace, name) pair,
and a malformed object simply refers to nothing (its errors come from the compiler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from legation.model.annotations import CONFIG_ANNOTATION

SecretRef = tuple[str, str]
"""(namespace, name) of a Secret."""


def _namespace(doc: Mapping[str, Any], default: str) -> str:
    meta = doc.get("metadata")
    if isinstance(meta, dict) and meta.get("namespace"):
        return str(meta["namespace"])
    return str(doc.get("namespace") or default)


def spec_fields(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The fields of an object's spec (v0/v1 documents keep them at the top level)."""
    spec = doc.get("spec")
    # v0/v1 Ambassador documents in annotations keep their fields at the top level
    return spec if isinstance(spec, dict) else doc


def _host_refs(doc: Mapping[str, Any], namespace: str) -> set[SecretRef]:
    spec = spec_fields(doc)
    tls = spec.get("tls")  # inline TLSContext fields: its ca_secret / crl_secret
    out = _context_refs(tls, namespace) if isinstance(tls, dict) else set()
    ref = spec.get("tlsSecret")
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref["name"]:
        return out
    return out | {(str(ref.get("namespace") or namespace), ref["name"])}


def _context_refs(doc: Mapping[str, Any], namespace: str) -> set[SecretRef]:
    spec = spec_fields(doc)
    out: set[SecretRef] = set()
    for field in ("secret", "ca_secret", "crl_secret"):
        value = spec.get(field)
        if not isinstance(value, str) or not value:
            continue
        out.add((namespace, value))
        # Emissary's `name.namespace` form (secret_namespacing, on by default)
        name, dot, other = value.rpartition(".")
        if dot and name and other and spec.get("secret_namespacing") is not False:
            out.add((other, name))
    return out


def _ingress_refs(doc: Mapping[str, Any], namespace: str) -> set[SecretRef]:
    tls = spec_fields(doc).get("tls")
    if not isinstance(tls, list):
        return set()
    names = (t.get("secretName") for t in tls if isinstance(t, dict))
    return {(namespace, n) for n in names if isinstance(n, str) and n}


def _filter_refs(doc: Mapping[str, Any], namespace: str) -> set[SecretRef]:
    """A JWT Filter's `jwksSecret` (a name and key) and `jwksCASecret` (a name); an
    OAuth2 Filter's `secretName` (in `secretNamespace`, default the Filter's)."""
    oauth2 = spec_fields(doc).get("OAuth2")
    if isinstance(oauth2, dict) and isinstance(oauth2.get("secretName"), str):
        other = oauth2.get("secretNamespace")
        other = other if isinstance(other, str) and other else namespace
        return {(other, oauth2["secretName"])} if oauth2["secretName"] else set()
    jwt = spec_fields(doc).get("JWT")
    if not isinstance(jwt, dict):
        return set()
    ref = jwt.get("jwksSecret")
    names = [ref.get("name") if isinstance(ref, dict) else None, jwt.get("jwksCASecret")]
    return {(namespace, n) for n in names if isinstance(n, str) and n}


_BY_KIND = {
    "Host": _host_refs,
    "TLSContext": _context_refs,
    "Ingress": _ingress_refs,
    "Filter": _filter_refs,
}


def annotation_docs(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The documents of an object's `getambassador.io/config` annotation."""
    meta = doc.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    text = annotations.get(CONFIG_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(text, str):
        return []
    try:
        return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []  # the compiler reports the broken annotation


def secret_references(doc: Mapping[str, Any]) -> set[SecretRef]:
    """The Secrets one watched object refers to (none for kinds that cannot)."""
    kind = doc.get("kind")
    namespace = _namespace(doc, "default")
    if kind == "Service":
        out: set[SecretRef] = set()
        for inner in annotation_docs(doc):
            refer = _BY_KIND.get(str(inner.get("kind")))
            if refer is not None:
                out |= refer(inner, _namespace(inner, namespace))
        return out
    refer = _BY_KIND.get(str(kind))
    return refer(doc, namespace) if refer is not None else set()


def all_secret_references(docs: Iterable[Mapping[str, Any]]) -> set[SecretRef]:
    """Every Secret the objects refer to."""
    out: set[SecretRef] = set()
    for doc in docs:
        out |= secret_references(doc)
    return out
