"""route_info's `oauth2`: the login a route gets, none, or refused with the reason."""

from __future__ import annotations

from legation.compile.compiler import compile_config
from legation.runtime.state import route_info
from tests.unit.docs import OAUTH2
from tests.unit.docs import raw_doc as _doc


def test_route_info_names_the_login_or_why_it_refuses() -> None:
    objects = [
        _doc("Mapping", name, {"prefix": f"/{name}/", "service": "up"})
        for name in ("a", "open", "broken")
    ]
    objects += [
        _doc("Mapping", "moved", {"prefix": "/moved/", "host_redirect": True, "service": "x.test"}),
        _doc("Filter", "fa", {"OAuth2": {**OAUTH2, "secret": "s"}}),
        _doc("Filter", "fb", {"OAuth2": {**OAUTH2, "secretName": "missing"}}),
        _doc(
            "FilterPolicy",
            "p",
            {
                "rules": [
                    {"path": "/a/*", "filters": [{"name": "fa"}]},
                    {"path": "/moved/*", "filters": [{"name": "fa"}]},
                    {"path": "/broken/*", "filters": [{"name": "fb"}]},
                ]
            },
        ),
    ]
    table = {r["mappings"][0]: r["oauth2"] for r in route_info(compile_config(objects).gateway)}
    assert table["Mapping/a.default"] == {
        "mode": "login",
        "login": "fa.default",
        "filter": "Filter/fa.default",
    }
    assert table["Mapping/open.default"] is None
    assert table["Mapping/moved.default"] is None  # Envoy answers a redirect itself
    broken = table["Mapping/broken.default"]
    assert broken["mode"] == "refused"
    assert "Filter/fb.default" in broken["reason"] and "missing" in broken["reason"]
