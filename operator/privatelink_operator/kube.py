"""The few Kubernetes API calls the operator makes itself (kopf makes the rest).

Status is written with a merge patch on the ``/status`` subresource, so the spec is never
touched; CA bundles are read from ConfigMaps or Secrets named by the object.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Mapping
from typing import Any

from . import GROUP, VERSION

_lock = threading.Lock()
_api: Any = None


def _client() -> Any:
    global _api
    with _lock:
        if _api is None:
            import kubernetes

            try:
                kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
            except kubernetes.config.ConfigException:
                # Name the file: the client reads KUBECONFIG only when it is first imported.
                kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=os.environ.get("KUBECONFIG")
                )
            _api = kubernetes.client.ApiClient()
        return _api


def reset_client() -> None:
    """Forget the cached client (tests that switch clusters)."""
    global _api
    with _lock:
        _api = None


def transient_api_error(exc: BaseException) -> str | None:
    """``"409 Conflict"`` and the like when ``exc`` is an API answer that time fixes (409, 429,
    5xx) or a lost connection; None for anything else."""
    import urllib3.exceptions

    if isinstance(exc, urllib3.exceptions.HTTPError):
        return type(exc).__name__
    status = getattr(exc, "status", None)
    retryable = isinstance(status, int) and (status in (409, 429) or status >= 500)
    if type(exc).__module__.startswith("kubernetes.") and retryable:
        return f"{status} {getattr(exc, 'reason', '') or ''}".strip()
    return None


def _patch_status_sync(plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
    import kubernetes

    api = kubernetes.client.CustomObjectsApi(_client())
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, plural, name, {"status": dict(status)}
    )


async def patch_status(plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
    """Merge-patch ``status`` (a None value removes that field)."""
    await asyncio.to_thread(_patch_status_sync, plural, namespace, name, status)


def _read_ca_sync(kind: str, namespace: str, name: str, key: str) -> str | None:
    import kubernetes

    core = kubernetes.client.CoreV1Api(_client())
    try:
        if kind == "Secret":
            secret = core.read_namespaced_secret(name, namespace)
            raw = (secret.data or {}).get(key)
            return base64.b64decode(raw).decode() if raw else None
        config_map = core.read_namespaced_config_map(name, namespace)
        value = (config_map.data or {}).get(key)
        return str(value) if value is not None else None
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


async def read_ca_bundle(kind: str, namespace: str, name: str, key: str) -> str | None:
    """The PEM text at ``key`` of a ConfigMap or Secret, or None when it is not there."""
    return await asyncio.to_thread(_read_ca_sync, kind, namespace, name, key)
