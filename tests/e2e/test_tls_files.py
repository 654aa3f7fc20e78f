"""Certificates from files on the gateway's disk, CRLs and expiry, through a real Envoy.

A TLSContext names `cert_chain_file` / `private_key_file` outside the configuration
folder; replacing the files (atomic rename, then an in-place write) serves the new
certificate to new handshakes within 1 s while a keep-alive client sees no failure and
Envoy's listeners are not touched. A certificate and key replaced 0.3 s apart keep the old pair meanwhile (no mismatch is
ever served, nothing fails). A missing file is an error on its TLSContext while
the other Hosts serve. A `crl_secret` makes Envoy refuse a revoked client certificate.
"""

from __future__ import annotations

import datetime
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certs import Leaf, TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.load import Load
from tests.e2e.tls import (
    TlsClient,
    ca_secret,
    crl_secret,
    der_of,
    host,
    listener_stats,
    tls_context,
    tls_secret,
    with_identity,
)

pytestmark = pytest.mark.e2e

FILES_HOST, PLAIN_HOST = "files.example.com", "plain.example.com"


def context_host(name: str, hostname: str, context: str, secret: str | None = None) -> str:
    """A Host with the TLSContext it names (its certificate, without `secret`)."""
    text = host(name, hostname, secret)
    return text.replace("spec:\n", f"spec:\n  tlsContext: {{name: {context}}}\n", 1)


def write_pair(directory: Path, leaf: Leaf, how: str) -> float:
    """Replace tls.crt and tls.key: by renaming new files over them, in place, or by
    renaming one and the other 0.3 s later (a two-step rotation)."""
    for name, data in (("tls.crt", leaf.cert_pem), ("tls.key", leaf.key_pem)):
        path = directory / name
        if how == "one by one" and name == "tls.key":
            time.sleep(0.3)  # meanwhile the new certificate does not match the old key
        if how in ("rename", "one by one"):
            tmp = directory / f".{name}.new"
            tmp.write_bytes(data)
            os.replace(tmp, path)
        else:
            with open(path, "r+b") as f:  # the same inode, rewritten
                f.truncate(0)
                f.write(data)
    return time.monotonic()


def served_certificate(gw: RunningGateway, sni: str, ca: TestCA) -> bytes | None:
    """DER of the certificate a new handshake with `sni` gets; None when refused."""
    try:
        client = TlsClient(gw.https_port, sni, ca)
    except (ssl.SSLError, ConnectionError):
        return None
    try:
        return client.certificate()
    finally:
        client.close()


@pytest.fixture(scope="module")
def ca() -> TestCA:
    """The CA every server certificate is signed by."""
    return TestCA()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory, ca: TestCA) -> Path:
    """The certificate files, in a directory outside the configuration folder."""
    directory = tmp_path_factory.mktemp("certs")
    write_pair(directory, ca.issue(FILES_HOST), "rename")
    return directory


@pytest.fixture(scope="module")
def gw(certs: Path, ca: TestCA) -> Iterator[RunningGateway]:
    """files.example.com on the certificate files, plain.example.com on a Secret."""
    context = tls_context(
        "files-ctx",
        cert_chain_file=str(certs / "tls.crt"),
        private_key_file=str(certs / "tls.key"),
    )
    with EchoUpstream("up") as up:
        files = {
            "tls.yaml": context
            + context_host("files", FILES_HOST, "files-ctx")
            + "---\n"
            + tls_secret("plain-tls", ca.issue(PLAIN_HOST))
            + host("plain", PLAIN_HOST, "plain-tls"),
            "mappings.yaml": mapping("all", up.service, "/", hostname="*"),
        }
        with RunningGateway(files) as gateway:
            poll(lambda: served_certificate(gateway, FILES_HOST, ca) is not None)
            yield gateway


def test_files_certificate_is_served_and_shown(gw: RunningGateway, certs: Path, ca: TestCA) -> None:
    client = TlsClient(gw.https_port, FILES_HOST, ca)
    try:
        assert FILES_HOST in client.sans()
        status, body = client.get("/x")
        assert (status, body.get("upstream")) == (200, "up")
    finally:
        client.close()
    page = gw.diag("/ambassador/v0/diag/certificates?json=true").json()
    (row,) = [c for c in page["certificates"] if c["name"] == f"file:{certs / 'tls.crt'}"]
    assert row["sans"] == [FILES_HOST] and row["expiring_soon"]  # test certificates: 5 days
    html = gw.diag("/ambassador/v0/diag/certificates?json=false").text
    assert row["fingerprint_sha256"] in html and "-----BEGIN" not in html


@pytest.mark.parametrize("how", ["rename", "in place", "one by one"])
def test_replacing_the_files_rotates_without_drain_or_failure(
    gw: RunningGateway, certs: Path, ca: TestCA, how: str
) -> None:
    before = listener_stats(gw.admin("/stats?filter=^listener_manager\\.").text)
    verify = ssl.create_default_context(cadata=ca.cert_pem.decode())
    url = f"https://127.0.0.1:{gw.https_port}"
    with Load(
        url, ["/keepalive"], pause_s=0.005, limit_s=30, verify=verify, sni=FILES_HOST
    ) as load:
        poll(lambda: load.sent > 5 or None, timeout=10)
        new = ca.issue(FILES_HOST)
        written = write_pair(certs, new, how)
        seen = poll(
            lambda: (
                time.monotonic() if served_certificate(gw, FILES_HOST, ca) == der_of(new) else None
            ),
            timeout=10,
            interval=0.01,
        )
        sent_at_switch = load.sent
        poll(lambda: load.sent > sent_at_switch + 10 or None, timeout=10)  # keeps working
    assert seen - written <= 1.0, f"new certificate after {seen - written:.2f} s"
    print(f"{how}: new certificate served {seen - written:.3f} s after the write")
    assert dict(load.failures) == {} and load.sent > 20
    after = listener_stats(gw.admin("/stats?filter=^listener_manager\\.").text)
    for stat in ("listener_modified", "listener_added", "listener_removed"):
        assert after.get(stat) == before.get(stat), stat
    assert after.get("total_listeners_draining", 0) == 0


def test_missing_file_is_an_error_on_its_tlscontext_and_others_serve(
    gw: RunningGateway, ca: TestCA, tmp_path: Path
) -> None:
    later = tmp_path / "later"
    later.mkdir()
    gw.write(
        "broken.yaml",
        tls_context(
            "broken-ctx",
            cert_chain_file=str(later / "tls.crt"),
            private_key_file=str(later / "tls.key"),
        )
        + context_host("broken", "broken.example.com", "broken-ctx"),
    )

    def reported() -> dict[str, object] | None:
        errors = gw.overview()["errors"]
        found = [e for e in errors if e["resource"] == "TLSContext/broken-ctx.default"]
        return found[0] if found else None

    error = poll(reported)
    assert error["field"] == "spec.cert_chain_file"
    assert f"{later / 'tls.crt'} does not exist" in str(error["message"])
    for sni in (FILES_HOST, PLAIN_HOST):  # the others keep serving
        assert served_certificate(gw, sni, ca)
    leaf = ca.issue("broken.example.com")
    write_pair(later, leaf, "rename")  # the file appears: it is read, and served
    poll(lambda: served_certificate(gw, "broken.example.com", ca) == der_of(leaf) or None)
    assert reported() is None
    gw.remove("broken.yaml")


def test_check_names_file_errors_and_warns_about_expiry(tmp_path: Path, ca: TestCA) -> None:
    config, files = tmp_path / "config", tmp_path / "files"
    config.mkdir()
    files.mkdir()
    expired = ca.issue(
        "old.example.com", not_after=datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC)
    )
    write_pair(files, expired, "rename")
    (files / "other.key").write_bytes(ca.issue("x.example.com").key_pem)
    (config / "tls.yaml").write_text(
        tls_context("old", cert_chain_file="../files/tls.crt", private_key_file="../files/tls.key")
        + context_host("old", "old.example.com", "old")
        + tls_context(
            "mismatch", cert_chain_file="../files/tls.crt", private_key_file="../files/other.key"
        )
        + context_host("mismatch", "mismatch.example.com", "mismatch")
        + tls_context("gone", cacert_chain_file="/nonexistent/ca.pem")
    )
    run = subprocess.run(
        [sys.executable, "-m", "legation.cli.main", "check", "--json", str(config)],
        capture_output=True,
        text=True,
    )
    problems = json.loads(run.stdout)["problems"]
    by_resource = {(p["resource"], p["field"]): p for p in problems}
    old = by_resource[("TLSContext/old.default", "spec.cert_chain_file")]
    assert old["severity"] == "notice" and "expired on 2025-03-01" in old["message"]
    mismatch = by_resource[("TLSContext/mismatch.default", "spec.cert_chain_file")]
    assert mismatch["severity"] == "error" and "does not match" in mismatch["message"]
    gone = by_resource[("TLSContext/gone.default", "spec.cacert_chain_file")]
    assert "/nonexistent/ca.pem does not exist" in gone["message"]
    assert run.returncode == 1
    text = subprocess.run(
        [sys.executable, "-m", "legation.cli.main", "check", str(config)],
        capture_output=True,
        text=True,
    )
    assert "expired on 2025-03-01" in text.stdout + text.stderr


def test_revoked_client_certificate_is_refused(tmp_path: Path) -> None:
    server_ca, client_ca = TestCA("server CA"), TestCA("client CA")
    alice, mallory = client_ca.issue("alice.example.com"), client_ca.issue("mallory.example.com")
    context = tls_context(
        "mtls", ca_secret="client-ca", crl_secret="client-crl", cert_required=True
    )
    files = {
        "tls.yaml": tls_secret("server-tls", server_ca.issue("mtls.example.com"))
        + ca_secret("client-ca", client_ca.cert_pem)
        + context
        + context_host("mtls", "mtls.example.com", "mtls", "server-tls"),
        "crl.yaml": crl_secret("client-crl", client_ca.revocation_list(mallory)),
    }

    def status_as(leaf: Leaf) -> int | str:
        verify = ssl.create_default_context(cadata=server_ca.cert_pem.decode())
        with_identity(verify, leaf, tmp_path)
        try:
            client = TlsClient(gw.https_port, "mtls.example.com", server_ca, context=verify)
            try:
                return client.get("/x")[0]
            finally:
                client.close()
        except (ssl.SSLError, ConnectionError) as exc:  # TLS 1.3: refused at the first read
            return type(exc).__name__

    with EchoUpstream("up") as up:
        files["mappings.yaml"] = mapping("all", up.service, "/", hostname="*")
        with RunningGateway(files) as gw:
            assert poll(lambda: status_as(alice) == 200 or None)
            assert status_as(mallory) != 200
            # revoke alice too: a new CRL is one SDS push; her new handshakes are refused
            gw.write(
                "crl.yaml", crl_secret("client-crl", client_ca.revocation_list(mallory, alice))
            )
            poll(lambda: status_as(alice) != 200 or None)
            assert status_as(mallory) != 200
            assert gw.overview()["errors"] == []
