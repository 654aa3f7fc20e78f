"""Fuzzing reading and parsing: whatever a file holds, no exception escapes, and every
document gives resources or problems (naming the file)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from legation.compile.compiler import compile_config
from legation.model.mapping import MappingSpec
from legation.model.module import ModuleSpec
from legation.model.parse import parse_object
from legation.model.tcpmapping import TCPMappingSpec
from legation.model.yamldocs import parse_documents
from legation.sources.files import FolderReader

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "/", "svc:80", "1.5s", "-1", "0x10", "~", "null", "*", "&a", "[", "{"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KINDS: dict[str, type[BaseModel]] = {
    "Mapping": MappingSpec,
    "Module": ModuleSpec,
    "TCPMapping": TCPMappingSpec,
}


@st.composite
def ambassador_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A Mapping/Module/TCPMapping with random values in random known fields."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    fields = sorted(KINDS[kind].model_fields)
    chosen = draw(st.lists(st.sampled_from(fields), max_size=6, unique=True))
    spec = {name: draw(values) for name in chosen}
    if draw(st.booleans()):
        spec.setdefault("service", "s:80")
        spec.setdefault("prefix", "/p/")
    shape = draw(st.sampled_from(["crd", "flat", "broken"]))
    if shape == "crd":
        meta: Any = {"name": draw(st.text(min_size=1, max_size=8)), "namespace": "default"}
        return {"apiVersion": "getambassador.io/v3alpha1", "kind": kind, "metadata": meta,
                "spec": spec}  # fmt: skip
    if shape == "flat":
        return {"apiVersion": "getambassador.io/v2", "kind": kind, "name": "m", **spec}
    return {"apiVersion": draw(values), "kind": draw(values), "metadata": draw(values),
            "spec": draw(values)}  # fmt: skip


def dump(docs: list[Any]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


deep = st.integers(1, 3000).map(lambda n: "a: " + "[" * n + "]" * n + "\n")
deep_block = st.integers(1, 1200).map(
    lambda n: "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "v\n"
)
bombs = st.tuples(st.integers(1, 12), st.integers(1, 12)).map(
    lambda lf: (
        "\n".join(
            [f"a0: &a0 [{', '.join(['x'] * lf[1])}]"]
            + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * lf[1])}]" for i in range(1, lf[0])]
        )
        + "\n"
    )
)
huge = st.integers(10**5, 2 * 10**6).map(lambda n: "kind: Mapping\nname: " + "x" * n + "\n")
texts = st.one_of(
    st.lists(ambassador_docs(), min_size=1, max_size=4).map(dump),
    st.lists(values, max_size=3).map(dump),
    st.text(max_size=200),
    deep,
    deep_block,
    bombs,
    huge,
    st.lists(
        st.sampled_from(
            [
                "---\n",
                "kind: List\n",
                "items:\n",
                "- ",
                "&a ",
                "*a\n",
                "a: ",
                "[",
                "]",
                "{",
                "}",
                "!!binary x\n",
                "? ",
                "\t",
                "\n",
            ]
        ),
        max_size=30,
    ).map("".join),
)


def check_text(text: str) -> None:
    objects, problems = parse_documents(text, "fuzz.yaml")
    assert all(p.source.location == "fuzz.yaml" for p in problems)
    for raw in objects:
        result = parse_object(raw)
        assert result.resources or result.problems, raw.doc
        assert all(len(p.message) < 5000 for p in result.problems)
    compile_config(objects)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_parses_into_resources_or_problems(text: str) -> None:
    check_text(text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_in_a_file_are_read_or_reported(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "f.yaml").write_bytes(data)
        snapshot = FolderReader(Path(tmp)).read()
    assert all(p.source.location == "f.yaml" for p in snapshot.problems)
    for raw in snapshot.objects:
        result = parse_object(raw)
        assert result.resources or result.problems


@st.composite
def kubernetes_objects(draw: st.DrawFn) -> dict[Any, Any]:
    """Objects as the Kubernetes source hands them on (not from YAML), with wrong types."""
    kind, api = draw(
        st.sampled_from(
            [("Service", "v1"), ("Ingress", "networking.k8s.io/v1"),
             ("EndpointSlice", "discovery.k8s.io/v1"), ("Endpoints", "v1"),
             ("IngressClass", "networking.k8s.io/v1"), ("Secret", "v1"),
             ("Mapping", "getambassador.io/v3alpha1"), ("Module", "getambassador.io/v2")]
        )
    )  # fmt: skip
    meta: Any = draw(st.one_of(values, st.just({"name": "n", "namespace": "ns"})))
    if isinstance(meta, dict) and draw(st.booleans()):
        meta["annotations"] = {"getambassador.io/config": draw(st.one_of(texts, values))}
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": draw(values),
            **draw(st.dictionaries(st.text(max_size=6), values, max_size=3))}  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kubernetes_objects())
def test_any_kubernetes_object_gives_resources_or_problems(doc: dict[Any, Any]) -> None:
    from legation.ir.provenance import Source
    from legation.model.raw import RawObject

    raw = RawObject(doc=doc, source=Source("ns/n"))
    result = parse_object(raw)
    # a Service without annotation or ports is context only, and gives nothing
    assert result.resources or result.problems or doc["kind"] in {"Secret", "IngressClass",
                                                                   "Service"}  # fmt: skip
    compile_config([raw])
