"""Shadow Mappings: they mirror their canary group's traffic instead of joining it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from legation.compile.mapping import CompiledMapping
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.policies import Mirror


def split_shadows(
    groups: Iterable[Sequence[CompiledMapping]],
) -> tuple[list[Sequence[CompiledMapping]], list[ConfigProblem]]:
    """Groups that can become routes (members sorted by key), and notices for the rest.

    A group made only of shadow Mappings has nothing to mirror, so it makes no route.
    """
    kept: list[Sequence[CompiledMapping]] = []
    problems: list[ConfigProblem] = []
    for members in groups:
        if len(members) == 1 and not members[0].shadow:  # most groups
            kept.append(members)
            continue
        if all(m.shadow for m in members):
            for m in members:
                problems.append(
                    ConfigProblem(
                        m.resource.field_source("shadow"),
                        m.key,
                        "shadow Mapping with no ordinary Mapping of the same match to "
                        "mirror; it has no effect",
                        field=m.resource.spec_path + "shadow",
                        severity=Severity.NOTICE,
                    )
                )
            continue
        kept.append(members if len(members) == 1 else sorted(members, key=lambda m: m.key))
    return kept, problems


def mirrors(shadows: Sequence[CompiledMapping]) -> tuple[Mirror, ...]:
    """One mirror per shadow Mapping; its `weight` is the share mirrored (default 100%)."""
    return tuple(
        Mirror(m.cluster.name, m.weight if m.weight is not None else 100, m.key)
        for m in sorted(shadows, key=lambda m: m.key)
    )
