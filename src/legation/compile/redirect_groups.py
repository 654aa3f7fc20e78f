"""A canary group cannot mix `host_redirect` Mappings with others (as in Emissary).

A redirect answers without an upstream, so it cannot take a weighted share next to
Mappings that proxy. The group's first Mapping (by key) decides what the group is; every
member of the other kind, and any second redirect, is an error and left out, so the
group routes 100 % to what remains (and no route points at a cluster never made).
"""

from __future__ import annotations

from collections.abc import Sequence

from legation.compile.mapping import CompiledMapping
from legation.ir.errors import ConfigProblem


def _redirects(m: CompiledMapping) -> bool:
    return m.options.redirect is not None


def _conflict(first: CompiledMapping, other: CompiledMapping) -> str | None:
    """Why `other` cannot join the group `first` leads, or None when it can."""
    a, b = first.resource.name, other.resource.name
    if _redirects(first):
        if _redirects(other):
            return f"cannot accept {b} as second host_redirect after {a}"
        return f"cannot accept {b} without host_redirect after {a} with host_redirect"
    if _redirects(other):
        return f"cannot accept {b} with host_redirect after mappings without host_redirect (eg {a})"
    return None


def check_redirect_groups(
    groups: Sequence[Sequence[CompiledMapping]],
) -> tuple[list[list[CompiledMapping]], list[ConfigProblem]]:
    """The groups without their conflicting members, and an error for each one left out."""
    kept: list[list[CompiledMapping]] = []
    problems: list[ConfigProblem] = []
    for members in groups:
        if len(members) == 1:  # most groups: one Mapping cannot conflict with itself
            kept.append(list(members))
            continue
        # almost no group redirects: decide that before sorting anything
        if not any(_redirects(m) for m in members if not m.shadow):
            kept.append(list(members))
            continue
        ordinary = sorted((m for m in members if not m.shadow), key=lambda m: m.key)
        first, out = ordinary[0], []
        for m in members:
            reason = None if m is first or m.shadow else _conflict(first, m)
            if reason is None:
                out.append(m)
                continue
            field = "host_redirect" if _redirects(m) else None
            problems.append(
                ConfigProblem(
                    m.resource.field_source(field) if field else m.resource.source,
                    m.key,
                    f"{reason}; left out, {first.resource.name} gets all of the group's traffic",
                    field=m.resource.spec_path + field if field else None,
                )
            )
        kept.append(out)
    return kept, problems
