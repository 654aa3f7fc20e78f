"""The diagnostics HTTP app (Starlette): probes, metrics, the web UI and its JSON.

Probes and `/metrics` answer anyone; the read-only views answer loopback clients
unless the ambassador Module allows others (see `access`); the log-level endpoint
answers loopback clients only, and only with a same-origin `Origin`. The views and
the log-level endpoint answer only a `Host` that names this gateway (421 otherwise).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from legation.diag import pages
from legation.diag.access import host_allowed, is_loopback, may_view, same_origin
from legation.diag.observability import exporter_notes, exporter_stats, observability_config
from legation.diag.render import DIAG_PREFIX, page
from legation.diag.state import DiagState
from legation.diag.upstreams import fetch_health

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Handler = Callable[[Request], Awaitable[Response]]


def misdirected(request: Request) -> Response:
    """421 for a `Host` that does not name this gateway, saying what would do."""
    host = request.headers.get("host", "")
    return PlainTextResponse(
        f"Host {host!r} does not name this gateway: the diagnostics answer only Host "
        "localhost, an IP address, or a name given with --diag-allowed-host "
        "(protection against DNS rebinding)\n",
        status_code=421,
    )


def build_app(
    state: DiagState, *, allow_non_local: bool = False, allowed_hosts: Collection[str] = ()
) -> Starlette:
    """The ASGI app serving probes, metrics and diagnostics for `state`.

    `allow_non_local` opens the read-only views to every client regardless of the
    Module (for tests and special deployments). `allowed_hosts` are names, besides
    `localhost` and IP addresses, that a `Host` header may give for the views.
    """
    names = frozenset(h.strip().lower().rstrip(".") for h in allowed_hosts)

    def same_host(handler: Handler) -> Handler:
        """Refuse requests whose `Host` does not name this gateway."""

        async def guarded(request: Request) -> Response:
            if not host_allowed(request, names):
                return misdirected(request)
            return await handler(request)

        return guarded

    def view(handler: Handler) -> Handler:
        """Refuse clients that may not see the diagnostics views."""

        @same_host
        async def guarded(request: Request) -> Response:
            if not may_view(request, state.settings(), force_allow=allow_non_local):
                return PlainTextResponse(
                    "diagnostics are only served to loopback clients "
                    "(ambassador Module: diagnostics.allow_non_local)\n",
                    status_code=403,
                )
            return await handler(request)

        return guarded

    async def check_alive(request: Request) -> Response:
        ok = state.alive()
        return PlainTextResponse("alive\n" if ok else "not alive\n", status_code=200 if ok else 503)

    async def check_ready(request: Request) -> Response:
        ok = state.ready()
        return PlainTextResponse("ready\n" if ok else "not ready\n", status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        envoy = await state.envoy_admin("/stats/prometheus")
        text = envoy[1] if envoy is not None and envoy[0] == 200 else ""
        if text and not text.endswith("\n"):
            text += "\n"
        body = text.encode() + state.metrics()
        return Response(body, media_type=PROMETHEUS_CONTENT_TYPE)

    # Pages are built and rendered in a worker thread: a large configuration takes a
    # while to render, and the probes and xDS on the event loop must not wait for it.
    async def overview(request: Request) -> Response:
        health = await fetch_health(state.envoy_admin)
        exporters = await exporter_stats(state.envoy_admin, observability_config(state.gateway()))
        return await run_in_threadpool(
            lambda: page(request, "overview.html", pages.overview_data(state, health, exporters))
        )

    async def routes(request: Request) -> Response:
        health = await fetch_health(state.envoy_admin)
        return await run_in_threadpool(
            lambda: page(request, "routes.html", pages.routes_data(state, health))
        )

    async def clusters(request: Request) -> Response:
        health = await fetch_health(state.envoy_admin)
        return await run_in_threadpool(
            lambda: page(request, "clusters.html", pages.clusters_data(state, health))
        )

    async def certificates(request: Request) -> Response:
        return await run_in_threadpool(
            lambda: page(request, "certificates.html", pages.certificates_data(state))
        )

    async def resource(request: Request) -> Response:
        key = request.path_params["key"]
        note = None
        if key.startswith(("TracingService/", "LogService/")):  # Envoy's view of its exports
            config = observability_config(state.gateway())
            exporters = await exporter_stats(state.envoy_admin, config)
            note = exporter_notes(config, exporters).get(key)

        def build() -> Response:
            data = pages.resource_data(state, key)
            if data is None:
                return page(request, "missing.html", {"key": key}, status_code=404)
            if note is not None:
                data.setdefault("problems", []).append(pages.envoy_note(key, note))
            return page(request, "resource.html", data)

        return await run_in_threadpool(build)

    async def tester(request: Request) -> Response:
        return await run_in_threadpool(
            lambda: page(request, "tester.html", pages.tester_data(state, request.query_params))
        )

    @same_host
    async def loglevel(request: Request) -> Response:
        if not is_loopback(request):
            return PlainTextResponse(
                "log levels can only be changed from loopback\n", status_code=403
            )
        if not same_origin(request):
            host = request.headers.get("host", "")
            return PlainTextResponse(
                f"refused: changing log levels needs an Origin header equal to "
                f"http://{host} (a page of another site cannot send it; "
                "`legation loglevel` does)\n",
                status_code=403,
            )
        params = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl((await request.body()).decode()))
        component = params.get("component", "all")
        try:
            levels = await state.set_log_level(component, params.get("level", ""))
        except ValueError as exc:
            return page(request, "loglevel.html", {"error": str(exc)}, status_code=400)
        return page(request, "loglevel.html", {"error": None, "levels": levels})

    async def to_overview(request: Request) -> Response:
        suffix = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{DIAG_PREFIX}/{suffix}", status_code=308)

    return Starlette(
        routes=[
            Route("/ambassador/v0/check_alive", check_alive),
            Route("/ambassador/v0/check_ready", check_ready),
            Route("/metrics", metrics),
            Route(DIAG_PREFIX, same_host(to_overview)),
            Route(f"{DIAG_PREFIX}/", view(overview)),
            Route(f"{DIAG_PREFIX}/routes", view(routes)),
            Route(f"{DIAG_PREFIX}/clusters", view(clusters)),
            Route(f"{DIAG_PREFIX}/certificates", view(certificates)),
            Route(f"{DIAG_PREFIX}/resource/{{key:path}}", view(resource)),
            Route(f"{DIAG_PREFIX}/explain", view(tester)),
            Route(f"{DIAG_PREFIX}/loglevel", loglevel, methods=["POST"]),
        ]
    )
