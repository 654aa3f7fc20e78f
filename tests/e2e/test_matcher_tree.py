"""The matcher-tree route table routes exactly like the ordered list, in a real Envoy.

A random (seeded) set of Mappings is served twice: once as a matcher tree, once as a
plain list. A sample of random requests goes through both Envoys, and each answer must
name the Mapping that the ordered-list semantics (legation explain) predict.
"""

from __future__ import annotations

import random
from typing import Any

from legation.compile.compiler import compile_config
from legation.diag.explain import Request, explain
from legation.sources.files import FolderReader
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping

SEGMENTS = ["a", "ab", "b", "c", "api", "v1"]


def _path(rnd: random.Random, depth: int) -> str:
    return "/" + "/".join(rnd.choice(SEGMENTS) for _ in range(depth))


def random_specs(rnd: random.Random, count: int) -> list[dict[str, Any]]:
    seen: set[str] = set()
    specs: list[dict[str, Any]] = []
    while len(specs) < count:
        spec: dict[str, Any] = {"prefix": _path(rnd, rnd.randint(0, 3)) + rnd.choice(["", "/"])}
        roll = rnd.random()
        if roll < 0.08:
            spec["prefix_exact"] = True
        elif roll < 0.12:
            spec["prefix"] = spec["prefix"].rstrip("/") + "/[a-c]+"
            spec["prefix_regex"] = True
        if rnd.random() < 0.15:
            spec["headers"] = {"x-h": rnd.choice(["1", "2"])}
        if rnd.random() < 0.1:
            spec["method"] = rnd.choice(["GET", "POST"])
        if rnd.random() < 0.05:
            spec["precedence"] = rnd.randint(1, 3)
        key = repr(sorted(spec.items()))
        if key not in seen:  # identical criteria would form a canary group
            seen.add(key)
            specs.append(spec)
    return specs


def test_tree_and_list_route_alike_through_envoy() -> None:
    rnd = random.Random(20261126)
    specs = random_specs(rnd, 150)
    with EchoUpstream("u") as up:
        text = "".join(
            mapping(
                f"m{i}", up.service, rewrite="", add_response_headers={"x-route": f"m{i}"}, **spec
            )
            for i, spec in enumerate(specs)
        )
        files = {"routes.yaml": text}
        with (
            RunningGateway(files, ["--route-matcher", "tree"]) as tree,
            RunningGateway(files, ["--route-matcher", "list"]) as listed,
        ):
            config = compile_config(
                FolderReader(tree.config_dir).read().objects
            ).gateway.route_configs[0]
            mismatches = []
            for _ in range(200):
                path = _path(rnd, rnd.randint(0, 4)) + rnd.choice(["", "/", "/x"])
                method = rnd.choice(["GET", "GET", "POST"])
                headers = {"x-h": rnd.choice(["1", "2"])} if rnd.random() < 0.4 else {}
                winner = explain(config, Request.from_url(method, path, headers)).winner
                expected = winner.mappings[0].split("/")[1].split(".")[0] if winner else None
                got = [
                    gw.request(method, path, headers=headers).headers.get("x-route")
                    for gw in (tree, listed)
                ]
                if got != [expected, expected]:
                    mismatches.append((method, path, headers, expected, got))
            assert not mismatches, mismatches[:5]
