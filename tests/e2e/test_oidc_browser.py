"""OIDC login in real headless Chromium: a protected page sends the browser to the real
test provider's login page; signing in there brings it back through the callback to
the page, whose upstream received the user's access token; logout clears the session,
so the next visit goes to the provider again.

Screenshots of the provider's login page and of the logged-in page go to the test's
temporary folder.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway
from tests.e2e.oidc_provider import OidcProvider
from tests.e2e.test_diag_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.e2e.test_oidc import setup  # noqa: F401  (the gateway with the OIDC Filters)

pytestmark = pytest.mark.e2e

SESSION_COOKIE = "BearerToken.login.default"
"""The login's access-token cookie (Envoy's name with the Filter's appended)."""


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return result


def _session(context: Any) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"] == SESSION_COOKIE]


def test_login_forwards_the_token_and_logout_ends_the_session(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],  # noqa: F811
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    gw, idp, up = setup
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    try:
        page.goto(gw.url("/app/page?from=browser"))
        assert page.url.startswith(idp.info["authorization_endpoint"])
        assert page.locator("h1").inner_text() == "Sign in to the test provider"
        page.screenshot(path=str(tmp_path / "provider-login.png"))

        page.fill("#username", "dave")
        with page.expect_navigation(url=gw.url("/app/page?from=browser")):
            page.click("#signin")
        echoed = json.loads(page.locator("body").inner_text())
        page.screenshot(path=str(tmp_path / "logged-in.png"))
        assert echoed["path"] == "/page?from=browser"  # the Mapping rewrites /app/ to /
        bearer = echoed["headers"]["authorization"]
        assert bearer.startswith("Bearer ")
        claims = _claims(bearer.split()[1])
        assert claims["sub"] == "dave" and claims["iss"] == idp.issuer
        assert up.requests[-1][2]["authorization"] == bearer
        assert _session(context) == [SESSION_COOKIE]

        page.goto(gw.url("/app/other"))  # the session holds: no new login
        assert json.loads(page.locator("body").inner_text())["path"] == "/other"

        page.goto(gw.url("/.ambassador/oauth2/logout"))
        assert _session(context) == []
        page.goto(gw.url("/app/page"))
        assert page.url.startswith(idp.info["authorization_endpoint"])
        assert page.locator("h1").inner_text() == "Sign in to the test provider"
    finally:
        context.close()
