"""OpenID providers' discovery documents: fetched at the edge, kept fresh, handed on.

An OAuth2 Filter that names only its issuer (`authorizationURL`, without
`authorizationEndpoint` / `tokenEndpoint`) takes the provider's endpoints from
`<issuer>/.well-known/openid-configuration`. Compile never opens a connection: this
module fetches the documents and hands them to compile in the snapshot
(`Snapshot.discovery`), the way cert_files.py hands in certificate files.

`WithDiscovery` wraps any source. Each issuer its Filters need gets a task that fetches
the document (a `FETCH_TIMEOUT_S` limit, the system's CAs for https, as the token
endpoint's cluster), again every `REFRESH_S`, and after a failure again with a backoff
(`RETRY_MIN_S` doubling to `RETRY_MAX_S`). A new result gives a new snapshot with the
same objects. A failure before any good document is handed on as the reason (an error
on the Filter, whose routes fail closed); a failure after one keeps the last good
document, marked stale (a notice), so a provider's hiccup does not end logins. One
slow or failing provider holds up nothing else: the snapshots of a changed
configuration wait at most `UPDATE_WAIT_S` for the documents of new issuers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from legation.ir.errors import ConfigProblem
from legation.model.oidc_discovery import (
    OidcDiscovery,
    discovery_url,
    issuers_needing_discovery,
    parse_discovery,
)
from legation.model.raw import RawObject
from legation.sources.base import ConfigSource
from legation.sources.snapshot import Snapshot

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0
"""The whole fetch of one document (connect, TLS, answer) must fit in this."""

REFRESH_S = 300.0
"""A good document is fetched again this often (providers rotate endpoints rarely)."""

RETRY_MIN_S = 1.0
RETRY_MAX_S = 60.0
"""After a failed fetch, the next comes after RETRY_MIN_S, doubling up to RETRY_MAX_S."""

UPDATE_WAIT_S = 0.5
"""How long a changed configuration's snapshot waits for the documents of issuers it
names for the first time (the first snapshot waits up to the fetch timeout)."""

MAX_DOCUMENT_SIZE = 1024 * 1024
"""A discovery document larger than this is refused (a few kilobytes are usual)."""

PENDING = "has not been fetched yet"
"""The reason handed on for an issuer whose first fetch has not finished."""


def _client(timeout_s: float) -> httpx.AsyncClient:
    """An HTTP client that checks https against the system's CAs, like Envoy's
    token-endpoint cluster, and follows no redirects (the document is at its URL)."""
    import httpx

    return httpx.AsyncClient(
        verify=ssl.create_default_context(), timeout=timeout_s, follow_redirects=False
    )


async def fetch_discovery(
    client: httpx.AsyncClient, issuer: str, timeout_s: float = FETCH_TIMEOUT_S
) -> OidcDiscovery | str:
    """The issuer's discovery document, or what went wrong (never raises)."""
    import httpx

    url = discovery_url(issuer)
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("GET", url, headers={"accept": "application/json"}) as r:
                if r.status_code != 200:
                    return f"answered HTTP {r.status_code}"
                body = b""
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_SIZE:
                        return f"is larger than {MAX_DOCUMENT_SIZE} bytes"
    except (TimeoutError, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s"
    except (httpx.HTTPError, OSError) as exc:  # refused, reset, bad certificate, ...
        return f"cannot be fetched ({type(exc).__name__}: {exc})"
    except (httpx.InvalidURL, ValueError) as exc:  # compile reports the URL itself too
        return f"has no valid URL ({exc})"
    return parse_discovery(issuer, body)


def fetch_discovery_once(
    objects: Iterable[RawObject], timeout_s: float = FETCH_TIMEOUT_S
) -> dict[str, OidcDiscovery | str]:
    """Once, for `legation check` and the other one-shot commands: the documents of the
    issuers `objects` need, fetched side by side (nothing imported when there are none)."""
    issuers = issuers_needing_discovery(o.doc for o in objects)
    if not issuers:
        return {}

    async def fetch_all() -> list[OidcDiscovery | str]:
        async with _client(timeout_s) as client:
            return list(
                await asyncio.gather(*(fetch_discovery(client, i, timeout_s) for i in issuers))
            )

    return dict(zip(issuers, asyncio.run(fetch_all()), strict=True))


@dataclasses.dataclass
class _Provider:
    """One issuer's latest result and the task that keeps it fresh."""

    task: asyncio.Task[None] | None = None
    result: OidcDiscovery | str | None = None
    fetched: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    """Set once the first fetch has finished, well or not."""


class WithDiscovery:
    """A `ConfigSource` that adds the discovery documents its OAuth2 Filters need, and
    a new snapshot (the same objects) whenever one of them changes."""

    def __init__(
        self,
        inner: ConfigSource,
        refresh_s: float = REFRESH_S,
        timeout_s: float = FETCH_TIMEOUT_S,
        retry_s: tuple[float, float] = (RETRY_MIN_S, RETRY_MAX_S),
        update_wait_s: float = UPDATE_WAIT_S,
    ) -> None:
        """Wrap `inner`; the intervals are parameters so tests can shorten them."""
        self.inner = inner
        self.refresh_s, self.timeout_s, self.retry_s = refresh_s, timeout_s, retry_s
        self.update_wait_s = update_wait_s
        self._providers: dict[str, _Provider] = {}
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._last: Snapshot | None = None

    @property
    def description(self) -> str:
        """The wrapped source's description."""
        return self.inner.description

    def discovered(self) -> dict[str, OidcDiscovery | str]:
        """Every needed issuer's latest result (PENDING before its first fetch)."""
        return {i: PENDING if p.result is None else p.result for i, p in self._providers.items()}

    async def _keep_fresh(self, issuer: str, provider: _Provider) -> None:
        """Fetch the issuer's document now, again every `refresh_s`, sooner on failure."""
        failures = 0
        while True:
            if self._client is None:
                self._client = _client(self.timeout_s)
            try:
                got = await fetch_discovery(self._client, issuer, self.timeout_s)
            except Exception:  # a bug must not end the refreshing (nor the gateway)
                log.exception("fetching the discovery document of %s failed", issuer)
                got = "could not be fetched (an internal error, in the log)"
            if isinstance(got, str):
                failures += 1
                delay = min(self.retry_s[1], self.retry_s[0] * 2 ** (failures - 1))
                log.warning(
                    "discovery document %s %s; trying again in %g s",
                    discovery_url(issuer), got, delay,
                )  # fmt: skip
                if isinstance(provider.result, OidcDiscovery):  # keep the last good one
                    got = dataclasses.replace(provider.result, stale=got)
            else:
                failures, delay = 0, self.refresh_s
            if got != provider.result:
                provider.result = got
                self._wake.set()
            provider.fetched.set()
            await asyncio.sleep(delay)

    async def _follow_issuers(self, objects: Sequence[RawObject], wait_s: float) -> None:
        """Start keeping the newly needed issuers fresh (waiting up to `wait_s` for
        their first documents) and stop for those no longer needed."""
        needed = issuers_needing_discovery(o.doc for o in objects)
        for issuer in set(self._providers) - set(needed):
            task = self._providers.pop(issuer).task
            if task is not None:
                task.cancel()
        new = [i for i in needed if i not in self._providers]
        for issuer in new:
            provider = self._providers[issuer] = _Provider()
            provider.task = asyncio.create_task(
                self._keep_fresh(issuer, provider), name=f"oidc-discovery {issuer}"
            )
        if new:
            waits = (self._providers[i].fetched.wait() for i in new)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), wait_s)

    async def _attach(self, snapshot: Snapshot, wait_s: float) -> Snapshot:
        await self._follow_issuers(snapshot.objects, wait_s)
        self._last = dataclasses.replace(snapshot, discovery=self.discovered())
        return self._last

    async def initial(self) -> Snapshot:
        """The wrapped source's first snapshot, with the documents it needs (each
        waited for up to the fetch timeout: nothing is served before this)."""
        return await self._attach(await self.inner.initial(), self.timeout_s + 0.5)

    async def updates(self) -> AsyncGenerator[Snapshot, None]:
        """The wrapped source's snapshots, and one more whenever a document changes."""
        latest: list[Snapshot] = []

        async def follow() -> None:
            async for snapshot in self.inner.updates():
                latest[:] = [snapshot]
                self._wake.set()

        task = asyncio.create_task(follow(), name="source-updates")
        task.add_done_callback(lambda _: self._wake.set())
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if latest:
                    yield await self._attach(latest.pop(), self.update_wait_s)
                elif task.done():
                    task.result()  # the wrapped source ended: so do we (or raise its error)
                    return
                elif self._last is not None and self.discovered() != self._last.discovery:
                    log.info("discovery document changed; rebuilding")
                    self._last = dataclasses.replace(self._last, discovery=self.discovered())
                    yield self._last
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def report(self, problems: Sequence[ConfigProblem]) -> None:
        """Passed on to the wrapped source."""
        self.inner.report(problems)

    def publish_limiter(self, files: Mapping[str, str]) -> None:
        """Passed on to the wrapped source."""
        self.inner.publish_limiter(files)

    def role(self) -> str:
        """The wrapped source's write-back role (see `WatchedFiles.role`)."""
        role = getattr(self.inner, "role", None)
        return str(role()) if callable(role) else "none"

    async def close(self) -> None:
        """Stop fetching, then close the wrapped source."""
        tasks = [p.task for p in self._providers.values() if p.task is not None]
        self._providers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self.inner.close()
