"""Canary weight splitting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from legation.compile.canary import split_weights
from legation.compile.compiler import compile_config
from tests.unit.compile.test_incremental import mapping


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


@given(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=2, max_size=6))
def test_member_routes_keep_their_settings_and_exact_shares(weights: list[int | None]) -> None:
    """One route per member, consecutive, each with its own rewrite; the running totals
    of the shares (runtime_fraction) give each member exactly its share."""
    objects = [
        mapping(f"m{i}", "/shop/", f"svc{i}:80", rewrite=f"/v{i}/", timeout_ms=1000 + i)
        if w is None
        else mapping(
            f"m{i}", "/shop/", f"svc{i}:80", rewrite=f"/v{i}/", timeout_ms=1000 + i, weight=w
        )
        for i, w in enumerate(weights)
    ]
    routes = compile_config(objects).gateway.route_configs[0].virtual_hosts[-1].routes
    assert len(routes) == len(weights) and len({r.group for r in routes}) == 1
    fractions = [r.runtime_fraction for r in routes]
    assert all(f is not None for f in fractions) and fractions[-1] == 100
    previous = 0
    for route in routes:
        [target] = route.targets
        i = int(target.mapping.split("/m")[1].split(".")[0])
        assert (route.prefix_rewrite, route.timeout_ms) == (f"/v{i}/", 1000 + i)
        assert target.cluster == f"cluster_svc{i}_80"
        assert route.runtime_fraction is not None
        assert route.runtime_fraction - previous == target.weight
        previous = route.runtime_fraction
