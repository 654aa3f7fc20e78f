"""Which files on the gateway's disk the configuration names, read from raw objects.

A TLSContext's `cert_chain_file`, `private_key_file` and `cacert_chain_file`, and the
same fields of a Host's inline `tls` and of the old `tls` Module's `server` and
`client` blocks, name PEM files.
This runs on raw dicts before any parsing, like `secret_refs`: a malformed object
simply names nothing (its errors come from the compiler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from legation.sources.kubernetes.secret_refs import annotation_docs, spec_fields

CONTEXT_FILE_FIELDS = ("cert_chain_file", "private_key_file", "cacert_chain_file")
"""TLSContext fields (and `tls` Module `server`/`client` fields) that name a file."""


def _paths(fields: Any) -> set[str]:
    if not isinstance(fields, Mapping):
        return set()
    return {
        value
        for name in CONTEXT_FILE_FIELDS
        if isinstance(value := fields.get(name), str) and value
    }


def _module_paths(doc: Mapping[str, Any]) -> set[str]:
    config = spec_fields(doc).get("config")
    if not isinstance(config, Mapping):
        return set()
    return _paths(config.get("server")) | _paths(config.get("client"))


def file_references(doc: Mapping[str, Any]) -> set[str]:
    """The paths one object names (as written; none for kinds that cannot)."""
    kind = doc.get("kind")
    if kind == "TLSContext":
        return _paths(spec_fields(doc))
    if kind == "Module":
        return _module_paths(doc)
    if kind == "Host":  # its inline `tls` takes TLSContext fields
        return _paths(spec_fields(doc).get("tls"))
    if kind == "Service":
        out: set[str] = set()
        for inner in annotation_docs(doc):
            out |= file_references(inner) if inner.get("kind") != "Service" else set()
        return out
    return set()


def _pair(fields: Any) -> set[tuple[str, str]]:
    if not isinstance(fields, Mapping):
        return set()
    chain, key = fields.get("cert_chain_file"), fields.get("private_key_file")
    return {(chain, key)} if isinstance(chain, str) and isinstance(key, str) else set()


def certificate_pairs(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(cert_chain_file, private_key_file) pairs one object names: the files that must
    change together."""
    kind, spec = doc.get("kind"), spec_fields(doc)
    if kind == "TLSContext":
        return _pair(spec)
    if kind == "Host":
        return _pair(spec.get("tls"))
    if kind == "Module":
        config = spec.get("config")
        return _pair(config.get("server")) if isinstance(config, Mapping) else set()
    if kind == "Service":
        return {p for inner in annotation_docs(doc) if inner.get("kind") != "Service"
                for p in certificate_pairs(inner)}  # fmt: skip
    return set()


def all_file_references(docs: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every path the objects name."""
    out: set[str] = set()
    for doc in docs:
        out |= file_references(doc)
    return out
