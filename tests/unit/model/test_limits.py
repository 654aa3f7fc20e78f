"""Document shape limits: deep nesting, alias bombs and recursive aliases are refused,
each naming the file and line, and the other documents are still read."""

from __future__ import annotations

from legation.ir.provenance import Source
from legation.model.limits import MAX_ALIAS_NODES, MAX_NESTING_DEPTH
from legation.model.parse import parse_object
from legation.model.raw import RawObject
from legation.model.yamldocs import parse_documents

GOOD = (
    "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
    "metadata: {name: good}\nspec: {prefix: /g/, service: s}\n"
)


def deep_headers(depth: int) -> str:
    return (
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: deep}\n"
        f"spec:\n  prefix: /d/\n  service: s\n  headers: {'[' * depth}{']' * depth}\n"
    )


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "---\n" + "\n".join(lines) + "\n"


def test_deep_nesting_is_refused_with_file_and_line_and_others_still_read() -> None:
    objects, problems = parse_documents(deep_headers(990) + GOOD, "deep.yaml")
    assert [o.doc["metadata"]["name"] for o in objects] == ["good"]
    (problem,) = problems
    assert problem.source.location == "deep.yaml"
    assert problem.source.line == 8  # the headers line
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in problem.message


def test_nesting_up_to_the_limit_is_fine() -> None:
    objects, problems = parse_documents(deep_headers(MAX_NESTING_DEPTH - 3), "ok.yaml")
    assert len(objects) == 1 and problems == []
    # and the Mapping's error about headers does not blow up describing the value
    result = parse_object(objects[0])
    assert result.problems and all(len(p.message) < 1000 for p in result.problems)


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    objects, problems = parse_documents(alias_bomb() + GOOD, "bomb.yaml")
    assert [o.doc["metadata"]["name"] for o in objects] == ["good"]
    (problem,) = problems
    assert f"more than the limit of {MAX_ALIAS_NODES}" in problem.message
    assert problem.source.describe() == "bomb.yaml:2"  # where the document starts


def test_modest_aliases_are_fine() -> None:
    text = "---\nkind: X\nbase: &b {a: 1, b: 2}\none: *b\ntwo: *b\n"
    objects, problems = parse_documents(text, "ok.yaml")
    assert problems == [] and objects[0].doc["one"] == {"a": 1, "b": 2}


def test_recursive_alias_is_refused() -> None:
    objects, problems = parse_documents("---\na: &x [1, *x]\n" + GOOD, "loop.yaml")
    assert len(objects) == 1
    (problem,) = problems
    assert "alias refers to a node that contains it" in problem.message


def test_deep_kubernetes_object_is_this_objects_error() -> None:
    value: object = "leaf"
    for _ in range(5000):  # deeper than Python's recursion limit
        value = [value]
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": "m"},
        "spec": {"prefix": "/", "service": "s", "headers": value},
    }
    result = parse_object(RawObject(doc=doc, source=Source("default/m")))
    assert result.resources == []
    (problem,) = result.problems
    assert "nested deeper than" in problem.message


def test_bad_date_value_is_a_document_problem() -> None:
    objects, problems = parse_documents("---\nwhen: 2024-13-45\n---\n" + GOOD[4:], "d.yaml")
    assert len(objects) == 1
    assert "invalid YAML value" in problems[0].message


def test_list_items_that_are_not_mappings_are_problems() -> None:
    objects, problems = parse_documents("kind: List\nitems: [1, {kind: X}]\n", "l.yaml")
    assert len(objects) == 1
    assert "expected a mapping (object), got int" in problems[0].message


def test_long_string_repeated_by_aliases_is_refused() -> None:
    refs = ", ".join(["*s"] * 2000)
    text = f"---\nkind: X\nbig: &s {'x' * 10_000}\nall: [{refs}]\n"
    _, problems = parse_documents(text, "s.yaml")
    (problem,) = problems
    assert "YAML aliases expand this document" in problem.message


def test_star_in_a_regex_does_not_hide_deep_nesting() -> None:
    text = "---\nkind: X\nprefix_regex: /a/.*\nhost: '*'\nv: " + "[" * 150 + "]" * 150 + "\n"
    _, problems = parse_documents(text, "r.yaml")
    (problem,) = problems
    assert "nested deeper than" in problem.message
    # and an alias after a regex-looking value is still seen as one
    text = "---\nkind: X\nprefix_regex: /a/.*\nx: &a [1]\ny: *a\n"
    objects, problems = parse_documents(text, "r.yaml")
    assert problems == [] and objects[0].doc["y"] == [1]
