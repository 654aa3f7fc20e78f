"""Discovery documents fetched at the edge: from a real loopback HTTP server, under a
real folder source; what each failure becomes, retries, refreshes and the stale case."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml

from legation.compile.compiler import compile_config
from legation.ir.provenance import Source
from legation.model.oidc_discovery import OidcDiscovery
from legation.model.raw import RawObject
from legation.sources.folder import FolderSource
from legation.sources.oidc_discovery import PENDING, WithDiscovery, fetch_discovery_once
from legation.sources.snapshot import Snapshot
from tests.e2e.helpers import free_port
from tests.e2e.servers import QuietHandler, ServedInThread, http_server


class DiscoveryServer(ServedInThread):
    """Serves `/oidc/.well-known/openid-configuration` with whatever `answer` holds
    (status, body), after `delay` seconds; counts the requests."""

    def __init__(self) -> None:
        owner = self
        self.answer: tuple[int, bytes] = (404, b"")
        self.delay = 0.0
        self.hits = 0

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                time.sleep(owner.delay)
                if self.path != "/oidc/.well-known/openid-configuration":
                    self.reply(404, b"", {})
                    return
                status, body = owner.answer
                self.reply(status, body, {"content-type": "application/json"})

        server = http_server(Handler)
        self.issuer = f"http://127.0.0.1:{server.server_address[1]}/oidc"
        self._serve_in_thread(server)

    def document(self, **fields: str) -> bytes:
        """A valid discovery document of this issuer, with `fields` changed."""
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
        }
        return json.dumps({**doc, **fields}).encode()

    def good(self, **fields: str) -> None:
        """Serve a valid document from now on."""
        self.answer = (200, self.document(**fields))


@pytest.fixture
def idp() -> Iterator[DiscoveryServer]:
    with DiscoveryServer() as server:
        yield server


def login_filter(issuer: str, name: str = "login") -> str:
    """A Filter naming only its issuer, and a Mapping."""
    docs = [
        {
            "apiVersion": "getambassador.io/v3alpha1",
            "kind": "Filter",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"OAuth2": {"authorizationURL": issuer, "clientID": "c", "secret": "s"}},
        },
        {
            "apiVersion": "getambassador.io/v3alpha1",
            "kind": "Mapping",
            "metadata": {"name": f"{name}-app", "namespace": "default"},
            "spec": {"prefix": f"/{name}/", "service": "up"},
        },
    ]
    return yaml.safe_dump_all(docs)


def errors(snapshot: Snapshot) -> list[str]:
    """The errors compile finds in the snapshot, as `field: message`."""
    result = compile_config(snapshot.objects, discovery=snapshot.discovery)
    return [f"{p.field}: {p.message}" for p in result.errors]


def raw_objects(text: str) -> list[RawObject]:
    return [RawObject(doc=d, source=Source("x.yaml", 1)) for d in yaml.safe_load_all(text)]


def test_one_shot_fetch_names_what_went_wrong(idp: DiscoveryServer) -> None:
    objects = raw_objects(login_filter(idp.issuer))
    cases: list[tuple[tuple[int, bytes], str]] = [
        ((404, b"not here"), "answered HTTP 404"),
        ((200, b"<html>"), "is not JSON ("),
        ((200, idp.document(issuer="http://other.test")), "names issuer 'http://other.test'"),
    ]
    for answer, expected in cases:
        idp.answer = answer
        [(issuer, got)] = fetch_discovery_once(objects).items()
        assert issuer == idp.issuer and isinstance(got, str) and got.startswith(expected), got
    idp.good()
    assert fetch_discovery_once(objects) == {
        idp.issuer: OidcDiscovery(idp.issuer + "/authorize", idp.issuer + "/token")
    }
    idp.delay = 1.0
    assert fetch_discovery_once(objects, timeout_s=0.2) == {idp.issuer: "no answer within 0.2 s"}
    idp.delay = 0.0
    gone = f"http://127.0.0.1:{free_port()}/oidc"
    [reason] = fetch_discovery_once(raw_objects(login_filter(gone))).values()
    assert isinstance(reason, str) and reason.startswith("cannot be fetched (ConnectError"), reason


async def watched(root: Path, **options: float) -> AsyncIterator[Snapshot]:
    """The wrapper over a real folder source: the initial snapshot, then the updates."""
    source = WithDiscovery(
        FolderSource(root, debounce_ms=20),
        refresh_s=options.get("refresh_s", 300),
        timeout_s=options.get("timeout_s", 5),
        retry_s=(0.05, 0.2),
        update_wait_s=options.get("update_wait_s", 0.5),
    )
    updates = source.updates()
    try:
        yield await source.initial()
        while True:
            yield await asyncio.wait_for(anext(updates), 5)
    finally:
        await updates.aclose()
        await source.close()


async def test_an_error_on_the_filter_until_a_good_document_then_stale_on_failure(
    tmp_path: Path, idp: DiscoveryServer
) -> None:
    (tmp_path / "login.yaml").write_text(login_filter(idp.issuer))
    snapshots = watched(tmp_path, refresh_s=0.1)
    try:
        first = await anext(snapshots)
        assert first.discovery == {idp.issuer: "answered HTTP 404"}
        document = f"{idp.issuer}/.well-known/openid-configuration"
        assert errors(first) == [
            f"spec.OAuth2.authorizationURL: cannot use the discovery document {document}: "
            "answered HTTP 404"
        ]
        idp.answer = (200, idp.document(issuer="http://127.0.0.1:1/elsewhere"))
        mismatch = await anext(snapshots)
        assert "names issuer 'http://127.0.0.1:1/elsewhere'" in str(mismatch.discovery)
        assert mismatch.objects == first.objects  # the same objects: a cheap rebuild
        idp.good()
        fixed = await anext(snapshots)
        assert fixed.discovery[idp.issuer] == OidcDiscovery(
            idp.issuer + "/authorize", idp.issuer + "/token"
        )
        assert errors(fixed) == []
        idp.answer = (503, b"")  # a refresh fails: the good document stays, marked stale
        stale = await anext(snapshots)
        kept = stale.discovery[idp.issuer]
        assert isinstance(kept, OidcDiscovery) and kept.stale == "answered HTTP 503"
        assert errors(stale) == []
        idp.good(token_endpoint=idp.issuer + "/token2")  # a refresh sees the new endpoint
        moved = await anext(snapshots)
        assert moved.discovery[idp.issuer] == OidcDiscovery(
            idp.issuer + "/authorize", idp.issuer + "/token2"
        )
    finally:
        await snapshots.aclose()


async def test_a_slow_provider_holds_up_nothing_else(tmp_path: Path, idp: DiscoveryServer) -> None:
    idp.good()
    (tmp_path / "login.yaml").write_text(login_filter(idp.issuer))
    snapshots = watched(tmp_path, timeout_s=2, update_wait_s=0.1)
    try:
        first = await anext(snapshots)
        assert isinstance(first.discovery[idp.issuer], OidcDiscovery)
        hits = idp.hits
        idp.delay = 3.0  # the provider now hangs: only a new issuer would ask it
        with DiscoveryServer() as other:  # a second provider that hangs
            other.delay = 3.0
            started = time.monotonic()
            (tmp_path / "other.yaml").write_text(login_filter(other.issuer, "other"))
            changed = await anext(snapshots)
            assert time.monotonic() - started < 1.5  # not held up by the hanging fetch
            assert changed.discovery[other.issuer] == PENDING
            assert isinstance(changed.discovery[idp.issuer], OidcDiscovery)  # not re-fetched
            assert idp.hits == hits
            assert any("has not been fetched yet" in e for e in errors(changed))
            (tmp_path / "other.yaml").unlink()  # the Filter goes: so does its issuer
            gone = await anext(snapshots)
            assert list(gone.discovery) == [idp.issuer]
    finally:
        await snapshots.aclose()
