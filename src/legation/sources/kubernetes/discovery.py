"""Which Ambassador custom resources the API server serves (which CRDs are installed).

Each kind is watched in one version, the most preferred one served (`v3alpha1`, then
`v2`): a CRD serving both returns every object through either, so watching both would
see each object twice.
"""

from __future__ import annotations

from legation.sources.kubernetes.client import KubeApi, KubeApiError
from legation.sources.kubernetes.resources import (
    AMBASSADOR_GROUP,
    AMBASSADOR_KINDS,
    AMBASSADOR_VERSIONS,
    ResourceType,
    ambassador_type,
)


async def served_versions(api: KubeApi, group: str) -> list[str]:
    """The versions of an API group the server serves (empty when the group is unknown)."""
    try:
        data = await api.get(f"/apis/{group}")
    except KubeApiError as exc:
        if exc.status == 404:
            return []
        raise
    return [str(v.get("version")) for v in data.get("versions") or [] if v.get("version")]


async def served_kinds(api: KubeApi, group: str, version: str) -> dict[str, str]:
    """Kind → plural of the top-level resources in `group/version` (empty when not served)."""
    try:
        data = await api.get(f"/apis/{group}/{version}")
    except KubeApiError as exc:
        if exc.status == 404:
            return {}
        raise
    return {
        str(r["kind"]): str(r["name"])
        for r in data.get("resources") or []
        if "/" not in str(r.get("name", "")) and r.get("kind")
    }


async def discover_ambassador_types(api: KubeApi) -> dict[str, ResourceType]:
    """Kind → the ResourceType to watch, for each Ambassador kind whose CRD is installed."""
    versions = await served_versions(api, AMBASSADOR_GROUP)
    found: dict[str, ResourceType] = {}
    for version in AMBASSADOR_VERSIONS:
        if version not in versions:
            continue
        served = await served_kinds(api, AMBASSADOR_GROUP, version)
        for kind in AMBASSADOR_KINDS:
            if kind in served and kind not in found:
                found[kind] = ambassador_type(kind, version)
    return found


def missing_kinds(found: dict[str, ResourceType]) -> list[str]:
    """The Ambassador kinds with no served CRD, sorted."""
    return sorted(kind for kind in AMBASSADOR_KINDS if kind not in found)
