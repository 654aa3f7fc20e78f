"""The limiter ConfigMap's merge patch: changed generated keys set, removed ones null,
hand-written keys never touched; a malformed reference is refused."""

from __future__ import annotations

import pytest

from legation.sources.kubernetes.limiter_configmap import LimiterConfigMap, data_patch


def test_patch_touches_only_generated_keys() -> None:
    current = {"hand.yaml": "h", "domain-a.yaml": "old", "domain-b.yaml": "same",
               "domain-gone.yaml": "x"}  # fmt: skip
    wanted = {"domain-a.yaml": "new", "domain-b.yaml": "same", "domain-c.yaml": "c"}
    assert data_patch(current, wanted) == {
        "domain-a.yaml": "new", "domain-c.yaml": "c", "domain-gone.yaml": None,
    }  # fmt: skip
    assert data_patch(wanted, wanted) == {}


@pytest.mark.parametrize("bad", ["name", "/name", "ns/", "ns/a/b"])
def test_reference_must_be_namespace_and_name(bad: str) -> None:
    with pytest.raises(ValueError, match="NAMESPACE/NAME"):
        LimiterConfigMap(bad)
    assert LimiterConfigMap("ns/cm").path == "/api/v1/namespaces/ns/configmaps/cm"
