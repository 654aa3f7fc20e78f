"""Many notices from one file are summed up (diagnostics and logs stay readable)."""

from __future__ import annotations

from legation.model.parse import ParseCache
from legation.model.yamldocs import parse_documents


def test_notices_about_unread_kinds_are_summed_up_per_file() -> None:
    text = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(50)
    )
    text += "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
    objects, _ = parse_documents(text, "many.yaml")
    other, _ = parse_documents("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n", "o.yaml")
    results = ParseCache().parse_all(objects + other)
    notices = [p for r in results for p in r.problems]
    assert len(notices) == 5  # 3 in full, one count for many.yaml, one for o.yaml
    summary = [p for p in notices if "more document" in p.message]
    assert [p.describe() for p in summary] == [
        "many.yaml:14: notice: (no resource): 48 more document(s) of kinds legation does "
        "not read (ConfigMap (v1), Deployment (apps/v1)); skipped"
    ]
    assert sum(1 for p in notices if p.source.location == "o.yaml") == 1


def test_parse_cache_results_stay_unfolded_for_reuse() -> None:
    text = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(10)
    )
    objects, _ = parse_documents(text, "f.yaml")
    cache = ParseCache()
    first = [p.message for r in cache.parse_all(objects) for p in r.problems]
    again = [p.message for r in cache.parse_all(objects) for p in r.problems]
    assert first == again and len(first) == 4
