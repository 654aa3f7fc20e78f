"""Fixtures for tests against a real kube-apiserver + etcd on loopback.

The session-scoped ``apiserver`` fixture needs the binaries (see ``tests/k8s/apiserver.py``).
When they are missing and Go is installed, it runs ``hack/k8s-assets.sh`` once (the first build
of kube-apiserver takes 10-25 minutes on two cores; later runs reuse the cache outside the repo).
Set ``LEGATION_K8S_NO_BUILD=1`` to never build. Without binaries the tests are skipped, except
when ``CI`` is set: there a missing apiserver is a failure, so CI cannot go green by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.k8s.apiserver import ASSETS_SCRIPT, KubeApiServer, KubeAssets, find_assets

UNPRIVILEGED_USER = "legation-nobody"
"""A token user of the session apiserver with no RBAC rights at all."""

BUILD_TIMEOUT_S = 60 * 60


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of these tests."""
    config.addinivalue_line(
        "markers", "k8s: needs a real kube-apiserver + etcd (long: may build them first)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/k8s with ``k8s`` (select or deselect with ``-m``)."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.k8s)


def _missing(reason: str) -> None:
    """Skip, or fail under CI (where a silent skip would hide a broken setup)."""
    message = (
        f"real kube-apiserver unavailable: {reason}. Build it with `bash hack/k8s-assets.sh` "
        "(cached outside the repo) or set KUBEBUILDER_ASSETS / TEST_ASSET_KUBE_APISERVER / "
        "TEST_ASSET_ETCD."
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _ensure_assets() -> KubeAssets:
    """Find the binaries, building them with hack/k8s-assets.sh when possible."""
    assets = find_assets()
    if assets is not None:
        return assets
    if os.environ.get("LEGATION_K8S_NO_BUILD"):
        _missing("binaries not found and LEGATION_K8S_NO_BUILD is set")
    if shutil.which("go") is None:
        _missing("binaries not found and Go is not installed to build them")
    print(f"\n[k8s] binaries missing: running {ASSETS_SCRIPT} (long)", file=sys.stderr)
    try:
        proc = subprocess.run(
            ["bash", str(ASSETS_SCRIPT)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _missing(f"{ASSETS_SCRIPT} did not finish within {BUILD_TIMEOUT_S} s")
    else:
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
            _missing(f"{ASSETS_SCRIPT} failed (exit {proc.returncode}):\n{tail}")
    assets = find_assets()
    if assets is None:
        _missing(f"{ASSETS_SCRIPT} succeeded but the binaries are still not found")
    assert assets is not None
    return assets


@pytest.fixture(scope="session")
def apiserver() -> Iterator[KubeApiServer]:
    """A running etcd + kube-apiserver shared by the session (admin token: ``admin_token``).

    Extra user ``UNPRIVILEGED_USER`` has a token (``token_for``) and no RBAC rights.
    Tests should work in namespaces of their own: nothing finalizes a deleted namespace.
    """
    assets = _ensure_assets()
    # Binaries that exist but do not start are a bug, not a reason to skip: this raises.
    with KubeApiServer(assets=assets, users={UNPRIVILEGED_USER: []}) as server:
        yield server


@pytest.fixture
def make_apiserver() -> Iterator[Callable[..., KubeApiServer]]:
    """Start extra, private apiservers (``KubeApiServer`` keyword arguments); stopped after the test.

    For tests that need other flags than the session one, e.g. ``watch_cache=False`` to get
    ``410 Gone`` after :meth:`KubeApiServer.compact_etcd`. Each takes about 5 s to start.
    """
    started: list[KubeApiServer] = []
    assets = _ensure_assets()

    def make(**kwargs: Any) -> KubeApiServer:
        server = KubeApiServer(assets=assets, **kwargs)
        started.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in started:
            server.stop()
