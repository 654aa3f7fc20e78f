"""Per-item memos by object identity, shared by the parser, the compiler and the translator.

A change to one Mapping among 10,000 gives lists that are the same objects but one.
Walking such a list in Python once per step costs about a millisecond each time; the
memo here finds what changed at C speed (`map`, `compress`, dict lookups over ids) and
calls Python code for the changed items only.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

_MISSING: object = object()

FEW_CHANGES = 64
"""Up to this many items replaced in place are found positionally; beyond, by id."""


def replaced(old: Sequence[object], new: Sequence[object]) -> list[int] | None:
    """The positions where `new` holds another object than `old`, when the lists are
    as long and there are at most FEW_CHANGES of them; else None (one C-level pass)."""
    if len(old) != len(new):
        return None
    changed = list(
        itertools.islice(
            itertools.compress(range(len(new)), map(operator.is_not, new, old)),
            FEW_CHANGES + 1,
        )
    )
    return changed if len(changed) <= FEW_CHANGES else None


class ItemMemo(Generic[T, R]):
    """`f(item)` for each item of successive lists, called only for items that were not
    in the previous list (compared by identity).

    The usual change replaces items in place: the positions whose item is not the same
    object as last time are found with one C-level pass. Items added, removed or moved
    are looked up in a dict from id to result, built at C speed too. The memo holds the
    previous items, so their ids cannot be reused while their results are kept.
    """

    def __init__(self) -> None:
        self._items: tuple[T, ...] = ()
        self._results: list[R] = []
        self._context: object = _MISSING

    def __len__(self) -> int:
        """How many results are kept (those of the last list: never more)."""
        return len(self._results)

    def map(self, items: Sequence[T], f: Callable[[T], R], context: object = None) -> list[R]:
        """`[f(x) for x in items]`, reusing last time's results for the same objects.

        `context` is everything else `f` reads: when it differs from last time's, every
        item is computed again. The list returned is the memo's own: do not change it.
        """
        if context != self._context:
            self._items, self._results, self._context = (), [], context
        old, count = self._items, len(items)
        results: list[R] | None = None
        changed = replaced(old, items)
        if changed is not None:
            results = self._results.copy()
            for i in changed:
                results[i] = f(items[i])
        else:
            by_id = dict(zip(map(id, old), self._results, strict=True))
            found: list[object] = list(map(by_id.get, map(id, items), itertools.repeat(_MISSING)))
            missing = itertools.compress(
                range(count), map(operator.is_, found, itertools.repeat(_MISSING))
            )
            for i in missing:
                found[i] = f(items[i])
            results = cast(list[R], found)  # every _MISSING was replaced
        self._items, self._results = tuple(items), results
        return results


def present(values: Iterable[R | None]) -> list[R]:
    """The values that are not None, in order (at C speed)."""
    return list(filter(_IS_NOT_NONE, values))  # type: ignore[arg-type]


_IS_NOT_NONE = functools.partial(operator.is_not, None)


def flat(lists: Iterable[Iterable[R]]) -> list[R]:
    """The items of every list, in order (at C speed).

    Given a Sequence, its empty lists are skipped first (cheaper when most are empty,
    as lists of problems are)."""
    if isinstance(lists, Sequence):
        if not any(lists):
            return []
        lists = itertools.compress(lists, lists)
    return list(itertools.chain.from_iterable(lists))


def changes(old: Sequence[T], new: Sequence[T]) -> tuple[list[T], list[T]]:
    """The items of `old` not in `new` and those of `new` not in `old`, by identity.

    Found positionally when few items were replaced in place, else through sets of ids
    (at C speed either way); an empty `old` gives every item of `new`, in order. The
    items of each list should be distinct objects (an object twice is seen once).
    """
    if not old:
        return [], list(new)
    changed = replaced(old, new)
    if changed is not None:
        gone, came = [old[i] for i in changed], [new[i] for i in changed]
        both = set(map(id, gone)) & set(map(id, came))  # moved, not changed
        if both:
            gone = [x for x in gone if id(x) not in both]
            came = [x for x in came if id(x) not in both]
        return gone, came
    before = dict(zip(map(id, old), old, strict=True))
    after = dict(zip(map(id, new), new, strict=True))
    return (
        [before[k] for k in before.keys() - after.keys()],
        [after[k] for k in after.keys() - before.keys()],
    )


class SortedMemo(Generic[T]):
    """`sorted(items, key=key)` for successive lists, kept and updated by bisection
    for the items that went and came (keys must be unique; a tie sorts afresh)."""

    def __init__(self, key: Callable[[T], Any]) -> None:
        self._key = key
        self._items: Sequence[T] = ()
        self._sorted: list[T] = []

    def sorted(self, items: Sequence[T]) -> list[T]:
        """`items` sorted by the key (the memo's own list: do not change it)."""
        gone, came = changes(self._items, items)
        ordered = self._update(gone, came) if self._items else None
        if ordered is None or len(ordered) != len(items):  # (an item twice: not by id)
            ordered = sorted(items, key=self._key)
        self._items, self._sorted = tuple(items), ordered
        return ordered

    def _update(self, gone: Sequence[T], came: Sequence[T]) -> list[T] | None:
        if len(gone) + len(came) > FEW_CHANGES:
            return None
        key, ordered = self._key, list(self._sorted)
        for item in gone:
            at = bisect.bisect_left(ordered, key(item), key=key)
            if at == len(ordered) or ordered[at] is not item:
                return None
            del ordered[at]
        for item in came:
            at = bisect.bisect_left(ordered, key(item), key=key)
            if at < len(ordered) and key(ordered[at]) == key(item):
                return None  # a tie: the order would depend on the input's
            ordered.insert(at, item)
        return ordered


class IndexMemo(Generic[T]):
    """Items grouped by `key(item)`, each group in list order, kept between lists and
    updated where items were replaced in place by items with the same key."""

    def __init__(self, key: Callable[[T], Any]) -> None:
        self._key = key
        self._items: Sequence[T] = ()
        self._groups: dict[Any, list[T]] = {}

    def groups(self, items: Sequence[T]) -> dict[Any, list[T]]:
        """Key → the items with that key (the memo's own lists: do not change them)."""
        key, old = self._key, self._items
        changed = replaced(old, items) if old else None
        if changed is not None and all(key(old[i]) == key(items[i]) for i in changed):
            groups = dict(self._groups)
            for i in changed:
                members = groups[key(items[i])]
                if members is self._groups[key(items[i])]:  # copied once, when changed
                    members = groups[key(items[i])] = list(members)
                same = map(operator.is_, members, itertools.repeat(old[i]))
                members[next(itertools.compress(itertools.count(), same))] = items[i]
        else:
            groups = {}
            for item in items:
                groups.setdefault(key(item), []).append(item)
        self._items, self._groups = tuple(items), groups
        return groups
