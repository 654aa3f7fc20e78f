"""Secrets: IR → SDS Secret, TLS chains naming them, and no key bytes in any view."""

from __future__ import annotations

import base64
import json

from legation.compile.certificates import ca_bundle_secret, certificate_secret
from legation.envoy.resources import message_to_data
from legation.envoy.translator import translate
from legation.ir.gateway import Gateway
from legation.ir.listeners import (
    ChainMatch,
    DownstreamTls,
    FilterChain,
    HttpConnectionManager,
    Listener,
)
from legation.ir.serialize import to_data
from tests.certs import TestCA


def _key_fragments(key_pem: bytes) -> list[str]:
    """Pieces of the key as they could appear: PEM lines, and base64 of the PEM."""
    lines = [ln for ln in key_pem.decode().splitlines() if not ln.startswith("-----")]
    return [*lines, base64.b64encode(key_pem).decode()[:40]]


def _gateway() -> tuple[Gateway, bytes]:
    ca = TestCA()
    leaf = ca.issue("a.example.com")
    secret = certificate_secret(
        "default/a-tls", "Secret/a-tls.default", leaf.cert_pem, leaf.key_pem
    )
    bundle = ca_bundle_secret("default/ca", "Secret/ca.default", ca.cert_pem)
    manager = HttpConnectionManager(route_config="https-8443", stat_prefix="https_8443")
    chain = FilterChain(
        name="a.example.com",
        match=ChainMatch(server_names=("a.example.com",)),
        tls=DownstreamTls(("default/a-tls",), ("h2", "http/1.1")),
        http=manager,
    )
    listener = Listener("https-8443", "0.0.0.0", 8443, (chain,))
    return Gateway((listener,), (), (), secrets=(bundle, secret)), leaf.key_pem


def test_secret_is_sds_and_listener_names_it() -> None:
    gateway, key = _gateway()
    resources = translate(gateway)
    assert sorted(resources.secrets) == ["default/a-tls", "default/ca"]
    envoy_secret = resources.secrets["default/a-tls"]
    assert envoy_secret.tls_certificate.private_key.inline_bytes == key
    listener = message_to_data(resources.listeners["https-8443"])
    (chain,) = listener["filter_chains"]
    assert chain["filter_chain_match"]["server_names"] == ["a.example.com"]
    tls = chain["transport_socket"]["typed_config"]["common_tls_context"]
    assert tls["alpn_protocols"] == ["h2", "http/1.1"]
    (sds,) = tls["tls_certificate_sds_secret_configs"]
    assert sds["name"] == "default/a-tls" and "ads" in sds["sds_config"]
    assert "tls_certificates" not in tls  # never inline: a rotation must not touch the listener
    assert listener["listener_filters"][0]["name"] == "envoy.filters.listener.tls_inspector"


def test_no_key_bytes_in_ir_or_translate_output() -> None:
    gateway, key = _gateway()
    shown = json.dumps(to_data(gateway)) + json.dumps(translate(gateway).to_data())
    shown += repr(gateway)
    assert "<private key>" in shown and "key, " in shown  # the placeholders are there
    for fragment in _key_fragments(key):
        assert fragment not in shown
    assert "BEGIN" not in shown  # certificates are summarised, not dumped
    (data,) = [s for s in translate(gateway).to_data()["secrets"] if "tls_certificate" in s]
    assert data["tls_certificate"]["private_key"]["inline_bytes"].startswith("<key, ")
