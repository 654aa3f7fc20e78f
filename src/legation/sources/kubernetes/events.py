"""Configuration errors as Kubernetes Events on the resource at fault.

`kubectl describe mapping foo` then shows `Warning InvalidConfiguration ...`. Each
(object, message) pair is created once: the Event's name is derived from the object's
UID and the message, so neither a reconfiguration nor a restart of legation repeats it.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from legation.ir.errors import ConfigProblem, Severity
from legation.sources.kubernetes.client import KubeApi, KubeApiError, KubeConnectionError

log = logging.getLogger(__name__)

REASON = "InvalidConfiguration"
COMPONENT = "legation"
MAX_MESSAGE = 1024


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Enough of an object to name it as an Event's `involvedObject`."""

    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str
    resource_version: str = ""

    def as_involved_object(self) -> dict[str, str]:
        """The `involvedObject` of an Event."""
        ref = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
        }
        if self.namespace:
            ref["namespace"] = self.namespace
        if self.resource_version:
            ref["resourceVersion"] = self.resource_version
        return ref


def problem_message(problem: ConfigProblem, with_resource: bool = True) -> str:
    """The Event message of a problem: what, where inside the object, and why
    (`with_resource=False`: without the resource's own name, for its status)."""
    parts = []
    if problem.source.annotation is not None:
        index = f"[{problem.source.document}]" if problem.source.document is not None else ""
        parts.append(f"annotation {problem.source.annotation}{index}:")
    if problem.resource and with_resource:
        parts.append(f"{problem.resource}:")
    if problem.field:
        parts.append(f"field {problem.field}:")
    parts.append(problem.message)
    return " ".join(parts)[:MAX_MESSAGE]


def pick_object(candidates: Sequence[ObjectRef], problem: ConfigProblem) -> ObjectRef | None:
    """The object a problem is about, among those at its location (None: unclear)."""
    if len(candidates) == 1:
        return candidates[0]
    if problem.source.annotation is not None:
        wanted = "Service"
    elif problem.resource:
        wanted = problem.resource.split("/", 1)[0]
    else:
        return None
    return next((ref for ref in candidates if ref.kind == wanted), None)


def events_for(
    problems: Iterable[ConfigProblem], objects: Mapping[str, Sequence[ObjectRef]]
) -> list[tuple[ObjectRef, str]]:
    """(object, message) for each error found in a watched object, without repeats.

    `objects` maps a source location (`namespace/name`) to the objects there; problems
    that are not about a watched object (or are only notices) are left out.
    """
    out: dict[tuple[str, str], tuple[ObjectRef, str]] = {}
    for problem in problems:
        if problem.severity is not Severity.ERROR:
            continue
        ref = pick_object(objects.get(problem.source.location, ()), problem)
        if ref is None:
            continue
        message = problem_message(problem)
        out.setdefault((ref.uid, message), (ref, message))
    return list(out.values())


def event_name(ref: ObjectRef, message: str) -> str:
    """A stable Event name for (object, message): the same pair always gets the same name."""
    digest = hashlib.sha256(f"{ref.uid}\n{message}".encode()).hexdigest()[:16]
    return f"{ref.name[:200]}.{digest}"


class EventRecorder:
    """Creates Warning Events, once per (object, message)."""

    def __init__(
        self,
        api: KubeApi,
        instance: str | None = None,
        may_write: Callable[[], bool] = lambda: True,
    ) -> None:
        """Events are reported by `legation` from `instance` (default: the host name);
        `may_write()` is asked before each Event (leadership)."""
        self.api = api
        self.may_write = may_write
        self.instance = instance or socket.gethostname()
        self._sent: set[tuple[str, str]] = set()
        self.created = 0
        self._forbidden_logged = False

    def body(self, ref: ObjectRef, message: str) -> dict[str, object]:
        """The core/v1 Event for one problem."""
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": event_name(ref, message), "namespace": ref.namespace or "default"},
            "involvedObject": ref.as_involved_object(),
            "reason": REASON,
            "message": message,
            "type": "Warning",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.instance[:128],
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }

    async def record(self, items: Iterable[tuple[ObjectRef, str]]) -> None:
        """Create the Events for the current problems that were not created before.

        An Event that already exists (from before a restart, or from an earlier spell of
        the same error) counts as created. Pairs no longer current are forgotten.
        """
        items = list(items)
        current = {(ref.uid, message) for ref, message in items}
        self._sent &= current
        for ref, message in items:
            if (ref.uid, message) in self._sent:
                continue
            if not self.may_write():  # not the leader (any more): the next one writes
                return
            namespace = ref.namespace or "default"
            try:
                await self.api.post(
                    f"/api/v1/namespaces/{namespace}/events", self.body(ref, message)
                )
                self.created += 1
            except KubeApiError as exc:
                if exc.status == 403:
                    if not self._forbidden_logged:
                        log.error(
                            "RBAC: forbidden to create events in namespace %s: configuration "
                            "errors cannot be shown on resources (needs verb 'create' on "
                            "'events', see deploy/rbac.yaml): %s",
                            namespace,
                            exc.message,
                        )
                        self._forbidden_logged = True
                    continue
                if exc.status != 409:  # 409: created earlier (by us, before a restart)
                    log.warning("cannot create event for %s %s: %s", ref.kind, ref.name, exc)
                    continue
            except KubeConnectionError as exc:
                log.warning("cannot create event for %s %s: %s", ref.kind, ref.name, exc)
                continue
            self._sent.add((ref.uid, message))
