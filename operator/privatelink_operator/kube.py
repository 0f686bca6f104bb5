"""The few Kubernetes API calls the operator makes itself (kopf makes the rest).

Status is written with a merge patch on the ``/status`` subresource, so the spec is never
touched; CA bundles are read from ConfigMaps or Secrets named by the object.

No Kubernetes client library: requests go through aiohttp (which kopf uses too), one session
per event loop, reused. Credentials (:func:`load_credentials`) come, as for kubectl, from the
kubeconfig files named by ``$KUBECONFIG`` when it is set, else from the in-cluster service
account, else from ``~/.kube/config``. ``run`` hands the same credentials to kopf (its login
handler), so the operator's watches and its own writes always talk to the same cluster as the
same user.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import ssl
import tempfile
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from . import GROUP, VERSION

if TYPE_CHECKING:
    import kopf

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
MAX_CONNECTIONS = 16  # per event loop; more requests wait for a free connection
MERGE_PATCH = "application/merge-patch+json"


class KubeConfigError(Exception):
    """No usable credentials: no kubeconfig, no in-cluster service account, or an
    authentication method this client does not implement (exec plugins)."""


class KubeApiError(Exception):
    """The API server answered ``status`` (with kube-apiserver's ``Status`` message)."""

    def __init__(self, method: str, path: str, status: int, reason: str, message: str) -> None:
        self.method, self.path, self.status = method, path, status
        self.reason, self.message = reason, message
        super().__init__(f"{method} {path}: {status} {reason}: {message}".rstrip(": "))


class KubeConnectionError(Exception):
    """The request got no answer: connection refused or lost, or timed out."""


# -- credentials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Where the API server is and how to authenticate to it (``*_data`` are PEM text)."""

    server: str
    ca_path: str | None = None
    ca_data: str | None = None
    insecure: bool = False
    certificate_path: str | None = None
    certificate_data: str | None = None
    private_key_path: str | None = None
    private_key_data: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    namespace: str | None = None
    proxy_url: str | None = None
    source: str = field(default="", compare=False)  # for messages: which file or in-cluster

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username is not None and self.password is not None:
            pair = f"{self.username}:{self.password}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext | None:
        """None for a plain-HTTP server; else verification by the CA (or none if insecure)
        and the client certificate, if any."""
        if not self.server.startswith("https:"):
            return None
        context = ssl.create_default_context(
            cafile=None if self.insecure else self.ca_path,
            cadata=None if self.insecure else self.ca_data,
        )
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if (self.certificate_path or self.certificate_data) and (
            self.private_key_path or self.private_key_data
        ):
            # ssl loads a certificate chain from files only: the data live in a private
            # temporary directory for the moment it takes.
            with tempfile.TemporaryDirectory(prefix="plo-kube-") as tmp:
                cert = self.certificate_path or _write(tmp, "tls.crt", self.certificate_data)
                key = self.private_key_path or _write(tmp, "tls.key", self.private_key_data)
                context.load_cert_chain(cert, key)
        return context

    def to_kopf(self) -> kopf.ConnectionInfo:
        """The same credentials for kopf (``run``'s login handler)."""
        import kopf

        return kopf.ConnectionInfo(
            server=self.server,
            ca_path=self.ca_path,
            ca_data=self.ca_data,
            insecure=self.insecure or None,
            certificate_path=self.certificate_path,
            certificate_data=self.certificate_data,
            private_key_path=self.private_key_path,
            private_key_data=self.private_key_data,
            token=self.token,
            username=None if self.token else self.username,
            password=None if self.token else self.password,
            default_namespace=self.namespace,
            proxy_url=self.proxy_url,
        )


def _write(directory: str, name: str, text: str | None) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text or "")
    return path


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def _pem(value: Any, what: str, source: str) -> str:
    """A kubeconfig ``*-data`` field (base64 of PEM) as PEM text."""
    try:
        return base64.b64decode(str(value), validate=False).decode("ascii")
    except (ValueError, UnicodeDecodeError) as exc:
        raise KubeConfigError(f"{source}: {what} is not base64 of a PEM text") from exc


def in_cluster_credentials(directory: str | None = None) -> Credentials | None:
    """The pod's service account, as client-go's in-cluster config: None outside a pod."""
    directory = directory or SERVICE_ACCOUNT_DIR
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT")
    token_path = os.path.join(directory, "token")
    if not host or not port or not os.path.exists(token_path):
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6
    ca_path = os.path.join(directory, "ca.crt")
    ns_path = os.path.join(directory, "namespace")
    return Credentials(
        server=f"https://{host}:{port}",
        ca_path=ca_path if os.path.exists(ca_path) else None,
        token=_read_text(token_path) or None,  # re-read on every login: kubelet rotates it
        namespace=(_read_text(ns_path) or None) if os.path.exists(ns_path) else None,
        source="in-cluster service account",
    )


def kubeconfig_paths() -> list[str]:
    """``$KUBECONFIG`` (a path list), else ``~/.kube/config``."""
    value = os.environ.get("KUBECONFIG")
    if value:
        return [os.path.expanduser(p.strip()) for p in value.split(os.pathsep) if p.strip()]
    return [os.path.expanduser("~/.kube/config")]


def kubeconfig_credentials(paths: list[str]) -> Credentials:
    """The current context of the kubeconfig ``paths``, merged as kubectl merges them (the
    first file that sets a value wins; missing files are skipped). Relative file names are
    relative to the file that names them."""
    import yaml

    current: str | None = None
    sections: dict[str, dict[str, tuple[dict[str, Any], str]]] = {
        "contexts": {},
        "clusters": {},
        "users": {},
    }
    read: list[str] = []
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                config = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KubeConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
        if not isinstance(config, dict):
            raise KubeConfigError(f"kubeconfig {path} is not a mapping")
        read.append(path)
        current = current or config.get("current-context") or None
        base = os.path.dirname(os.path.abspath(path))
        for section, entries in sections.items():
            singular = section[:-1]
            for item in config.get(section) or []:
                if isinstance(item, dict) and item.get("name") not in entries:
                    entries[str(item.get("name"))] = (item.get(singular) or {}, base)
    where = os.pathsep.join(read or paths)
    if not read:
        raise KubeConfigError(
            f"no Kubernetes credentials: no kubeconfig at {where} and no in-cluster service "
            f"account ({SERVICE_ACCOUNT_DIR}/token with KUBERNETES_SERVICE_HOST)"
        )
    if not current:
        raise KubeConfigError(f"kubeconfig {where}: current-context is not set")
    if current not in sections["contexts"]:
        raise KubeConfigError(f"kubeconfig {where}: context {current!r} is not defined")
    context, _ = sections["contexts"][current]
    cluster_name, user_name = context.get("cluster"), context.get("user")
    if cluster_name not in sections["clusters"]:
        raise KubeConfigError(f"kubeconfig {where}: cluster {cluster_name!r} is not defined")
    cluster, cluster_base = sections["clusters"][str(cluster_name)]
    user, user_base = sections["users"].get(str(user_name), ({}, ""))
    source = f"kubeconfig {where}, context {current!r}"

    def path_of(entry: Mapping[str, Any], key: str, base: str) -> str | None:
        value = entry.get(key)
        return os.path.join(base, os.path.expanduser(str(value))) if value else None

    def data_of(entry: Mapping[str, Any], key: str) -> str | None:
        value = entry.get(key)
        return _pem(value, key, source) if value else None

    server = cluster.get("server")
    if not server:
        raise KubeConfigError(f"{source}: cluster {cluster_name!r} has no server")
    token = user.get("token") or None
    if not token and user.get("tokenFile"):
        token = _read_text(str(path_of(user, "tokenFile", user_base))) or None
    if not token:
        token = ((user.get("auth-provider") or {}).get("config") or {}).get("access-token")
    has_cert = bool(user.get("client-certificate") or user.get("client-certificate-data"))
    if user.get("exec") and not token and not has_cert:
        command = (user.get("exec") or {}).get("command", "?")
        raise KubeConfigError(
            f"{source}: user {user_name!r} authenticates with an exec plugin ({command}), "
            f"which the operator does not run: give it a token or a client certificate "
            f"(e.g. `token: $(aws eks get-token ... | jq -r .status.token)`), or run it in "
            f"the cluster with its service account"
        )
    ca_data = data_of(cluster, "certificate-authority-data")
    insecure = bool(cluster.get("insecure-skip-tls-verify"))
    return Credentials(
        server=str(server).rstrip("/"),
        ca_path=None if ca_data else path_of(cluster, "certificate-authority", cluster_base),
        ca_data=ca_data,
        insecure=insecure,
        certificate_path=None
        if user.get("client-certificate-data")
        else path_of(user, "client-certificate", user_base),
        certificate_data=data_of(user, "client-certificate-data"),
        private_key_path=None
        if user.get("client-key-data")
        else path_of(user, "client-key", user_base),
        private_key_data=data_of(user, "client-key-data"),
        token=str(token) if token else None,
        username=user.get("username"),
        password=user.get("password"),
        namespace=context.get("namespace"),
        proxy_url=cluster.get("proxy-url"),
        source=source,
    )


def load_credentials() -> Credentials:
    """``$KUBECONFIG`` when set, else the in-cluster service account, else ~/.kube/config
    (client-go's order). Raises :class:`KubeConfigError` when none is usable."""
    if not os.environ.get("KUBECONFIG"):
        found = in_cluster_credentials()
        if found is not None:
            return found
    return kubeconfig_credentials(kubeconfig_paths())


# -- the client -------------------------------------------------------------------------------


class _Client:
    """An aiohttp session for one event loop and the credentials it was made with."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, ssl=credentials.ssl_context() or False
            ),
            headers={"User-Agent": "privatelink-operator", **credentials.headers()},
            timeout=REQUEST_TIMEOUT,
        )

    async def request(
        self, method: str, path: str, body: Any = None, content_type: str | None = None
    ) -> Any:
        data = None if body is None else json.dumps(body)
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            async with self.session.request(
                method,
                self.credentials.server + path,
                data=data,
                headers=headers,
                proxy=self.credentials.proxy_url,
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise KubeApiError(
                        method, path, response.status, response.reason or "", _message(text)
                    )
                return json.loads(text) if text else None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise KubeConnectionError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise KubeConnectionError(f"{method} {path}: timed out") from exc


def _message(text: str) -> str:
    try:
        answer = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    return str(answer.get("message", "")) if isinstance(answer, dict) else ""


_lock = threading.Lock()
_credentials: Credentials | None = None
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = (
    weakref.WeakKeyDictionary()
)


def credentials() -> Credentials:
    """The process's credentials, loaded once (until :func:`reset_client` or a 401)."""
    global _credentials
    with _lock:
        if _credentials is None:
            _credentials = load_credentials()
        return _credentials


def _client() -> _Client:
    loop = asyncio.get_running_loop()
    creds = credentials()
    with _lock:
        client = _clients.get(loop)
        if client is not None and client.credentials is not creds:
            _close_later(client)
            client = None
        if client is None:
            client = _clients[loop] = _Client(creds)
        return client


_closing: set[asyncio.Task[None]] = set()


def _close_later(client: _Client) -> None:
    with contextlib.suppress(RuntimeError):  # no running loop: nothing left to close on
        task = asyncio.get_running_loop().create_task(client.session.close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)


def reset_client() -> None:
    """Forget the credentials and sessions (tests that switch clusters; a 401)."""
    global _credentials
    with _lock:
        _credentials = None
        stale = list(_clients.items())
        _clients.clear()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, client in stale:
        if loop is running:
            _close_later(client)


async def close() -> None:
    """Close this event loop's session (at shutdown)."""
    with _lock:
        client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.session.close()


async def request(method: str, path: str, body: Any = None, content_type: str | None = None) -> Any:
    """One API request on this loop's session: the decoded JSON answer. Raises
    :class:`KubeApiError` for an error answer, :class:`KubeConnectionError` without one. A 401
    reloads the credentials (a rotated service-account token) and tries once more."""
    try:
        return await _client().request(method, path, body, content_type)
    except KubeApiError as exc:
        if exc.status != 401:
            raise
    reset_client()
    return await _client().request(method, path, body, content_type)


def request_sync(path: str, timeout: float | None = None) -> Any:
    """GET ``path`` for a command line tool: credentials loaded now (not the process's cached
    ones), a session of its own for one short event loop."""
    creds = load_credentials()

    async def get() -> Any:
        client = _Client(creds)
        try:
            if timeout is None:
                return await client.request("GET", path)
            return await asyncio.wait_for(client.request("GET", path), timeout)
        except TimeoutError as exc:
            raise KubeConnectionError(f"GET {path}: timed out") from exc
        finally:
            await client.session.close()

    return asyncio.run(get())


def transient_api_error(exc: BaseException) -> str | None:
    """``"409 Conflict"`` and the like when ``exc`` is an API answer that time fixes (409, 429,
    5xx) or a lost connection; None for anything else."""
    if isinstance(exc, KubeConnectionError):
        cause = exc.__cause__
        return type(cause).__name__ if cause is not None else "connection lost"
    if isinstance(exc, KubeApiError) and (exc.status in (409, 429) or exc.status >= 500):
        return f"{exc.status} {exc.reason}".strip()
    return None


def custom_object_path(plural: str, namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{plural}/{quote(name)}"


async def patch_status(plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
    """Merge-patch ``status`` (a None value removes that field)."""
    path = custom_object_path(plural, namespace, name) + "/status"
    await request("PATCH", path, {"status": dict(status)}, MERGE_PATCH)


async def read_ca_bundle(kind: str, namespace: str, name: str, key: str) -> str | None:
    """The PEM text at ``key`` of a ConfigMap or Secret, or None when it is not there."""
    plural = "secrets" if kind == "Secret" else "configmaps"
    try:
        found = await request(
            "GET", f"/api/v1/namespaces/{quote(namespace)}/{plural}/{quote(name)}"
        )
    except KubeApiError as exc:
        if exc.status == 404:
            return None
        raise
    data = (found or {}).get("data") or {}
    raw = data.get(key)
    if kind == "Secret":
        return base64.b64decode(raw).decode() if raw else None
    return str(raw) if raw is not None else None
