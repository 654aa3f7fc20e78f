"""The resource page never expands a document without bound (alias bombs, huge documents)."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from legation.diag.app import build_app
from legation.diag.bounded import MAX_CHARS, MAX_ITEMS, MAX_STRING, MAX_YAML, shown_document
from tests.unit.diag.fake import FakeState, write_config

BOUND = 2 * MAX_CHARS + MAX_YAML  # JSON of the data plus its YAML, with room for markup


def alias_bomb(levels: int = 9, width: int = 10) -> Any:
    """What YAML's `a: &a [x, x, ...]; b: &b [*a, *a, ...]; ...` loads to: shared lists,
    width**levels leaves once walked (10**9 here)."""
    node: Any = ["lol"] * width
    for _ in range(levels):
        node = [node] * width
    return {"kind": "Mapping", "spec": {"headers": node}}


def test_an_alias_bomb_is_shown_bounded_and_quickly() -> None:
    started = time.perf_counter()
    shown = shown_document(alias_bomb())
    assert time.perf_counter() - started < 2.0
    assert len(json.dumps(shown.data)) < 2 * MAX_CHARS
    assert len(shown.yaml) < MAX_YAML + 200
    assert any("larger than" in note for note in shown.notes)


def test_a_recursive_document_stops_at_the_depth_limit() -> None:
    loop: list[Any] = []
    loop.append(loop)
    shown = shown_document({"spec": loop})
    assert any("nesting" in note for note in shown.notes)


def test_long_lists_strings_and_mappings_say_how_much_more_there_is() -> None:
    doc = {
        "items": list(range(MAX_ITEMS + 25)),
        "big": "x" * (MAX_STRING + 10),
        "map": {f"k{i}": i for i in range(MAX_ITEMS + 3)},
    }
    data = shown_document(doc).data
    assert data["items"][-1] == "… 25 more items"
    assert data["big"].endswith("(10 more characters)")
    assert data["map"]["…"] == "… 3 more keys"
    small = {"spec": {"prefix": "/a/", "service": "s:80"}}
    whole = shown_document(small)
    assert whole.data == small and whole.notes == ()
    assert yaml.safe_load(whole.yaml) == small


def test_resource_page_of_a_large_document_is_bounded(tmp_path: Path) -> None:
    """A large but legal Mapping: 2,000 headers to add, one of them 1 MB long."""
    headers = {f"x-h-{i}": f"v{i}" for i in range(2_000)}
    headers["x-big"] = "y" * 1_000_000
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": "large", "namespace": "default"},
        "spec": {"prefix": "/large/", "service": "s:80", "add_request_headers": headers},
    }
    folder = write_config(tmp_path / "c", {"large.yaml": yaml.safe_dump(doc)})
    source_size = (folder / "large.yaml").stat().st_size
    client = TestClient(
        build_app(FakeState(folder)), client=("127.0.0.1", 40000), base_url="http://127.0.0.1:8877"
    )
    url = "/ambassador/v0/diag/resource/Mapping/large.default"
    answer = client.get(url, params={"json": "true"})
    assert answer.status_code == 200
    assert len(answer.content) < BOUND < source_size
    (shown,) = answer.json()["inputs"]
    assert shown["truncated"], "the page says it left things out"
    html = client.get(url, headers={"accept": "text/html"})
    assert html.status_code == 200 and "Shortened for this page" in html.text
    assert len(html.content) < 2 * BOUND
