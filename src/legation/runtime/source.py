"""Choose the configuration source `legation run` reads: a folder, or a Kubernetes API."""

from __future__ import annotations

from pathlib import Path

from legation.sources.base import ConfigSource
from legation.sources.cert_files import WatchedFiles
from legation.sources.files import DEFAULT_MAX_FILE_SIZE
from legation.sources.folder import FolderSource
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.oidc_discovery import WithDiscovery

__all__ = ["KubernetesOptions", "open_source"]


def open_source(
    config_dir: Path | None,
    kubernetes: KubernetesOptions | None,
    debounce_ms: int = 50,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> ConfigSource:
    """The Kubernetes source when `kubernetes` is given, else the folder `config_dir`
    (whose files over `max_file_size` bytes are reported and not read).

    Either way, the certificate files the configuration names are read and watched
    (relative paths: from the folder, or in Kubernetes from the working directory), and
    the discovery documents its OAuth2 Filters need are fetched and kept fresh.
    """
    if kubernetes is not None:
        from legation.sources.kubernetes.source import KubernetesSource  # needs aiohttp

        return WithDiscovery(WatchedFiles(KubernetesSource(kubernetes)))
    if config_dir is None:
        raise ValueError("either a configuration folder or Kubernetes options are needed")
    folder = FolderSource(config_dir, debounce_ms, max_file_size)
    return WithDiscovery(WatchedFiles(folder, config_dir))
