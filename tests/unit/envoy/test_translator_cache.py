"""The translator's caches survive a gateway with both HTTP and HTTPS route tables."""

from __future__ import annotations

from typing import Any

import pytest

import legation.envoy.route as route_module
from legation.compile.compiler import CompileCache, compile_config
from legation.envoy.translator import Translator
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from tests.certs import TestCA


def _doc(kind: str, name: str, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return RawObject(doc=doc, source=Source(f"{name}.yaml", 1))


def test_unchanged_routes_are_not_translated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = TestCA().issue("a.test")
    secret = RawObject(
        doc={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "a", "namespace": "default"},
            "stringData": {"tls.crt": leaf.cert_pem.decode(), "tls.key": leaf.key_pem.decode()},
        },
        source=Source("secret.yaml", 1),
    )
    # a Redirect Host: its cleartext table is tiny, its HTTPS table has every route, each
    # scoped to its Mapping's narrower hostname (an :authority match)
    objects = [secret, _doc("Host", "a", hostname="*.test", tlsSecret={"name": "a"})]
    objects += [
        _doc("Mapping", f"m{i}", prefix=f"/m{i}/", service="s", hostname="a.test")
        for i in range(1200)
    ]
    cache = CompileCache()
    translator = Translator(route_matcher="list")
    first = translator.translate(compile_config(objects, cache=cache).gateway)
    calls = 0
    real = route_module.translate_route

    def counting(route: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(route)

    monkeypatch.setattr(route_module, "translate_route", counting)
    second = translator.translate(compile_config(objects, cache=cache).gateway)
    assert calls == 0
    assert second.routes["https-8443"].value == first.routes["https-8443"].value
