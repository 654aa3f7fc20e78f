"""RateLimit resources → the bundled limiter's configuration, one document per domain.

A pure stage: the documents are plain data (envoyproxy/ratelimit's YAML shape:
`domain` and nested `descriptors` of `key`, optional `value`, `rate_limit`,
`shadow_mode`), written to files by the runtime.

Each limit's pattern is a path of descriptor entries; limits whose patterns share a
prefix share the nodes of the tree. Two limits on the same path are a conflict: the
later one (by source order) is reported and left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legation.ir.errors import ConfigProblem
from legation.model.ratelimit import RATE_LIMIT_NOT_YET, RateLimitRule, RateLimitSpec
from legation.model.resource import Resource

Entry = tuple[str, str]
"""One descriptor entry: key and value ("" matches every value, each counted apart)."""


@dataclass
class _Node:
    """One node of a domain's descriptor tree."""

    rate_limit: dict[str, Any] | None = None
    shadow: bool = False
    owner: str = ""
    """Which RateLimit and limit set `rate_limit` (for conflict messages)."""
    children: dict[Entry, _Node] = field(default_factory=dict)


@dataclass
class LimiterConfig:
    """What the limiter needs: one document per domain, and the problems found."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)


def pattern_entries(rule: RateLimitRule) -> list[Entry]:
    """A limit's pattern as an ordered path of entries (each map in written order)."""
    return [(str(k), str(v)) for part in rule.pattern for k, v in part.items()]


def _describe(entries: Sequence[Entry]) -> str:
    return ", ".join(f"{k}={v or '*'}" for k, v in entries)


def _add(root: dict[Entry, _Node], resource: Resource[RateLimitSpec], i: int) -> str | None:
    """Put limit `i` of `resource` into the tree; the conflict message, if any."""
    rule = resource.spec.limits[i]
    entries = pattern_entries(rule)
    nodes = root
    node = _Node()
    for entry in entries:
        node = nodes.setdefault(entry, _Node())
        nodes = node.children
    owner = f"{resource.key} limit {rule.name or i + 1}"
    if node.rate_limit is not None:
        return f"pattern {_describe(entries)} is already limited by {node.owner}"
    node.rate_limit = {"unit": rule.unit, "requests_per_unit": rule.rate}
    node.shadow = rule.action == "LogOnly"
    node.owner = owner
    return None


def _descriptors(nodes: dict[Entry, _Node]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for (key, value), node in nodes.items():
        doc: dict[str, Any] = {"key": key}
        if value:
            doc["value"] = value
        if node.rate_limit is not None:
            doc["rate_limit"] = dict(node.rate_limit)
            if node.shadow:
                doc["shadow_mode"] = True
        if node.children:
            doc["descriptors"] = _descriptors(node.children)
        out.append(doc)
    return out


def _notices(resource: Resource[RateLimitSpec]) -> list[ConfigProblem]:
    problems = []
    for i, rule in enumerate(resource.spec.limits):
        for name in RATE_LIMIT_NOT_YET:
            if getattr(rule, name) is not None:
                problems.append(
                    resource.problem(
                        f"limits.{i}.{name}", "not supported yet; ignored", notice=True
                    )
                )
    return problems


def limiter_config(resources: Sequence[Resource[RateLimitSpec]]) -> LimiterConfig:
    """The limiter's documents for every domain the RateLimits name, in source order."""
    trees: dict[str, dict[Entry, _Node]] = {}
    out = LimiterConfig()
    for resource in resources:
        out.problems.extend(_notices(resource))
        root = trees.setdefault(resource.spec.domain, {})
        for i in range(len(resource.spec.limits)):
            conflict = _add(root, resource, i)
            if conflict:
                out.problems.append(resource.problem(f"limits.{i}.pattern", conflict))
    for domain, root in trees.items():
        out.documents[domain] = {"domain": domain, "descriptors": _descriptors(root)}
    return out


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def config_file_name(domain: str) -> str:
    """A file name for one domain's document: safe characters only, never hidden, and
    distinct for distinct domains (the unsafe ones are escaped, not dropped)."""
    return "domain-" + _UNSAFE.sub(lambda m: f"%{ord(m.group()):02x}", domain) + ".yaml"
