"""The few Kubernetes API calls the operator makes itself (kopf makes the rest).

Status is written with a merge patch on the ``/status`` subresource, so the spec is never
touched; CA bundles are read from ConfigMaps or Secrets named by the object.

No Kubernetes client library: requests go through aiohttp (which kopf uses too), one session
per event loop, reused. Credentials (:func:`load_credentials`) come, as for kubectl, from the
kubeconfig files named by ``$KUBECONFIG`` when it is set, else from the in-cluster service
account, else from ``~/.kube/config``. ``run`` hands the same credentials to kopf (its login
handler), so the operator's watches and its own writes always talk to the same cluster as the
same user.

A kubeconfig user may authenticate with an exec credential plugin (``aws eks get-token``,
``gke-gcloud-auth-plugin``; ``client.authentication.k8s.io/v1`` or ``v1beta1``), run as kubectl
runs it: its credential is kept until shortly before its ``expirationTimestamp``, and the plugin
runs again then, after a 401, and whenever kopf logs in again. From the event loop it runs in a
worker thread, one run at a time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import os
import shlex
import ssl
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 60.0  # seconds an exec credential plugin may take
EXEC_REFRESH_MARGIN = datetime.timedelta(seconds=60)  # run the plugin again this long before
KOPF_MIN_LIFETIME = datetime.timedelta(seconds=10)  # kopf never re-logs in sooner than this


class KubeConfigError(Exception):
    """No usable credentials: no kubeconfig, no in-cluster service account, or a kubeconfig
    this client cannot use."""


class ExecPluginError(KubeConfigError):
    """A kubeconfig's exec credential plugin is missing, failed, timed out or printed no
    usable ExecCredential (the message names the command and quotes its stderr)."""


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
    # An exec plugin's credential: when it expires, and when to run the plugin again.
    expiration: datetime.datetime | None = field(default=None, compare=False)
    refresh_at: datetime.datetime | None = field(default=None, compare=False)

    def expiring(self, now: datetime.datetime | None = None) -> bool:
        """True when the credential is (nearly) expired: time to load it again."""
        if self.refresh_at is None:
            return False
        return (now or datetime.datetime.now(datetime.UTC)) >= self.refresh_at

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username is not None and self.password is not None:
            pair = f"{self.username}:{self.password}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext | None:
        """None for a plain-HTTP server, and for a kubeconfig cluster that explicitly sets
        ``insecure-skip-tls-verify`` (the connector's ``ssl`` argument is then false: no
        verification, as the user asked, and no client certificate); else verification by
        the CA and the client certificate, if any."""
        if not self.server.startswith("https:") or self.insecure:
            return None
        context = ssl.create_default_context(cafile=self.ca_path, cadata=self.ca_data)
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

    def to_kopf(self, now: datetime.datetime | None = None) -> kopf.ConnectionInfo:
        """The same credentials for kopf (``run``'s login handler). An exec plugin's credential
        carries an ``expiration`` (when we would run the plugin again, never sooner than
        :data:`KOPF_MIN_LIFETIME`): kopf logs in again then, as it does after a 401."""
        import kopf

        expiration = None
        if self.refresh_at is not None:
            now = now or datetime.datetime.now(datetime.UTC)
            expiration = max(self.refresh_at, now + KOPF_MIN_LIFETIME)
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
            expiration=expiration,
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
    ca_data = data_of(cluster, "certificate-authority-data")
    insecure = bool(cluster.get("insecure-skip-tls-verify"))
    creds = Credentials(
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
    exec_config = user.get("exec")
    if exec_config and not token and not has_cert:  # a static token or certificate wins
        if not isinstance(exec_config, dict):
            raise KubeConfigError(f"{source}: user {user_name!r}: exec is not a mapping")
        creds = run_exec_plugin(
            exec_config, creds, cluster, user_base, f"{source}, user {user_name!r}"
        )
    if creds.insecure and (creds.certificate_path or creds.certificate_data):
        raise KubeConfigError(
            f"{source}: cluster {cluster_name!r} sets insecure-skip-tls-verify and the user has "
            f"a client certificate: the operator skips server verification only for token or "
            f"basic auth; give the cluster its certificate-authority(-data) instead"
        )
    return creds


# -- exec credential plugins ------------------------------------------------------------------


def _exec_info(
    api_version: str, creds: Credentials, cluster: Mapping[str, Any], provide_cluster: bool
) -> str:
    """``KUBERNETES_EXEC_INFO`` for the plugin: the ExecCredential spec, not interactive,
    with the cluster (as client-go sends it) only when ``provideClusterInfo`` is set."""
    spec: dict[str, Any] = {"interactive": False}
    if provide_cluster:
        ca = creds.ca_data
        if ca is None and creds.ca_path:
            with contextlib.suppress(OSError):
                ca = _read_text(creds.ca_path) + "\n"
        info: dict[str, Any] = {"server": creds.server}
        for key in ("tls-server-name", "proxy-url", "disable-compression"):
            if cluster.get(key):
                info[key] = cluster[key]
        if creds.insecure:
            info["insecure-skip-tls-verify"] = True
        if ca:
            info["certificate-authority-data"] = base64.b64encode(ca.encode()).decode()
        for extension in cluster.get("extensions") or []:
            named = isinstance(extension, dict) and extension.get("name")
            if named == "client.authentication.k8s.io/exec":
                info["config"] = extension.get("extension")
        spec["cluster"] = info
    return json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "spec": spec})


def _timestamp(value: Any, what: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ExecPluginError(f"{what}: expirationTimestamp {value!r} is not RFC 3339") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def run_exec_plugin(
    config: Mapping[str, Any],
    creds: Credentials,
    cluster: Mapping[str, Any],
    base: str,
    source: str,
) -> Credentials:
    """Run a kubeconfig user's exec credential plugin as kubectl does and return ``creds``
    with its token and/or client certificate and its expiration. Blocking (up to
    :data:`EXEC_TIMEOUT`): from a coroutine, call it through :func:`credentials_async`."""
    api_version = str(config.get("apiVersion") or "")
    command = str(config.get("command") or "")
    if not command:
        raise KubeConfigError(f"{source}: exec has no command")
    if api_version not in EXEC_API_VERSIONS:
        raise KubeConfigError(
            f"{source}: exec plugin {command!r} has apiVersion {api_version or '(none)'!r}; "
            f"the operator runs {' and '.join(EXEC_API_VERSIONS)}"
        )
    if config.get("interactiveMode") == "Always":
        raise KubeConfigError(
            f"{source}: exec plugin {command!r} has interactiveMode Always, but the operator "
            f"has no terminal to give it"
        )
    if os.sep in command or (os.altsep and os.altsep in command):
        command = os.path.join(base, os.path.expanduser(command))  # as kubectl resolves it
    args = [str(arg) for arg in config.get("args") or []]
    env = dict(os.environ)
    for item in config.get("env") or []:
        if isinstance(item, dict) and item.get("name"):
            env[str(item["name"])] = str(item.get("value") or "")
    provide = bool(config.get("provideClusterInfo"))
    env["KUBERNETES_EXEC_INFO"] = _exec_info(api_version, creds, cluster, provide)
    what = f"{source}: exec plugin {shlex.join([command])}"
    hint = str(config.get("installHint") or "").strip()
    try:
        done = subprocess.run(
            [command, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ExecPluginError(
            f"{what} was not found" + (f": {hint}" if hint else f" ({exc.strerror})")
        ) from exc
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode(errors="replace").strip()[-1000:]
        raise ExecPluginError(
            f"{what} did not finish in {EXEC_TIMEOUT:g}s"
            + (f"; stderr: {stderr}" if stderr else "")
        ) from exc
    except OSError as exc:
        raise ExecPluginError(f"{what} could not start: {exc}") from exc
    stderr = done.stderr.decode(errors="replace").strip()[-1000:]
    if done.returncode != 0:
        raise ExecPluginError(
            f"{what} failed with exit status {done.returncode}"
            + (f"; stderr: {stderr}" if stderr else "; no stderr")
        )
    try:
        answer = json.loads(done.stdout)
    except ValueError as exc:
        raise ExecPluginError(f"{what} printed no ExecCredential JSON: {exc}") from exc
    if not isinstance(answer, dict) or answer.get("kind", "ExecCredential") != "ExecCredential":
        raise ExecPluginError(f"{what} printed no ExecCredential")
    if answer.get("apiVersion") != api_version:
        raise ExecPluginError(
            f"{what} is configured for {api_version} and answered {answer.get('apiVersion')!r}"
        )
    status = answer.get("status")
    if not isinstance(status, dict):
        raise ExecPluginError(f"{what} answered an ExecCredential without status")
    token = status.get("token") or None
    cert = status.get("clientCertificateData") or None
    key = status.get("clientKeyData") or None
    if bool(cert) != bool(key):
        raise ExecPluginError(
            f"{what} answered only one of clientCertificateData and clientKeyData"
        )
    if not token and not cert:
        raise ExecPluginError(f"{what} answered neither a token nor a client certificate")
    expiration = refresh_at = None
    if status.get("expirationTimestamp"):
        expiration = _timestamp(status["expirationTimestamp"], what)
        remaining = expiration - datetime.datetime.now(datetime.UTC)
        refresh_at = expiration - max(
            datetime.timedelta(0), min(EXEC_REFRESH_MARGIN, remaining / 2)
        )
    return replace(
        creds,
        token=str(token) if token else None,
        username=None,
        password=None,
        certificate_path=None,
        certificate_data=str(cert) if cert else None,
        private_key_path=None,
        private_key_data=str(key) if key else None,
        expiration=expiration,
        refresh_at=refresh_at,
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


_lock = threading.Lock()  # held only briefly: guards the cache and the sessions
_loading = threading.Lock()  # one credential load at a time (it may run an exec plugin)
_credentials: Credentials | None = None
_generation = 0  # bumped by reset_client: a load that started before it is not cached
_given_to_kopf: Credentials | None = None
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = (
    weakref.WeakKeyDictionary()
)
_refreshing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _cached() -> Credentials | None:
    with _lock:
        found = _credentials
    return found if found is not None and not found.expiring() else None


def credentials() -> Credentials:
    """The process's credentials, loaded once and kept until :func:`reset_client`, a 401, or
    (an exec plugin's credential) shortly before they expire. Blocking while it loads: from a
    coroutine, use :func:`credentials_async`."""
    global _credentials
    found = _cached()
    if found is not None:
        return found
    with _loading:
        found = _cached()  # another thread may have loaded them meanwhile
        if found is not None:
            return found
        with _lock:
            generation = _generation
        loaded = load_credentials()
        with _lock:
            if generation == _generation:
                _credentials = loaded
        return loaded


async def credentials_async() -> Credentials:
    """:func:`credentials` without blocking the event loop: a load (reading files, running an
    exec plugin) happens in a worker thread, one per event loop at a time."""
    found = _cached()
    if found is not None:
        return found
    loop = asyncio.get_running_loop()
    with _lock:
        refreshing = _refreshing.setdefault(loop, asyncio.Lock())
    async with refreshing:
        found = _cached()  # loaded by another coroutine meanwhile
        return found if found is not None else await asyncio.to_thread(credentials)


def _invalidate(failed: Credentials) -> None:
    """Forget ``failed`` (answered 401) unless they were replaced already."""
    global _credentials
    with _lock:
        if _credentials is failed:
            _credentials = None


async def kopf_credentials() -> Credentials:
    """For kopf's login handler: the cached credentials at the first login; at a re-login
    (after a 401, or at the ``expiration`` handed to kopf) the ones kopf had are dropped and
    loaded again (a rotated token file, the exec plugin run again)."""
    global _given_to_kopf
    if _given_to_kopf is not None:
        _invalidate(_given_to_kopf)
    creds = await credentials_async()
    _given_to_kopf = creds
    return creds


async def _client() -> _Client:
    loop = asyncio.get_running_loop()
    creds = await credentials_async()
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
    """Forget the credentials and sessions (tests that switch clusters)."""
    global _credentials, _generation, _given_to_kopf
    with _lock:
        _credentials = _given_to_kopf = None
        _generation += 1
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
    :class:`KubeApiError` for an error answer, :class:`KubeConnectionError` without one (also
    when an exec plugin fails to renew the credentials: the caller retries later). A 401
    reloads the credentials (a rotated service-account token; the exec plugin run again) and
    tries once more."""
    try:
        client = await _client()
        try:
            return await client.request(method, path, body, content_type)
        except KubeApiError as exc:
            if exc.status != 401:
                raise
        _invalidate(client.credentials)
        return await (await _client()).request(method, path, body, content_type)
    except ExecPluginError as exc:
        raise KubeConnectionError(f"{method} {path}: no credentials: {exc}") from exc


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
        if isinstance(cause, ExecPluginError):
            return f"credentials: {cause}"
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
