"""The diagnostics UI in real headless Chromium: see a broken resource's error with its
file and line, follow it to the detail page, ask the route tester, change a log level.

Screenshots of the overview and the route table go to the test's temporary folder, and
to docs/images/ when LEGATION_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.test_diag_json import BROKEN, annotated

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DOCS_IMAGES = Path(__file__).parents[2] / "docs" / "images"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: apt-get install -y chromium (`make test` does, as root)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def gw() -> Iterator[RunningGateway]:
    with EchoUpstream("shop") as up:
        files = {
            "good.yaml": mapping("good", up.service, "/good/", headers={"x-env": "prod"}),
            "canary.yaml": mapping(
                "canary", up.service, "/good/", headers={"x-env": "prod"}, weight=20
            ),
            "orders.yaml": mapping("orders", up.service, "/orders/", method="POST", precedence=10),
            "down.yaml": mapping("legacy", "127.0.0.1:1", "/legacy/"),
            "broken.yaml": BROKEN,
            "svc.yaml": annotated(up.service),
        }
        with RunningGateway(files) as running:
            for path, headers in (
                ("/good/a", {"x-env": "prod"}),
                ("/quote/", {}),
                ("/legacy/", {}),
            ):
                running.get(path, headers=headers)
            yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    yield context.new_page()
    context.close()


def _screenshot(page: Any, name: str, tmp_path: Path) -> None:
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("LEGATION_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_IMAGES / f"diag-{name}.png")


def test_error_links_to_detail_page(gw: RunningGateway, page: Any, tmp_path: Path) -> None:
    page.goto(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/")
    errors = page.locator("#errors")
    assert "broken.yaml:9" in errors.inner_text()
    assert "spec.prefx" in errors.inner_text() and "did you mean 'prefix'" in errors.inner_text()
    assert "annotation getambassador.io/config[1]" in errors.inner_text()
    _screenshot(page, "overview", tmp_path)
    page.locator("#errors a", has_text="Mapping/broken.default").click()
    page.wait_for_url("**/resource/Mapping/broken.default")
    assert "not in use" in page.inner_text("main")
    assert "prefx: /oops/" in page.locator("pre.input").inner_text()
    assert "broken.yaml:9" in page.locator("#problems").inner_text()


def test_route_table_shows_colours_and_links(gw: RunningGateway, page: Any, tmp_path: Path) -> None:
    page.goto(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/routes")
    table = page.locator("#routes").inner_text()
    assert "80%" in table and "20%" in table and "header x-env = prod" in table
    assert page.locator("#routes tr.route .dot.red").count() >= 1  # the unreachable upstream
    assert page.locator("#routes tr.route .dot.green").count() >= 1
    _screenshot(page, "routes", tmp_path)
    page.locator("#routes a", has_text="Mapping/quote.shop").click()
    page.wait_for_url("**/resource/Mapping/quote.shop")
    assert "getambassador.io/config[0]" in page.inner_text("main")


def test_route_tester_names_the_winner_and_why_not(gw: RunningGateway, page: Any) -> None:
    page.goto(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/")
    page.get_by_role("link", name="Route tester").click()
    page.fill("input[name=path]", "/good/x")
    page.fill("textarea[name=headers]", "x-env: dev")
    page.click("#tester button")
    answer = page.locator("#answer").inner_text()
    assert "No route matches" in answer and "header x-env is not = 'prod'" in answer
    page.select_option("select[name=method]", "POST")
    page.fill("input[name=path]", "/orders/1")
    page.fill("textarea[name=headers]", "")
    page.click("#tester button")
    winner = page.locator("#answer .winner").inner_text()
    assert "Mapping/orders.default" in winner
    page.fill("input[name=path]", "/quote/")
    page.select_option("select[name=method]", "GET")
    page.click("#tester button")
    answer = page.locator("#answer").inner_text()
    assert "Served by Mapping/quote.shop" in answer
    assert "path '/quote/' does not match prefix '/orders/'" in answer


def test_log_level_form(gw: RunningGateway, page: Any) -> None:
    page.goto(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/")
    page.select_option("select[name=component]", "envoy")
    page.select_option("select[name=level]", "debug")
    page.click("form[action$=loglevel] button")
    assert "Envoy: debug" in page.locator("#levels").inner_text()


def test_certificates_page_lists_and_links_certificates(page: Any, tmp_path: Path) -> None:
    from tests.certs import TestCA
    from tests.e2e.tls import host, tls_secret

    ca = TestCA()
    files = {"tls.yaml": tls_secret("shop-tls", ca.issue("shop.example.com")) + host(
        "shop", "shop.example.com", "shop-tls")}  # fmt: skip
    with RunningGateway(files) as gw:
        page.goto(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/")
        page.locator("nav a", has_text="Certificates").click()
        page.wait_for_url("**/diag/certificates")
        table = page.locator("#certificates").inner_text()
        assert "CN=shop.example.com" in table and "CN=legation test CA" in table
        assert "expires in" in table  # test certificates live 5 days: flagged
        _screenshot(page, "certificates", tmp_path)
        page.locator("#certificates a", has_text="Secret/shop-tls.default").click()
        page.wait_for_url("**/resource/Secret/shop-tls.default")
        assert "<redacted>" in page.inner_text("main")
