"""Bad input while serving: each problem is reported, every other route keeps working,
and legation never crashes."""

from __future__ import annotations

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

BAD_FILES = {
    "syntax.yaml": (
        "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: [\n",
        None,
        "invalid YAML",
    ),
    "unknown-field.yaml": (None, "spec.prefx", "unknown field"),
    "wrong-type.yaml": (None, "spec.precedence", "valid integer"),
    "no-service.yaml": (None, "spec.service", "required field is missing"),
}


def bad_text(name: str, service: str) -> str:
    if name == "unknown-field.yaml":
        return mapping("unknown-field", service, "/u/", prefx="/x/")
    if name == "wrong-type.yaml":
        return mapping("wrong-type", service, "/w/", precedence="high")
    if name == "no-service.yaml":
        return mapping("no-service", service, "/n/").replace(f"  service: {service}\n", "")
    return BAD_FILES[name][0] or ""


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_bad_file_is_reported_and_good_routes_keep_working(bad: str) -> None:
    with (
        EchoUpstream("good") as up,
        RunningGateway({"good.yaml": mapping("good", up.service, "/good/")}) as gw,
    ):
        gw.write(bad, bad_text(bad, up.service))

        def reported() -> list[dict[str, object]]:
            return [e for e in gw.overview()["errors"] if str(e["source"]).startswith(bad)]

        errors = poll(reported)
        _, field, message = BAD_FILES[bad]
        assert any(message in str(e["message"]) for e in errors), errors
        if field:
            assert any(e["field"] == field for e in errors), errors
            assert all(e["line"] for e in errors)
        assert gw.get("/good/").status_code == 200
        # a later good change still applies (the bad file does not block anything)
        gw.write("later.yaml", mapping("later", up.service, "/later/"))
        gw.wait_status("/later/", 200)
        # fixing the bad file clears its error
        gw.write(bad, mapping("fixed", up.service, "/fixed/"))
        gw.wait_status("/fixed/", 200)
        assert not reported()
        assert gw.proc is not None and gw.proc.poll() is None
        assert gw.diag("/ambassador/v0/check_alive").status_code == 200
