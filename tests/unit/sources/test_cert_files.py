"""Certificate files named by the configuration: found in raw objects, read, and watched
(real files, a real folder source under the wrapper)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import yaml

from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.sources.cert_files import CertificateFiles, WatchedFiles
from legation.sources.file_refs import all_file_references
from legation.sources.folder import FolderSource


def raw(doc: dict[str, object]) -> RawObject:
    return RawObject(doc=doc, source=Source("x.yaml", 1))


def context(**spec: str) -> dict[str, object]:
    return {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "TLSContext",
        "metadata": {"name": "ctx", "namespace": "default"},
        "spec": spec,
    }


def test_references_from_contexts_hosts_the_tls_module_and_annotations() -> None:
    module = {
        "kind": "Module",
        "metadata": {"name": "tls"},
        "spec": {"config": {"server": {"cert_chain_file": "/s.crt"}, "client": {}}},
    }
    host = {"kind": "Host", "spec": {"tls": {"cacert_chain_file": "/h-ca.crt"}}}
    inner = {"apiVersion": "getambassador.io/v2", "kind": "TLSContext", "name": "a",
             "private_key_file": "/a.key"}  # fmt: skip
    service = {
        "kind": "Service",
        "metadata": {"annotations": {"getambassador.io/config": yaml.safe_dump(inner)}},
    }
    docs = [context(cert_chain_file="/c.crt", cacert_chain_file="rel/ca.crt"), module, host]
    docs += [service, {"kind": "Mapping", "spec": {"cert_chain_file": "/not-a-ref"}}]
    assert all_file_references(docs) == {"/c.crt", "rel/ca.crt", "/s.crt", "/h-ca.crt", "/a.key"}


def test_read_relative_to_base_and_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "ca.crt").write_bytes(b"CA")
    (tmp_path / "locked.key").write_bytes(b"K")
    (tmp_path / "locked.key").chmod(0)
    files = CertificateFiles(tmp_path)
    spec = {"cacert_chain_file": "rel/ca.crt", "cert_chain_file": str(tmp_path / "gone.crt")}
    got = files.update([raw(context(**spec, private_key_file="locked.key"))])
    assert got["rel/ca.crt"] == b"CA"
    assert got[str(tmp_path / "gone.crt")] == f"{tmp_path / 'gone.crt'} does not exist"
    if os.geteuid() != 0:  # root reads anything
        assert "cannot be read (Permission denied)" in str(got["locked.key"])
    assert not files.changed()


def test_rename_and_in_place_write_are_changes(tmp_path: Path) -> None:
    cert = tmp_path / "tls.crt"
    cert.write_bytes(b"one")
    files = CertificateFiles()
    files.update([raw(context(cert_chain_file=str(cert)))])
    new = tmp_path / "new.crt"
    new.write_bytes(b"two")
    os.rename(new, cert)
    assert files.changed() and files.reread() and files.contents[str(cert)] == b"two"
    with open(cert, "r+b") as f:  # in place: same inode
        f.write(b"six")
    assert files.changed() and files.reread() and files.contents[str(cert)] == b"six"
    os.utime(cert)  # touched, same bytes: read again, nothing new to hand on
    assert files.changed() and not files.reread() and not files.changed()


async def test_watched_files_give_a_new_snapshot_with_the_same_objects(tmp_path: Path) -> None:
    root, cert = tmp_path / "config", tmp_path / "certs" / "tls.crt"
    root.mkdir()
    cert.parent.mkdir()
    cert.write_bytes(b"one")
    (root / "ctx.yaml").write_text(yaml.safe_dump(context(cert_chain_file="../certs/tls.crt")))
    source = WatchedFiles(FolderSource(root, debounce_ms=20), root)
    first = await source.initial()
    assert first.files == {"../certs/tls.crt": b"one"}
    updates = source.updates()
    try:
        await asyncio.sleep(0.1)
        cert.write_bytes(b"two")
        second = await asyncio.wait_for(anext(updates), 5)
        assert second.files == {"../certs/tls.crt": b"two"}
        assert second.objects == first.objects  # the same RawObjects: cheap recompile
    finally:
        await updates.aclose()
        await source.close()


def test_a_half_replaced_pair_keeps_its_old_content_until_the_other_file_follows(
    tmp_path: Path,
) -> None:
    from tests.certs import TestCA

    ca = TestCA()
    first, second = ca.issue("a.test"), ca.issue("a.test")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(first.cert_pem)
    key.write_bytes(first.key_pem)
    objects = [raw(context(cert_chain_file=str(cert), private_key_file=str(key)))]
    files = CertificateFiles()
    files.update(objects)
    cert.write_bytes(second.cert_pem)  # the certificate first: it no longer matches the key
    assert not files.reread() and files.contents[str(cert)] == first.cert_pem
    assert files.changed()  # looked at again
    key.write_bytes(second.key_pem)
    assert files.reread()
    assert (files.contents[str(cert)], files.contents[str(key)]) == (
        second.cert_pem,
        second.key_pem,
    )
    impatient = CertificateFiles(hold_s=0)  # a mismatch that stays is handed on (an error)
    impatient.update(objects)
    cert.write_bytes(first.cert_pem)
    assert impatient.reread() and impatient.contents[str(cert)] == first.cert_pem
    assert impatient.contents[str(key)] == second.key_pem and not impatient.changed()
