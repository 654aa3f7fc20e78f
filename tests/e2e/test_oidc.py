"""OAuth2 Filters (OIDC login) through a real Envoy, without a browser: the redirect to
the real test provider, the whole code flow driven by hand, and broken Filters that
fail closed and are reported (while `run` serves and by `check`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, legation_check, mapping
from tests.e2e.jwks import filter_policy
from tests.e2e.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    OidcProvider,
    bearer_claims,
    client_secret,
    cookie_header,
    log_in,
    oauth2_filter,
    store_cookies,
)

pytestmark = pytest.mark.e2e

CALLBACK = "/.ambassador/oauth2/redirection-endpoint"


def oidc_files(up: EchoUpstream, idp: OidcProvider, origin: str) -> dict[str, str]:
    """Mappings /app/ (login), /open/ (none), /nosecret/ and /badurl/ (broken Filters)."""
    mappings = "".join(
        mapping(name, up.service, f"/{name}/") for name in ("app", "open", "nosecret", "badurl")
    )
    filters = (
        client_secret("idp-client", CLIENT_SECRET)
        + oauth2_filter(
            "login",
            **idp.filter_spec(
                secretName="idp-client",
                protectedOrigins=[{"origin": origin}],
                scopes=["email", "profile"],
            ),
        )
        + oauth2_filter("nosecret", **idp.filter_spec(secretName="missing-secret"))
        + oauth2_filter("badurl", **idp.filter_spec(secret="x", authorizationURL="ftp://idp"))
    )
    policy = filter_policy(
        "policy",
        [
            {"host": "*", "path": "/app/*", "filters": [{"name": "login"}]},
            {"host": "*", "path": "/nosecret/*", "filters": [{"name": "nosecret"}]},
            {"host": "*", "path": "/badurl/*", "filters": [{"name": "badurl"}]},
        ],
    )
    return {"mappings.yaml": mappings, "filters.yaml": filters, "policy.yaml": policy}


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[RunningGateway, OidcProvider, EchoUpstream]]:
    with EchoUpstream("app") as up, OidcProvider() as idp:
        gw = RunningGateway()
        for name, text in oidc_files(up, idp, f"http://127.0.0.1:{gw.http_port}").items():
            gw.write(name, text)
        with gw:
            gw.wait_status("/open/", 200)
            yield gw, idp, up


def test_protected_route_redirects_to_the_provider(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],
) -> None:
    gw, idp, up = setup
    seen = len(up.requests)
    r = gw.get("/app/page?x=1")
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == idp.info["authorization_endpoint"]
    )
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [gw.url(CALLBACK)]
    assert query["response_type"] == ["code"]
    assert query["scope"][0].split() == ["openid", "email", "profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(up.requests) == seen  # the upstream never saw the unauthenticated request


def test_code_flow_forwards_the_token_and_logout_clears_it(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],
) -> None:
    gw, idp, up = setup
    page, jar = log_in(gw, "/app/page", gw.get("/app/page"), "carol", CALLBACK)
    assert page.status_code == 200
    auth = page.json()["headers"]["authorization"]
    claims = bearer_claims(auth)
    assert claims["sub"] == "carol" and claims["iss"] == idp.issuer
    assert up.requests[-1][2]["authorization"] == auth  # what the upstream itself saw
    out = gw.get("/.ambassador/oauth2/logout", headers=cookie_header(jar))
    assert out.status_code == 302
    store_cookies(out, jar)
    again = gw.get("/app/page", headers=cookie_header(jar))
    assert again.status_code == 302 and again.headers["location"].startswith(
        idp.info["authorization_endpoint"]
    )


def test_broken_filters_fail_closed_and_are_reported(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],
) -> None:
    gw, _, up = setup
    seen = len(up.requests)
    for path in ("/nosecret/", "/badurl/"):
        r = gw.get(path)
        assert r.status_code == 503, (path, r.status_code, r.text)
    assert len(up.requests) == seen  # refused by Envoy, never passed upstream
    assert gw.get("/open/").status_code == 200  # other routes keep working
    text = gw.error_lines()
    assert any(
        "Filter/nosecret.default spec.OAuth2.secretName Secret default/missing-secret does not exist"
        in t
        for t in text
    ), text
    assert any("Filter/badurl.default spec.OAuth2.authorizationURL" in t for t in text), text
    assert any(
        "FilterPolicy/policy.default" in t and "Filter/badurl.default cannot work" in t
        for t in text
    ), text


def test_diagnostics_name_each_routes_login(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],
) -> None:
    gw, _, _ = setup
    logins = {r["path"]["value"]: r["oauth2"] for r in gw.overview()["route_info"]}
    assert logins["/app/"] == {
        "mode": "login",
        "login": "login.default",
        "filter": "Filter/login.default",
    }
    assert logins["/open/"] is None
    for path, name in (("/nosecret/", "nosecret"), ("/badurl/", "badurl")):
        assert logins[path]["mode"] == "refused", (path, logins[path])
        assert f"Filter/{name}.default cannot work" in logins[path]["reason"]
    table = gw.diag("/ambassador/v0/diag/routes?json=true").json()["routes"]
    summary = {r["path"]["value"]: r["auth_summary"] for r in table}
    assert summary["/app/"] == "login: login.default" and summary["/open/"] == "none"
    assert summary["/nosecret/"].startswith("login refused (Filter/nosecret.default cannot work")
    html = gw.diag("/ambassador/v0/diag/routes?json=false").text
    assert '<td class="auth">login: login.default</td>' in html


def test_check_reports_broken_filters(tmp_path: Path) -> None:
    with EchoUpstream("app") as up, OidcProvider() as idp:
        for name, text in oidc_files(up, idp, "http://127.0.0.1:8080").items():
            (tmp_path / name).write_text(text)
    code, out = legation_check(tmp_path)
    assert code == 1, out
    assert "filters.yaml" in out and "Filter/nosecret.default" in out
    assert "Secret default/missing-secret does not exist" in out
    assert "expected the issuer as an http:// or https:// URL, got 'ftp://idp'" in out


def test_a_filter_starts_working_when_its_secret_arrives_and_stops_when_it_goes() -> None:
    with EchoUpstream("app") as up, OidcProvider() as idp:
        files = {
            "mappings.yaml": mapping("app", up.service, "/app/")
            + mapping("open", up.service, "/open/"),
            "filters.yaml": oauth2_filter("login", **idp.filter_spec(secretName="idp-client")),
            "policy.yaml": filter_policy(
                "policy", [{"path": "/app/*", "filters": [{"name": "login"}]}]
            ),
        }
        with RunningGateway(files) as gw:
            gw.wait_status("/open/", 200)
            assert gw.get("/app/").status_code == 503  # no Secret yet: closed
            gw.write("secret.yaml", client_secret("idp-client", CLIENT_SECRET))
            gw.wait_status("/app/", 302)
            assert (
                gw.get("/app/").headers["location"].startswith(idp.info["authorization_endpoint"])
            )
            gw.remove("secret.yaml")
            gw.wait_status("/app/", 503)  # closed again, never open
            assert gw.get("/open/").status_code == 200
