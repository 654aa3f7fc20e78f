"""Every resource of a build by key, valid or not: the diagnostics' resource detail.

A resource that failed validation never becomes a `Resource`, but its problems carry
its key; the document itself is found again among the snapshot's raw objects (and
inside annotated Services), so the detail page can show it as written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from legation.diag.bounded import shown_document, shown_json
from legation.envoy.resources import message_to_data
from legation.ir.errors import Severity
from legation.model.annotations import expand_service, is_annotated_service
from legation.model.raw import RawObject
from legation.model.secret import is_secret, redacted
from legation.model.versions import EnvelopeError, is_ambassador_document, open_envelope
from legation.runtime.pipeline import BuildResult
from legation.runtime.state import problem_data, route_info, source_data


def document_key(doc: Mapping[str, Any], default_namespace: str) -> str | None:
    """`Kind/name.namespace` of an Ambassador document, as far as it can be told."""
    try:
        env = open_envelope(doc, default_namespace)
        return f"{env.kind}/{env.name}.{env.namespace}"
    except EnvelopeError:
        pass
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kind, name = doc.get("kind"), meta.get("name") or doc.get("name")
    namespace = meta.get("namespace") or doc.get("namespace") or default_namespace
    if isinstance(kind, str) and isinstance(name, str):
        return f"{kind}/{name}.{namespace}"
    return None


def _documents(objects: tuple[RawObject, ...]) -> Iterator[tuple[str, RawObject]]:
    """(key, document) for every Ambassador document, annotations included."""
    for raw in objects:
        if is_annotated_service(raw.doc):
            docs, _problems, namespace = expand_service(raw)
            for doc in docs:
                key = document_key(doc.doc, namespace)
                if key is not None:
                    yield key, doc
        elif is_ambassador_document(raw.doc):
            key = document_key(raw.doc, "default")
            if key is not None:
                yield key, raw


def _shown(doc: Any) -> dict[str, Any]:
    """The document as data and YAML, bounded in size (an alias bomb or a huge document
    must not be expanded by a page), with notes on what was left out."""
    # a Secret's values are never shown, only its keys
    shown = shown_document(redacted(doc) if is_secret(doc) else doc)
    return {"doc": shown.data, "yaml": shown.yaml, "truncated": list(shown.notes)}


def _find_routes(data: Any, names: set[str], out: list[dict[str, Any]]) -> None:
    """Collect Envoy routes (dicts with `name` and `match`) named in `names`."""
    if isinstance(data, dict):
        if data.get("name") in names and "match" in data:
            out.append(data)
            return
        for value in data.values():
            _find_routes(value, names, out)
    elif isinstance(data, list):
        for value in data:
            _find_routes(value, names, out)


def _dump_json(data: Any) -> str:
    return shown_json(data)


class Inventory:
    """Resource details over one build, with its document index built once."""

    def __init__(self, result: BuildResult) -> None:
        """Index `result`'s documents by key (lazily, on first use)."""
        self.result = result
        self._docs: dict[str, list[RawObject]] | None = None
        self._envoy_routes: list[dict[str, Any]] | None = None

    def _index(self) -> dict[str, list[RawObject]]:
        if self._docs is None:
            docs: dict[str, list[RawObject]] = defaultdict(list)
            for key, raw in _documents(self.result.snapshot.objects):
                docs[key].append(raw)
            for res in self.result.compiled.resources:
                if not any(raw is res.raw for raw in docs.get(res.key, ())):
                    docs[res.key].append(res.raw)
            self._docs = dict(docs)
        return self._docs

    def _route_data(self) -> list[dict[str, Any]]:
        if self._envoy_routes is None:
            self._envoy_routes = [message_to_data(m) for m in self.result.resources.routes.values()]
        return self._envoy_routes

    def detail(self, key: str) -> dict[str, Any] | None:
        """Everything about one resource, or None when no document has that key."""
        result = self.result
        problems = [problem_data(p) for p in result.problems if p.resource == key]
        docs = self._index().get(key, [])
        if not docs and not problems:
            return None
        kind, _, rest = key.partition("/")
        name, _, namespace = rest.rpartition(".")
        routes = [r for r in route_info(result.compiled.gateway) if key in r["mappings"]]
        clusters = [c for c in result.compiled.gateway.clusters if key in c.mappings]
        envoy_routes: list[dict[str, Any]] = []
        if routes:
            # a canary member's own Envoy route; a redirect's route has no cluster
            names = {c["route"] for r in routes for c in r["clusters"] if c["mapping"] == key}
            names |= {r["name"] for r in routes if not r["clusters"]}
            _find_routes(self._route_data(), names, envoy_routes)
        return {
            "key": key,
            "kind": kind,
            "name": name,
            "namespace": namespace,
            "valid": any(r.key == key for r in result.compiled.resources)
            and not any(p["severity"] == Severity.ERROR.value for p in problems),
            "problems": problems,
            "inputs": [
                {
                    "source": raw.source.describe(),
                    "provenance": source_data(raw.source),
                    **_shown(raw.doc),
                }
                for raw in docs
            ],
            "routes": routes,
            "clusters": [{"name": c.name, "service": c.service} for c in clusters],
            "envoy": {
                "routes": [{"name": r["name"], "json": _dump_json(r)} for r in envoy_routes],
                "clusters": [
                    {
                        "name": c.name,
                        "json": _dump_json(message_to_data(result.resources.clusters[c.name])),
                    }
                    for c in clusters
                    if c.name in result.resources.clusters
                ],
            },
        }
