"""The `ambassador` Module: gateway-wide settings, and notices for what is not done yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from legation.ir.errors import ConfigProblem, Severity
from legation.model.module import MODULE_IMPLEMENTED, ModuleConfig, ModuleSpec
from legation.model.resource import Resource


def module_settings(
    modules: Sequence[Resource[Any]],
) -> tuple[ModuleConfig, list[ConfigProblem]]:
    """The effective settings: the `ambassador` Module's config, or the defaults."""
    problems: list[ConfigProblem] = []
    chosen: Resource[ModuleSpec] | None = None
    for res in sorted(modules, key=lambda r: r.key):
        if res.name != "ambassador":
            problems.append(
                ConfigProblem(
                    res.source,
                    res.key,
                    "only the Module named 'ambassador' is read; skipped",
                    severity=Severity.NOTICE,
                )
            )
        elif chosen is not None:
            problems.append(
                ConfigProblem(
                    res.source,
                    res.key,
                    "another ambassador Module is already in use "
                    f"({chosen.source.describe()}); skipped",
                )
            )
        else:
            chosen = res
    if chosen is None:
        return ModuleConfig(), problems
    config = chosen.spec.config
    for name in sorted(config.model_fields_set - MODULE_IMPLEMENTED):
        problems.append(
            ConfigProblem(
                chosen.field_source(f"config.{name}"),
                chosen.key,
                "accepted but not implemented yet; it has no effect",
                field=f"{chosen.spec_path}config.{name}",
                severity=Severity.NOTICE,
            )
        )
    return config, problems
