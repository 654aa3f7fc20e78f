"""The limiter's documents in a ConfigMap, for an envoyproxy/ratelimit Deployment that
mounts it (deploy/ratelimit.yaml): one key per domain (`domain-<domain>.yaml`).

Only the `domain-*.yaml` keys are legation's: other keys (written by hand) stay. The
ConfigMap is created when missing; otherwise only changed keys are patched (a JSON
merge patch; a removed domain's key is set to null). Every replica writes the same
content, so they agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from legation.sources.kubernetes.client import KubeApi, KubeApiError

GENERATED_PREFIX = "domain-"
"""The keys legation owns (see legation.ratelimit.limiter_config.config_file_name)."""


def data_patch(current: Mapping[str, Any], wanted: Mapping[str, str]) -> dict[str, str | None]:
    """The `data` merge patch from `current` to `wanted` (hand-written keys untouched)."""
    patch: dict[str, str | None] = {k: v for k, v in wanted.items() if current.get(k) != v}
    for key in current:
        if key.startswith(GENERATED_PREFIX) and key not in wanted:
            patch[key] = None
    return patch


class LimiterConfigMap:
    """Keeps one ConfigMap's generated keys equal to the latest documents."""

    def __init__(self, reference: str) -> None:
        """`reference` is `namespace/name`."""
        self.namespace, _, self.name = reference.partition("/")
        if not self.namespace or not self.name or "/" in self.name:
            raise ValueError(
                f"expected NAMESPACE/NAME for the limiter ConfigMap, got {reference!r}"
            )

    @property
    def path(self) -> str:
        """The ConfigMap's API path."""
        return f"/api/v1/namespaces/{self.namespace}/configmaps/{self.name}"

    async def sync(self, api: KubeApi, files: Mapping[str, str]) -> bool:
        """Write `files` (file name → YAML); True if the ConfigMap changed."""
        try:
            current = await api.get(self.path)
        except KubeApiError as exc:
            if exc.status != 404:
                raise
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "data": dict(files),
            }
            try:
                await api.post(f"/api/v1/namespaces/{self.namespace}/configmaps", body)
            except KubeApiError as race:
                if race.status != 409:  # another replica created it meanwhile: patch it
                    raise
                return await self.sync(api, files)
            return True
        patch = data_patch(current.get("data") or {}, files)
        if not patch:
            return False
        await api.patch(self.path, {"data": patch})
        return True
