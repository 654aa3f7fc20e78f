"""`status` of every getambassador.io resource: an `Accepted` condition, so `kubectl get
mappings` shows STATE and REASON, and `kubectl describe` the message.

The condition comes from the same problem records the diagnostics and the Events use: a
resource with an error is `Accepted=False` with the first error's message; notices do not
flip it. A status is patched (through the `/status` subresource) only when it differs
from what the object already shows, and the writes of one pass are paced
(`WRITES_PER_S`, at most `CONCURRENCY` in flight), so 10,000 new Mappings do not become
10,000 simultaneous requests. Only the leader writes: `may_write` is asked before each
request, so a replica that loses the Lease stops in the middle of a pass.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from legation.ir.errors import ConfigProblem, Severity
from legation.sources.kubernetes.client import KubeApi, KubeApiError, KubeConnectionError
from legation.sources.kubernetes.events import ObjectRef, pick_object, problem_message
from legation.sources.kubernetes.resources import AMBASSADOR_GROUP, AMBASSADOR_KINDS

log = logging.getLogger(__name__)

CONDITION = "Accepted"
WRITES_PER_S = 50.0
CONCURRENCY = 4
MAX_MESSAGE = 1024

_Write = tuple[str, tuple[str, str], str, dict[str, Any]]
"""(uid, (resourceVersion, verdict) memo, status path, merge patch)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a resource's `Accepted` condition should say."""

    accepted: bool
    reason: str
    message: str
    generation: int

    def fields(self) -> dict[str, Any]:
        """The compared fields of the condition (all but lastTransitionTime)."""
        return {
            "type": CONDITION,
            "status": "True" if self.accepted else "False",
            "reason": self.reason,
            "message": self.message,
            "observedGeneration": self.generation,
        }


def errors_by_uid(
    problems: Iterable[ConfigProblem], objects: Mapping[str, Sequence[ObjectRef]]
) -> dict[str, list[str]]:
    """Error messages of each getambassador.io object (by UID), in problem order."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        if problem.severity is not Severity.ERROR:
            continue
        ref = pick_object(objects.get(problem.source.location, ()), problem)
        if ref is None or not ref.api_version.startswith(AMBASSADOR_GROUP + "/"):
            continue
        message = problem_message(problem, with_resource=False)
        messages = out.setdefault(ref.uid, [])
        if message not in messages:
            messages.append(message)
    return out


def _host_tls(obj: Mapping[str, Any]) -> str:
    """A Host's TLS, as far as its spec says (cheap: no Secret is read here)."""
    spec = obj.get("spec") or {}
    secret = spec.get("tlsSecret") or {}
    if isinstance(secret, dict) and secret.get("name"):
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        where = f"{secret.get('namespace') or namespace}/{secret['name']}"
        return f"; TLS: certificate from Secret {where}"
    if spec.get("tlsContext"):
        return f"; TLS: from TLSContext {(spec['tlsContext'] or {}).get('name', '')}"
    return "; TLS: none (plain HTTP)"


def verdict(obj: Mapping[str, Any], errors: Sequence[str]) -> Verdict:
    """The condition for one object with these error messages."""
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    if errors:
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        return Verdict(False, "InvalidConfiguration", (errors[0] + more)[:MAX_MESSAGE], generation)
    message = "the resource is in use"
    if obj.get("kind") == "Host":
        message += _host_tls(obj)
    return Verdict(True, "Accepted", message, generation)


def current_condition(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The object's `Accepted` condition now, if it has one."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if isinstance(c, dict) and c.get("type") == CONDITION), None)


def status_patch(obj: Mapping[str, Any], wanted: Verdict, now: str) -> dict[str, Any] | None:
    """The merge patch bringing the status to `wanted`; None when it already says that."""
    current = current_condition(obj)
    fields = wanted.fields()
    state = "Accepted" if wanted.accepted else "Rejected"
    same_state = (obj.get("status") or {}).get("state") == state
    if current is not None and same_state and all(current.get(k) == v for k, v in fields.items()):
        return None
    transition = now
    if current is not None and current.get("status") == fields["status"]:
        transition = str(current.get("lastTransitionTime") or now)
    condition = {**fields, "lastTransitionTime": transition}
    return {"status": {"state": state, "conditions": [condition]}}


def status_path(obj: Mapping[str, Any]) -> str:
    """The object's `/status` subresource URL path."""
    meta = obj.get("metadata") or {}
    plural = AMBASSADOR_KINDS[str(obj.get("kind"))]
    return (
        f"/apis/{obj.get('apiVersion')}/namespaces/{meta.get('namespace')}/"
        f"{plural}/{meta.get('name')}/status"
    )


class ResourceStatusWriter:
    """Brings the `Accepted` condition of getambassador.io objects up to date."""

    def __init__(
        self,
        api: KubeApi,
        may_write: Callable[[], bool] = lambda: True,
        field_manager: str = "legation",
    ) -> None:
        """`may_write()` is asked before every request (leadership); writes are recorded
        under `field_manager` in the objects' managedFields."""
        self.api = api
        self.may_write = may_write
        self.field_manager = field_manager[:128]
        self.written = 0
        self._done: dict[str, tuple[str, str]] = {}
        """uid → (resourceVersion, patch) last sent, so one version is not patched twice
        while its watch event is on its way."""
        self._forbidden_logged = False

    async def sync(
        self, objects: Iterable[Mapping[str, Any]], errors: Mapping[str, Sequence[str]]
    ) -> None:
        """Patch every object whose status differs from its verdict (paced, see module)."""
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        todo: list[_Write] = []
        present: set[str] = set()
        for obj in objects:
            meta = obj.get("metadata") or {}
            uid, rv = str(meta.get("uid") or ""), str(meta.get("resourceVersion") or "")
            present.add(uid)
            wanted = verdict(obj, errors.get(uid, ()))
            patch = status_patch(obj, wanted, now)
            done = (rv, repr(wanted))
            if patch is None or self._done.get(uid) == done:
                continue
            todo.append((uid, done, status_path(obj), patch))
        self._done = {uid: done for uid, done in self._done.items() if uid in present}
        if todo:
            log.debug("writing the status of %d resource(s)", len(todo))
        await self._write_all(todo)

    async def _write_all(self, todo: list[_Write]) -> None:
        slots = asyncio.Semaphore(CONCURRENCY)
        tasks: list[asyncio.Task[None]] = []
        for i, item in enumerate(todo):
            if not self.may_write():
                break
            await slots.acquire()
            tasks.append(asyncio.create_task(self._write(item, slots)))
            if i + 1 < len(todo):
                await asyncio.sleep(1 / WRITES_PER_S)
        if tasks:
            await asyncio.gather(*tasks)

    async def _write(self, item: _Write, slots: asyncio.Semaphore) -> None:
        uid, done, path, patch = item
        try:
            if not self.may_write():  # leadership lost while this one waited
                return
            await self.api.patch(path, patch, params=[("fieldManager", self.field_manager)])
            self.written += 1
            self._done[uid] = done
        except KubeApiError as exc:
            if exc.status == 404:  # deleted meanwhile
                return
            if exc.status == 403:
                self._done[uid] = done  # not again for this version: preflight names the verb
            if exc.status == 403 and not self._forbidden_logged:
                self._forbidden_logged = True
                log.error(
                    "RBAC: forbidden to write %s (needs verb 'patch' on the resource's "
                    "'/status', see deploy/rbac.yaml): %s",
                    path,
                    exc.message,
                )
            elif exc.status != 403:
                log.warning("cannot write status %s: %s", path, exc)
        except KubeConnectionError as exc:
            log.warning("cannot write status %s: %s", path, exc)
        finally:
            slots.release()
