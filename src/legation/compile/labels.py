"""Rate-limit labels → descriptor actions: a Mapping's `labels`, the Module's
`default_labels`.

Shape (Emissary's): `labels: {domain: [{group name: [entry, ...]}, ...]}`; the group
name is ignored. An entry is a string (a `generic_key` with that value) or one of
`source_cluster`, `destination_cluster`, `remote_address` (each `{key: <its name>}`,
Envoy's fixed key), `generic_key: {key?, value}`, `request_headers: {key,
header_name, omit_if_not_present?}`. The Module's `default_labels: {domain:
{defaults: [entry, ...]}}`. Every problem names the entry's place, e.g.
`labels.ambassador.0.per_ip.1`.
"""

from __future__ import annotations

from typing import Any

from legation.ir.errors import ConfigProblem
from legation.ir.ratelimit import DescriptorAction, DescriptorKind, DomainLabels, LabelGroup
from legation.model.resource import Resource

_FIXED_KEYS = (
    DescriptorKind.SOURCE_CLUSTER,
    DescriptorKind.DESTINATION_CLUSTER,
    DescriptorKind.REMOTE_ADDRESS,
)
KNOWN_ACTIONS = ", ".join(k.value for k in DescriptorKind)


class LabelError(ValueError):
    """A label entry that cannot be expressed; `where` is relative to the entry."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


def _text(settings: dict[str, Any], name: str, action: str, default: str | None = None) -> str:
    value = settings.get(name, default)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise LabelError(f"{action} needs `{name}` (a non-empty string)", f".{action}.{name}")
    return str(value)


def parse_entry(entry: Any) -> DescriptorAction:
    """One label entry as a descriptor action; LabelError says what is wrong."""
    if isinstance(entry, str) and entry:
        return DescriptorAction(DescriptorKind.GENERIC_KEY, "generic_key", value=entry)
    if not isinstance(entry, dict) or len(entry) != 1:
        raise LabelError(f"expected a string or a map with one action ({KNOWN_ACTIONS})")
    name, settings = next(iter(entry.items()))
    try:
        kind = DescriptorKind(name)
    except ValueError:
        raise LabelError(
            f"unknown action {name!r}; expected one of {KNOWN_ACTIONS}", f".{name}"
        ) from None
    settings = {} if settings is None else settings
    if not isinstance(settings, dict):
        raise LabelError(f"{name}: expected a map of settings", f".{name}")
    unknown = sorted(set(settings) - {"key", "value", "header_name", "omit_if_not_present"})
    if unknown:
        raise LabelError(f"{name}: unknown setting {unknown[0]!r}", f".{name}.{unknown[0]}")
    if kind in _FIXED_KEYS:
        key = _text(settings, "key", name, name)
        if key != name:
            raise LabelError(f"Envoy sends {name} under the key {name!r}", f".{name}.key")
        return DescriptorAction(kind, name)
    if kind is DescriptorKind.GENERIC_KEY:
        key = _text(settings, "key", name, "generic_key")
        return DescriptorAction(kind, key, value=_text(settings, "value", name))
    omit = settings.get("omit_if_not_present", False)
    if not isinstance(omit, bool):
        where = f".{name}.omit_if_not_present"
        raise LabelError(f"{name}: omit_if_not_present must be true or false", where)
    header = _text(settings, "header_name", name).lower()
    return DescriptorAction(kind, _text(settings, "key", name), header=header, skip_if_absent=omit)


def parse_group(entries: Any) -> LabelGroup:
    """A list of entries as one descriptor (LabelError's `where` starts with `.<i>`)."""
    if not isinstance(entries, list) or not entries:
        raise LabelError("expected a non-empty list of label entries")
    actions = []
    for i, entry in enumerate(entries):
        try:
            actions.append(parse_entry(entry))
        except LabelError as exc:
            raise LabelError(str(exc), f".{i}{exc.where}") from None
    return tuple(actions)


def _domain_groups(groups: Any) -> tuple[LabelGroup, ...]:
    if not isinstance(groups, list):
        raise LabelError("expected a list of label groups ({name: [entries]})")
    out = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or len(group) != 1:
            raise LabelError("expected a map with one group name", f".{i}")
        name, entries = next(iter(group.items()))
        try:
            out.append(parse_group(entries))
        except LabelError as exc:
            raise LabelError(str(exc), f".{i}.{name}{exc.where}") from None
    return tuple(out)


def mapping_labels(res: Resource[Any]) -> tuple[tuple[DomainLabels, ...], list[ConfigProblem]]:
    """A Mapping's `labels` by domain (sorted), or an error naming the bad entry."""
    labels = res.spec.labels
    if labels is None:
        return (), []
    if not isinstance(labels, dict):
        return (), [res.problem("labels", "expected a map of domain → label groups")]
    out = []
    for domain in sorted(labels, key=str):
        try:
            out.append(DomainLabels(str(domain), _domain_groups(labels[domain])))
        except LabelError as exc:
            return (), [res.problem(f"labels.{domain}{exc.where}", str(exc))]
    return tuple(out), []


def default_labels(
    module: Resource[Any] | None, value: Any, domain: str
) -> tuple[LabelGroup, list[ConfigProblem]]:
    """The Module's `default_labels` for `domain` (other domains are not used)."""
    if value is None or module is None:
        return (), []
    field = "config.default_labels"
    if not isinstance(value, dict):
        return (), [module.problem(field, "expected a map of domain → {defaults: [entries]}")]
    block = value.get(domain)
    if block is None:
        return (), []
    if not isinstance(block, dict) or set(block) != {"defaults"}:
        return (), [module.problem(f"{field}.{domain}", "expected {defaults: [entries]}")]
    try:
        return parse_group(block["defaults"]), []
    except LabelError as exc:
        return (), [module.problem(f"{field}.{domain}.defaults{exc.where}", str(exc))]
