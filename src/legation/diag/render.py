"""One page, two forms: server-rendered HTML (Jinja2) or the same data as JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

DIAG_PREFIX = "/ambassador/v0/diag"
"""Where every diagnostics page lives."""


def resource_url(key: str) -> str:
    """Link to a resource's detail page (`Kind/name.namespace`)."""
    return f"{DIAG_PREFIX}/resource/{quote(key, safe='/.')}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("legation.diag", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["prefix"] = DIAG_PREFIX
    env.globals["resource_url"] = resource_url
    env.filters["short_type"] = lambda url: str(url).rsplit(".", 1)[-1]
    return env


_ENV = _environment()


def wants_json(request: Request) -> bool:
    """`?json=true` asks for JSON, `?json=false` for HTML; without it, a client that
    does not ask for HTML (curl, scripts, the CLI) gets JSON and a browser gets HTML."""
    flag = request.query_params.get("json")
    if flag is not None:
        return flag.lower() in ("1", "true", "yes")
    return "text/html" not in request.headers.get("accept", "")


def page(
    request: Request, template: str, data: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Answer with `data` as JSON, or rendered with `template` (which sees `data` as `d`)."""
    if wants_json(request):
        return JSONResponse(data, status_code=status_code)
    html = _ENV.get_template(template).render(d=data, request_path=request.url.path)
    return HTMLResponse(html, status_code=status_code)
