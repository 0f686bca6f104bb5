"""A small synchronous client for the raw Kubernetes wire protocol (tests and benchmarks).

Unlike the kubernetes client it hides nothing: every call returns the HTTP status code and the
decoded JSON body, so tests can assert what the API server would answer.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

__all__ = ["KubeHTTP"]


class KubeHTTP:
    """The raw wire protocol: each call returns ``(status code, decoded JSON body)``."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            payload = None if body is None else json.dumps(body).encode()
            all_headers = {"Content-Type": content_type, **(headers or {})}
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("PUT", path, body)

    def delete(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.request("DELETE", path, body)

    def merge(self, path: str, patch: Any) -> tuple[int, Any]:
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def jsonpatch(self, path: str, ops: list[Any]) -> tuple[int, Any]:
        return self.request("PATCH", path, ops, content_type="application/json-patch+json")

    def watch(self, path: str, *, count: int, timeout: int = 5) -> tuple[str, list[dict[str, Any]]]:
        """Open a watch and read ``count`` events (or until the server's timeout ends it)."""
        sep = "&" if "?" in path else "?"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout + 5)
        try:
            conn.request("GET", f"{path}{sep}watch=true&timeoutSeconds={timeout}")
            response = conn.getresponse()
            events: list[dict[str, Any]] = []
            while len(events) < count:
                line = response.readline()
                if not line:
                    break
                if line.strip():
                    events.append(json.loads(line))
            return response.getheader("Content-Type", ""), events
        finally:
            conn.close()
