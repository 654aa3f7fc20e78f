"""A scripted stand-in for the Kubernetes API (`KubeApi`), for unit tests of the source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from legation.sources.kubernetes.client import MERGE_PATCH, KubeApiError, Params

Handler = Callable[[str, dict[str, str]], dict[str, Any]]


def obj(
    kind: str, name: str, rv: str, namespace: str = "default", api: str = "v1", **fields: Any
) -> dict[str, Any]:
    """A minimal Kubernetes object."""
    meta: dict[str, Any] = {"name": name, "resourceVersion": rv, "uid": f"uid-{kind}-{name}"}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": meta, **fields}


def listing(items: list[dict[str, Any]], rv: str, token: str = "") -> dict[str, Any]:
    """A List answer."""
    meta = {"resourceVersion": rv}
    if token:
        meta["continue"] = token
    return {"kind": "List", "metadata": meta, "items": [dict(i) for i in items]}


class FakeKubeApi:
    """GET answers by path (a value, a list of values served in turn, or an exception),
    watch streams by path (each call takes the next script; with none left it blocks),
    and a record of every call."""

    server = "https://fake-apiserver"

    def __init__(self) -> None:
        self.gets: dict[str, list[Any]] = {}
        self.watches: dict[str, list[list[dict[str, Any]] | Exception]] = {}
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.puts: list[tuple[str, dict[str, Any]]] = []
        self.put_handler: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
        self.post_handler: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
        self.watch_started = asyncio.Event()
        self.closed = False

    def on_get(self, path: str, *answers: Any) -> None:
        """Serve these answers, in turn, to GET `path` (the last one repeats)."""
        self.gets[path] = list(answers)

    def on_watch(self, path: str, *scripts: list[dict[str, Any]] | Exception) -> None:
        """Each watch of `path` streams the next script (events, or raises an exception)."""
        self.watches.setdefault(path, []).extend(scripts)

    async def get(self, path: str, params: Params = ()) -> dict[str, Any]:
        self.calls.append(("GET", path, dict(params)))
        answers = self.gets.get(path)
        if not answers:
            raise KubeApiError(404, "NotFound", f"{path} not scripted", "GET", path)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            result: dict[str, Any] = answer(dict(params))
            return result
        return dict(answer)

    async def watch(
        self, path: str, params: Params, timeout: float
    ) -> AsyncIterator[dict[str, Any]]:
        self.calls.append(("WATCH", path, dict(params)))
        self.watch_started.set()
        scripts = self.watches.get(path)
        if not scripts:
            await asyncio.Event().wait()  # a quiet watch: blocks until cancelled
            return
        script = scripts.pop(0)
        if isinstance(script, Exception):
            raise script
        for event in script:
            await asyncio.sleep(0)
            yield event

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.posts.append((path, body))
        if self.post_handler is not None:
            return self.post_handler(path, body)
        return body

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.puts.append((path, body))
        if self.put_handler is not None:
            return self.put_handler(path, body)
        return body

    async def patch(
        self,
        path: str,
        body: dict[str, Any],
        content_type: str = MERGE_PATCH,
        params: Params = (),
    ) -> dict[str, Any]:
        self.patches.append((path, body))
        return body

    async def close(self) -> None:
        self.closed = True
