"""Parsing raw documents: versions, annotations, errors with file, line and field."""

from __future__ import annotations

from legation.ir.errors import Severity
from legation.model.parse import parse_object
from legation.model.yamldocs import parse_documents


def parse(text: str) -> tuple[list[str], list[str]]:
    objects, problems = parse_documents(text, "f.yaml")
    keys, messages = [], [p.describe() for p in problems]
    for raw in objects:
        result = parse_object(raw)
        keys.extend(r.key for r in result.resources)
        messages.extend(p.describe() for p in result.problems)
    return keys, messages


def test_flat_and_crd_shapes_normalise_to_one_key() -> None:
    keys, problems = parse(
        "apiVersion: ambassador/v1\nkind: Mapping\nname: a\nprefix: /\nservice: s\n"
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        "metadata: {name: b, namespace: ns}\nspec: {prefix: /, service: s}\n"
    )
    assert keys == ["Mapping/a.default", "Mapping/b.ns"]
    assert problems == []


def test_yaml_syntax_error_names_file_and_line() -> None:
    _, problems = parse("apiVersion: v1\nkind: [unclosed\n")
    assert len(problems) == 1
    assert problems[0].startswith("f.yaml:3: error:")  # where the parser gave up
    assert "invalid YAML: while parsing a flow sequence" in problems[0]


def test_annotation_namespace_defaults_to_service_namespace() -> None:
    text = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  namespace: shop\n"
        "  annotations:\n    getambassador.io/config: |\n"
        "      apiVersion: ambassador/v0\n      kind: Mapping\n      name: m\n"
        "      prefix: /m/\n      service: svc\n"
    )
    keys, problems = parse(text)
    assert keys == ["Mapping/m.shop"]
    assert problems == []


def test_wrong_type_names_field_and_line() -> None:
    objects, _ = parse_documents(
        "apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: m}\n"
        "spec:\n  prefix: /\n  service: s\n  timeout_ms: soon\n",
        "f.yaml",
    )
    result = parse_object(objects[0])
    (problem,) = result.problems
    assert problem.severity is Severity.ERROR
    assert problem.field == "spec.timeout_ms"
    assert problem.source.line == 7
    assert problem.resource == "Mapping/m.default"
