"""The route explainer follows Envoy's selection over the compiled IR."""

from __future__ import annotations

from pathlib import Path

from legation.compile.compiler import compile_config
from legation.diag.explain import Request, explain
from legation.sources.files import FolderReader

MATCHING = Path(__file__).parents[2] / "golden" / "matching"


def _explain(method: str, url: str, **headers: str) -> tuple[str | None, list[str]]:
    objects = [o for o in FolderReader(MATCHING).read().objects if o.source.location == "in.yaml"]
    config = compile_config(objects).gateway.route_configs[0]
    answer = explain(config, Request.from_url(method, url, headers))
    winner = answer.winner.mappings[0] if answer.winner else None
    return winner, [v.reason for v in answer.considered if not v.matched]


def test_method_constraint_wins_after_header_route_fails() -> None:
    winner, reasons = _explain("POST", "/orders/1")
    assert winner == "Mapping/post-only.default"
    assert "header x-debug is not = '1'" in reasons


def test_host_selects_virtual_host_with_port() -> None:
    assert _explain("GET", "/x", host="api.example.com:8443")[0] == "Mapping/host.default"
    assert _explain("GET", "/x", host="www.example.org")[0] == "Mapping/wildcard-host.default"


def test_no_match_is_none() -> None:
    winner, reasons = _explain("GET", "/nothing-here")
    assert winner is None
    assert reasons


def test_case_insensitive_prefix() -> None:
    assert _explain("GET", "/caseless/x")[0] == "Mapping/insensitive.default"


def test_regex_path_must_match_whole_path() -> None:
    assert _explain("GET", "/users/7/profile")[0] == "Mapping/regex.default"
    assert _explain("GET", "/users/7/profile/more")[0] is None
