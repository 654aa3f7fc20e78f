"""Canary weight splitting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from legation.compile.canary import split_weights


def test_unweighted_share_the_rest() -> None:
    assert split_weights([None, 10, 20]) == [70, 10, 20]
    assert split_weights([None, None, 10]) == [45, 45, 10]


def test_all_weighted_are_scaled_to_100() -> None:
    assert split_weights([30, 30]) == [50, 50]
    assert split_weights([1, 3]) == [25, 75]


def test_over_100_explicit_leaves_nothing_for_unweighted() -> None:
    assert split_weights([None, 100, 100]) == [0, 50, 50]


def test_single_member_takes_everything() -> None:
    assert split_weights([None]) == [100]
    assert split_weights([0]) == [100]


@given(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=1, max_size=8))
def test_always_sums_to_100(weights: list[int | None]) -> None:
    result = split_weights(weights)
    assert sum(result) == 100
    assert all(w >= 0 for w in result)
