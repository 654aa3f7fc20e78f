"""Canary groups and their routes, kept between compiles and updated where Mappings changed.

With 10,000 Mappings, grouping them, checking every group and collecting every group's
routes again is most of the cost of a one-Mapping change. Each group's routes depend
only on its members, so only the groups that lost or gained a member are built again;
the routes that went and came are handed on (`RouteChanges`), so the virtual hosts are
updated from them too. A group's members are sorted by key before it is built: what
it makes does not depend on the order its members were seen in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from legation.compile.canary import build_routes
from legation.compile.mapping import CompiledMapping
from legation.compile.redirect_groups import check_redirect_groups
from legation.compile.shadow import split_shadows
from legation.ir.errors import ConfigProblem
from legation.ir.routes import Route
from legation.memo import changes, flat


@dataclass(frozen=True, slots=True)
class _Group:
    routes: tuple[Route, ...]
    problems: tuple[ConfigProblem, ...]
    dropped: tuple[CompiledMapping, ...]
    """Members left out (a redirect mixed with others)."""


def _build(members: Sequence[CompiledMapping]) -> _Group:
    """One group: its members checked (redirects), shadows split off, its routes."""
    members = sorted(members, key=lambda m: m.key) if len(members) > 1 else members
    kept, problems = check_redirect_groups([members])
    dropped = tuple(m for m in members if not any(m is k for k in kept[0]))
    groups, notices = split_shadows(kept)
    routes = tuple(build_routes(groups[0])) if groups else ()
    return _Group(routes, tuple(problems + notices), dropped)


@dataclass(frozen=True, slots=True)
class GroupChanges:
    """What one update of the groups found."""

    generation: int
    """Counts updates: `gone` and `came` lead from generation - 1 to this one."""
    gone: tuple[Route, ...]
    came: tuple[Route, ...]
    problems: list[ConfigProblem]
    dropped: list[CompiledMapping]
    """Mappings left out of their group: they are not routed (nor given clusters)."""


class GroupMemo:
    """Canary groups (Mappings with identical match criteria) and the routes of each."""

    def __init__(self) -> None:
        self._compiled: Sequence[CompiledMapping] = ()
        self._members: dict[str, list[CompiledMapping]] = {}
        self._groups: dict[str, _Group] = {}
        self._flagged: dict[str, _Group] = {}
        """The groups with problems or dropped members (few)."""
        self._generation = 0

    def update(self, compiled: Sequence[CompiledMapping]) -> GroupChanges:
        """Follow the groups to `compiled` (building only the groups that changed)."""
        gone_cms, came_cms = changes(self._compiled, compiled)
        touched: dict[str, None] = {}  # ordered: a fresh start keeps the Mappings' order
        for cm in gone_cms:
            members = self._members[cm.group_id]
            members[:] = [m for m in members if m is not cm]
            touched[cm.group_id] = None
        for cm in came_cms:
            self._members.setdefault(cm.group_id, []).append(cm)
            touched[cm.group_id] = None
        gone: list[Route] = []
        came: list[Route] = []
        for group_id in touched:
            old = self._groups.pop(group_id, None)
            self._flagged.pop(group_id, None)
            if old is not None:
                gone.extend(old.routes)
            now = self._members.get(group_id)
            if not now:
                self._members.pop(group_id, None)
                continue
            new = self._groups[group_id] = _build(now)
            came.extend(new.routes)
            if new.problems or new.dropped:
                self._flagged[group_id] = new
        self._compiled = tuple(compiled)
        self._generation += 1
        flagged = list(self._flagged.values())
        return GroupChanges(
            self._generation,
            tuple(gone),
            tuple(came),
            flat(g.problems for g in flagged),
            flat(g.dropped for g in flagged),
        )

    def routes(self) -> list[Route]:
        """Every group's routes (consumers order them: see `order_routes`)."""
        return flat(g.routes for g in self._groups.values())
