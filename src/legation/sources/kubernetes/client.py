"""A small JSON client for the Kubernetes API, on `kubernetes_asyncio`'s configuration and HTTP.

`kubernetes_asyncio` loads kubeconfig files and in-cluster service-account settings
(tokens, CA, client certificates) and makes authenticated requests; objects stay plain
JSON dicts, so the same code handles built-in kinds and custom resources. Everything
else in this package talks to the `KubeApi` protocol, so tests can swap in a fake.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import aiohttp

log = logging.getLogger(__name__)

Params = Sequence[tuple[str, str]]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


class KubeApiError(Exception):
    """The API server answered with an error status (403, 404, 410, ...)."""

    def __init__(self, status: int, reason: str, message: str, method: str, path: str) -> None:
        """An error answer to `method path`."""
        super().__init__(f"{method} {path}: {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.method = method
        self.path = path

    @classmethod
    def from_status(cls, status: dict[str, Any], method: str, path: str) -> KubeApiError:
        """From a `Status` object (an error body, or the object of a watch `ERROR` event)."""
        return cls(
            int(status.get("code") or 0),
            str(status.get("reason") or ""),
            str(status.get("message") or ""),
            method,
            path,
        )


class KubeConnectionError(Exception):
    """The API server could not be reached, or the connection broke."""


class KubeApi(Protocol):
    """The few calls legation makes; paths are absolute (`/api/v1/services`)."""

    @property
    def server(self) -> str:
        """The API server's URL, for logs."""
        ...

    async def get(self, path: str, params: Params = ()) -> dict[str, Any]:
        """GET a JSON object."""
        ...

    def watch(self, path: str, params: Params, timeout: float) -> AsyncIterator[dict[str, Any]]:
        """GET with `watch=1`: yield each watch event (`{"type", "object"}`) as it arrives."""
        ...

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST (create) a JSON object."""
        ...

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT (replace) an object; its `metadata.resourceVersion` makes it conditional."""
        ...

    async def patch(
        self,
        path: str,
        body: dict[str, Any],
        content_type: str = MERGE_PATCH,
        params: Params = (),
    ) -> dict[str, Any]:
        """PATCH an object (a JSON merge patch by default)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class KubeClient:
    """`KubeApi` over `kubernetes_asyncio.client.ApiClient`."""

    def __init__(self, api_client: Any, server: str) -> None:
        """Wrap a configured `ApiClient`."""
        self._api = api_client
        self._server = server

    @property
    def server(self) -> str:
        """The API server's URL."""
        return self._server

    async def _request(
        self,
        method: str,
        path: str,
        params: Params = (),
        body: dict[str, Any] | None = None,
        content_type: str = JSON,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> aiohttp.ClientResponse:
        try:
            response: aiohttp.ClientResponse = await self._api.call_api(
                path,
                method,
                query_params=list(params),
                header_params={"Accept": JSON, "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout or aiohttp.ClientTimeout(total=30, sock_connect=10),
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise KubeConnectionError(f"{method} {self._server}{path}: {exc!r}") from exc
        if response.status >= 400:
            try:
                text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                text = repr(exc)
            finally:
                response.release()
            try:
                status = json.loads(text)
            except ValueError:
                status = {"code": response.status, "reason": response.reason, "message": text}
            if not isinstance(status, dict):
                status = {"code": response.status, "message": text}
            status.setdefault("code", response.status)
            raise KubeApiError.from_status(status, method, path)
        return response

    async def _json(self, response: aiohttp.ClientResponse, method: str, path: str) -> Any:
        try:
            data = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise KubeConnectionError(f"{method} {self._server}{path}: {exc!r}") from exc
        finally:
            response.release()
        return json.loads(data) if data else {}

    async def get(self, path: str, params: Params = ()) -> dict[str, Any]:
        """GET a JSON object."""
        response = await self._request("GET", path, params)
        data: dict[str, Any] = await self._json(response, "GET", path)
        return data

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST (create) a JSON object."""
        response = await self._request("POST", path, body=body)
        data: dict[str, Any] = await self._json(response, "POST", path)
        return data

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT (replace) an object; its `metadata.resourceVersion` makes it conditional."""
        response = await self._request("PUT", path, body=body)
        data: dict[str, Any] = await self._json(response, "PUT", path)
        return data

    async def patch(
        self,
        path: str,
        body: dict[str, Any],
        content_type: str = MERGE_PATCH,
        params: Params = (),
    ) -> dict[str, Any]:
        """PATCH an object (a JSON merge patch by default)."""
        response = await self._request("PATCH", path, params, body, content_type)
        data: dict[str, Any] = await self._json(response, "PATCH", path)
        return data

    async def watch(
        self, path: str, params: Params, timeout: float
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream watch events; ends when the server closes the watch (its `timeoutSeconds`).

        Lines are split by hand: an object can be larger than aiohttp's line limit.
        """
        client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout)
        response = await self._request("GET", path, params, timeout=client_timeout)
        buffer = b""
        try:
            async for chunk in response.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            if buffer.strip():
                yield json.loads(buffer)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise KubeConnectionError(f"watch {self._server}{path}: {exc!r}") from exc
        finally:
            response.release()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._api.close()


async def connect(kubeconfig: Path | None = None, context: str | None = None) -> KubeClient:
    """A client from `kubeconfig`; without one, in-cluster settings inside a pod, else the
    default kubeconfig (`$KUBECONFIG` or `~/.kube/config`).

    Raises `ValueError` with a readable message when no configuration can be loaded.
    """
    from kubernetes_asyncio import client, config  # type: ignore[import-untyped,unused-ignore]

    configuration: Any = client.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            path = str(kubeconfig) if kubeconfig is not None else None
            await config.load_kube_config(
                config_file=path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (config.ConfigException, OSError, ValueError, KeyError) as exc:
        where = kubeconfig or "in-cluster / default kubeconfig"
        raise ValueError(f"cannot load Kubernetes configuration ({where}): {exc}") from exc
    api_client = client.ApiClient(configuration=configuration)
    api_client.user_agent = "legation"
    return KubeClient(api_client, str(configuration.host))


async def cancel_quietly(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait until it has ended, ignoring how it ended."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        log.debug("task %s failed while being cancelled", task.get_name())
