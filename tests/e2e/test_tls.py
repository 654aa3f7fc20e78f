"""TLS termination through a real Envoy: Hosts with certificates from folder Secrets.

Certificates come from a test CA made here; clients verify against it and send SNI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.certs import Leaf, TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.tls import KeptSending, TlsClient, der_of, host, tls_secret
from tests.e2e.tls import listener_stats as tls_listener_stats

pytestmark = pytest.mark.e2e


def listener_stats(gw: RunningGateway) -> dict[str, int]:
    """Envoy's listener_manager counters and gauges, from its admin port."""
    return tls_listener_stats(gw.admin("/stats?filter=^listener_manager\\.").text)


@pytest.fixture(scope="module")
def ca() -> TestCA:
    """The CA every test certificate is signed by."""
    return TestCA()


@pytest.fixture(scope="module")
def setup(ca: TestCA) -> Iterator[tuple[RunningGateway, EchoUpstream, EchoUpstream, Leaf]]:
    """Hosts a (Redirect) and c (Reject) on certificate a, b (Route) on certificate b."""
    leaf_a = ca.issue("a.example.com", "c.example.com")
    leaf_b = ca.issue("b.example.com")
    with EchoUpstream("up-a") as up_a, EchoUpstream("up-b") as up_b:
        files = {
            "secrets.yaml": tls_secret("a-tls", leaf_a) + "---\n" + tls_secret("b-tls", leaf_b),
            "hosts.yaml": host("a", "a.example.com", "a-tls")
            + host("b", "b.example.com", "b-tls", "Route")
            + host("c", "c.example.com", "a-tls", "Reject"),
            "mappings.yaml": mapping("a", up_a.service, "/a/", hostname="a.example.com")
            + mapping("b", up_b.service, "/b/", hostname="b.example.com")
            + mapping("c", up_a.service, "/c/", hostname="c.example.com")
            + mapping("acme", up_b.service, "/.well-known/acme-challenge/", hostname="*"),
        }
        with RunningGateway(files) as gw:
            poll(lambda: gw.get("/b/", headers={"host": "b.example.com"}).status_code == 200)
            yield gw, up_a, up_b, leaf_a


def test_each_sni_gets_its_certificate_and_its_routes(
    setup: tuple[RunningGateway, EchoUpstream, EchoUpstream, Leaf], ca: TestCA
) -> None:
    gw = setup[0]
    for sni, path, upstream in (
        ("a.example.com", "/a/x", "up-a"),
        ("b.example.com", "/b/x", "up-b"),
        ("c.example.com", "/c/x", "up-a"),
    ):
        client = TlsClient(gw.https_port, sni, ca)
        try:
            assert sni in client.sans()  # the handshake verified against the CA, too
            status, body = client.get(path)
            assert (status, body.get("upstream")) == (200, upstream), sni
            assert body["headers"]["x-forwarded-proto"] == "https"
            if sni == "a.example.com":
                assert client.get("/b/x")[0] == 404  # b's routes are not on host a
        finally:
            client.close()
    h2 = TlsClient(gw.https_port, "b.example.com", ca, alpn=["h2", "http/1.1"])
    assert h2.sock.selected_alpn_protocol() == "h2"
    h2.close()


def test_insecure_actions_on_the_http_port(
    setup: tuple[RunningGateway, EchoUpstream, EchoUpstream, Leaf],
) -> None:
    gw = setup[0]
    redirect = gw.get("/a/x?q=1", headers={"host": "a.example.com"})
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "https://a.example.com/a/x?q=1"
    routed = gw.get("/b/x", headers={"host": "b.example.com"})
    assert (routed.status_code, routed.json()["upstream"]) == (200, "up-b")
    assert gw.get("/c/x", headers={"host": "c.example.com"}).status_code == 404  # Reject
    for name in ("a.example.com", "c.example.com"):  # the ACME path is routed regardless
        acme = gw.get("/.well-known/acme-challenge/token", headers={"host": name})
        assert (acme.status_code, acme.json()["upstream"]) == (200, "up-b")


def _key_fragments(leaf: Leaf) -> list[str]:
    lines = [ln for ln in leaf.key_pem.decode().splitlines() if not ln.startswith("-----")]
    return [*lines, base64.b64encode(leaf.key_pem).decode()[:48]]


def test_no_key_bytes_in_diagnostics_logs_metrics_or_translate(
    setup: tuple[RunningGateway, EchoUpstream, EchoUpstream, Leaf],
) -> None:
    gw, _, _, leaf_a = setup
    overview = gw.overview()
    (cert,) = [c for c in overview["certificates"] if c["name"] == "default/a-tls"]
    assert cert["sans"] == ["a.example.com", "c.example.com"]
    # test certificates live 5 days: under the 14-day warning
    assert cert["expiring_soon"] and cert["expires_in_days"] in (4, 5)
    assert cert["fingerprint_sha256"] == hashlib.sha256(der_of(leaf_a)).hexdigest()
    shown = json.dumps(overview) + gw.log() + gw.diag("/metrics").text
    shown += gw.diag("/ambassador/v0/diag/").text
    for page in ("/ambassador/v0/diag/resource/Secret/a-tls.default", "/ambassador/v0/diag/"):
        detail = gw.diag(page + "?json=true")
        assert detail.status_code == 200
        shown += detail.text
    assert "default/a-tls" in shown or "a-tls" in shown
    translated = subprocess.run(
        [sys.executable, "-m", "legation.cli.main", "translate", str(gw.config_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "<key, " in translated and "default/a-tls" in translated
    for fragment in _key_fragments(leaf_a):
        assert fragment not in shown and fragment not in translated


def test_rotation_is_one_secret_push_without_listener_drain(
    setup: tuple[RunningGateway, EchoUpstream, EchoUpstream, Leaf], ca: TestCA
) -> None:
    gw, _, _, leaf_a = setup
    before = listener_stats(gw)
    kept = TlsClient(gw.https_port, "a.example.com", ca)
    assert kept.certificate() == der_of(leaf_a)
    with KeptSending(kept, "/a/keepalive") as sending:
        new_leaf = ca.issue("a.example.com", "c.example.com")
        written = gw.write("secrets.yaml", tls_secret("a-tls", new_leaf) + "---\n"
                           + tls_secret("b-tls", ca.issue("b.example.com")))  # fmt: skip

        def handshake_is_new() -> float | None:
            client = TlsClient(gw.https_port, "a.example.com", ca)
            try:
                return time.monotonic() if client.certificate() == der_of(new_leaf) else None
            finally:
                client.close()

        seen = poll(handshake_is_new, timeout=10, interval=0.01)
        time.sleep(0.3)  # a few more requests on the old connection after the switch
    failures, sent = sending.failures, sending.sent
    assert seen - written <= 1.0, f"new certificate after {seen - written:.2f} s"
    print(f"new certificate served {seen - written:.3f} s after the write; {sent} requests")
    assert failures == [] and sent > 10
    after = listener_stats(gw)
    assert before.get("listener_added", 0) >= 2  # the stats are there: http and https
    for stat in ("listener_modified", "listener_added", "listener_removed"):
        assert after.get(stat) == before.get(stat), stat
    assert after.get("total_listeners_draining", 0) == 0


def test_delta_xds_serves_and_rotates_certificates(ca: TestCA) -> None:
    """The same over incremental xDS: the secret arrives, and a new one replaces it."""
    first, second = ca.issue("d.example.com"), ca.issue("d.example.com")
    with EchoUpstream("up-d") as up:
        files = {
            "secret.yaml": tls_secret("d-tls", first),
            "host.yaml": host("d", "d.example.com", "d-tls"),
            "mapping.yaml": mapping("d", up.service, "/d/", hostname="d.example.com"),
        }
        with RunningGateway(files, extra_args=["--xds-delta"]) as gw:

            def served() -> bytes | None:
                try:
                    client = TlsClient(gw.https_port, "d.example.com", ca)
                except OSError:
                    return None  # the HTTPS listener is not up yet
                try:
                    status, body = client.get("/d/")
                    ok = status == 200 and body.get("upstream") == "up-d"
                    return client.certificate() if ok else None
                finally:
                    client.close()

            assert poll(served) == der_of(first)
            before = listener_stats(gw)
            gw.write("secret.yaml", tls_secret("d-tls", second))
            poll(lambda: served() == der_of(second), timeout=5)
            after = listener_stats(gw)
            assert after.get("listener_modified") == before.get("listener_modified")
