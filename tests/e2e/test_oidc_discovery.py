"""OAuth2 Filters that name only their issuer, through a real Envoy with the real test
provider: legation fetches its discovery document, the login goes to the endpoints it
gives (redirect and the whole code flow, no browser), and a Filter whose document
cannot be had is reported on `authorizationURL` and fails closed, while `run` serves
and by `check`."""

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
    log_in,
    oauth2_filter,
)

pytestmark = pytest.mark.e2e

CALLBACK = "/.ambassador/oauth2/redirection-endpoint"


def discovery_files(up: EchoUpstream, idp: OidcProvider) -> dict[str, str]:
    """/app/ behind a Filter with only the issuer, /wrong/ behind one whose issuer has
    no discovery document (the provider answers 404), /open/ with no login."""
    mappings = "".join(mapping(n, up.service, f"/{n}/") for n in ("app", "wrong", "open"))
    only_issuer = {"clientID": CLIENT_ID, "secret": CLIENT_SECRET}
    filters = oauth2_filter("login", authorizationURL=idp.issuer, **only_issuer)
    filters += oauth2_filter("wrong", authorizationURL=idp.issuer + "/nowhere", **only_issuer)
    policy = filter_policy(
        "policy",
        [
            {"host": "*", "path": "/app/*", "filters": [{"name": "login"}]},
            {"host": "*", "path": "/wrong/*", "filters": [{"name": "wrong"}]},
        ],
    )
    return {"mappings.yaml": mappings, "filters.yaml": filters, "policy.yaml": policy}


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[RunningGateway, OidcProvider, EchoUpstream]]:
    with EchoUpstream("app") as up, OidcProvider() as idp, RunningGateway(
        discovery_files(up, idp)
    ) as gw:  # fmt: skip
        gw.wait_status("/open/", 200)
        yield gw, idp, up


def test_the_login_goes_to_the_endpoints_of_the_discovery_document(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],
) -> None:
    gw, idp, up = setup
    seen = len(up.requests)
    first = gw.get("/app/page")
    assert first.status_code == 302, (first.status_code, first.text)
    location = urlsplit(first.headers["location"])
    endpoint = f"{location.scheme}://{location.netloc}{location.path}"
    assert endpoint == idp.info["authorization_endpoint"]  # what the provider's document says
    assert parse_qs(location.query)["client_id"] == [CLIENT_ID]
    assert len(up.requests) == seen
    # the code flow: the code is exchanged at the token endpoint the document names
    page, _ = log_in(gw, "/app/page", first, "dave", CALLBACK)
    assert page.status_code == 200
    claims = bearer_claims(page.json()["headers"]["authorization"])
    assert claims["sub"] == "dave" and claims["iss"] == idp.issuer


def test_a_filter_without_a_document_is_reported_and_fails_closed(
    setup: tuple[RunningGateway, OidcProvider, EchoUpstream],
) -> None:
    gw, idp, up = setup
    seen = len(up.requests)
    assert gw.get("/wrong/").status_code == 503
    assert len(up.requests) == seen
    assert gw.get("/open/").status_code == 200  # the rest keeps working
    document = f"{idp.issuer}/nowhere/.well-known/openid-configuration"
    expected = (
        "Filter/wrong.default spec.OAuth2.authorizationURL "
        f"cannot use the discovery document {document}: answered HTTP 404"
    )
    lines = gw.error_lines()
    assert expected in lines, lines
    assert not any("Filter/login.default" in t for t in lines), lines


def test_check_fetches_the_documents_too(tmp_path: Path) -> None:
    with EchoUpstream("app") as up, OidcProvider() as idp:
        for name, text in discovery_files(up, idp).items():
            (tmp_path / name).write_text(text)
        code, out = legation_check(tmp_path)
        assert code == 1, out
        assert "Filter/wrong.default" in out and "answered HTTP 404" in out, out
        assert "Filter/login.default" not in out, out
    code, out = legation_check(tmp_path)  # the provider is gone: login has no document
    assert code == 1 and "Filter/login.default" in out, out
    assert f"{idp.issuer}/.well-known/openid-configuration: cannot be fetched" in out, out
