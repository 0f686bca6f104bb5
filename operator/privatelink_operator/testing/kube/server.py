"""The Kubernetes API emulator: an aiohttp server over :class:`~.store.Store`.

Why not kmock: kmock 0.8 routes every request by matching it against its whole history of served
requests (quadratic cost), replays all objects on every new watch, and lacks most of the API
server's semantics, so patching it would replace nearly all of it. This is a small purpose-built
server instead, speaking the same wire protocol as kube-apiserver for what kopf, kubectl and the
kubernetes client use: discovery, CRUD, PATCH in three formats, the status subresource, lists
with selectors and pagination, ``Table`` output for kubectl, and chunked JSON watch streams.

:class:`KubeServer` runs on the caller's asyncio loop; :class:`KubeEmulator` runs one in a
background thread with its own loop (several at once on different ports are independent
clusters) and offers synchronous helpers for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import yaml
from aiohttp import web

from . import errors, protobuf
from .errors import StatusError
from .faults import KubeFaults, rbac_verb
from .resources import KOPF_PEERING_CRDS, ResourceInfo
from .selectors import parse_field_selector, parse_label_selector
from .store import Store, ValidatorFactory, default_validator_factory
from .tables import to_table

__all__ = ["KubeEmulator", "KubeServer", "load_crds", "write_kubeconfig"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

SERVER_VERSION = {
    "major": "1",
    "minor": "36",
    "gitVersion": "v1.36.0-privatelink-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def _version_priority(version: str) -> tuple[int, int, int, str]:
    """kube-aware version order: GA before beta before alpha, higher numbers first."""
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


_BODY_TYPES = (
    "application/json",
    "application/yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


class KubeServer:
    """The emulator on the current asyncio loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        crds: Iterable[Mapping[str, Any]] = (),
        kopf_peering: bool = False,
        history_size: int = 20000,
        validator_factory: ValidatorFactory | None = default_validator_factory,
    ) -> None:
        self.host = host
        self.port = port
        self.store = Store(history_size=history_size, validator_factory=validator_factory)
        self._runner: web.AppRunner | None = None
        self._watch_tasks: set[asyncio.Task[Any]] = set()
        # Fault injection and the request log (tests: ``emulator.faults``).
        self.faults = KubeFaults(close_watches=self.store.close_watches)
        for crd in (*KOPF_PEERING_CRDS, *crds) if kopf_peering else tuple(crds):
            self.register_crd(crd)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def register_crd(self, crd: Mapping[str, Any]) -> dict[str, Any]:
        info = self.store.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        return self.store.create(info, None, dict(crd))

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the bound port when 0 was asked for

    async def stop(self) -> None:
        self.store.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------------------------------
    # HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except StatusError as exc:
            return _json(exc.as_status(), exc.code)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/version":
            return _json(SERVER_VERSION)
        if path == "/api":
            return _json({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
                ],
            })  # fmt: skip
        if path == "/apis":
            return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": self._groups()})
        if parts[:1] == ["apis"] and len(parts) == 2:
            for group in self._groups():
                if group["name"] == parts[1]:
                    return _json({"kind": "APIGroup", "apiVersion": "v1", **group})
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        if parts[:2] == ["api", "v1"] and len(parts) == 2:
            return _json(self._resource_list("", "v1"))
        if parts[:1] == ["apis"] and len(parts) == 3:
            return _json(self._resource_list(parts[1], parts[2]))
        if parts[:2] == ["api", "v1"]:
            return await self._resource_request(request, "", "v1", parts[2:])
        if parts[:1] == ["apis"] and len(parts) > 3:
            return await self._resource_request(request, parts[1], parts[2], parts[3:])
        raise StatusError(404, "NotFound", "the server could not find the requested resource")

    def _groups(self) -> list[dict[str, Any]]:
        versions: dict[str, set[str]] = {}
        for info in self.store.served():
            if info.group:
                versions.setdefault(info.group, set()).add(info.version)
        groups = []
        for name in sorted(versions):
            ordered = sorted(versions[name], key=_version_priority)
            entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in ordered]
            groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
        return groups

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        infos = [i for i in self.store.served() if i.group == group and i.version == version]
        if not infos:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        resources = []
        for info in sorted(infos, key=lambda i: i.plural):
            resources.append(info.api_resource())
            if info.status_subresource:
                resources.append(info.status_resource())
        group_version = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }

    def _locate(
        self, group: str, version: str, parts: list[str]
    ) -> tuple[ResourceInfo, str | None, str | None, str | None, bool]:
        """(resource, namespace, name, subresource, legacy-watch-path) from the path's tail."""
        legacy_watch = False
        if parts[:1] == ["watch"]:
            legacy_watch, parts = True, parts[1:]
        namespace = None
        if len(parts) >= 3 and parts[0] == "namespaces":
            candidate = self.store.lookup(group, version, parts[2])
            if candidate is not None and candidate.namespaced:
                namespace, parts = parts[1], parts[2:]
        if not parts or len(parts) > 3:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        info = self.store.resource(group, version, parts[0])
        name = parts[1] if len(parts) > 1 else None
        subresource = parts[2] if len(parts) > 2 else None
        if subresource is not None and not (subresource == "status" and info.status_subresource):
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        if info.namespaced and name is not None and namespace is None:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        return info, namespace, name, subresource, legacy_watch

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        if request.content_type == protobuf.PROTOBUF:
            try:
                return protobuf.decode(raw)
            except protobuf.ProtobufError as exc:
                raise StatusError(415, "UnsupportedMediaType", str(exc)) from None
        if request.content_type not in _BODY_TYPES:
            raise StatusError(
                415, "UnsupportedMediaType",
                f'the body of the request was in an unknown format - accepted media types '
                f'include: {", ".join(_BODY_TYPES)}',
            )  # fmt: skip
        try:
            if "yaml" in request.content_type:
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding the request body: {exc}") from None

    async def _resource_request(
        self, request: web.Request, group: str, version: str, parts: list[str]
    ) -> web.StreamResponse:
        info, namespace, name, subresource, legacy_watch = self._locate(group, version, parts)
        watching = legacy_watch or (request.method == "GET" and _truthy(request.query.get("watch")))
        verb = rbac_verb(request.method, name is not None and not legacy_watch, watching)
        seq = self.faults.record(
            verb=verb, group=group, resource=info.plural, subresource=subresource,
            namespace=namespace, name=name, status=0,
        )  # fmt: skip
        rule = self.faults.match(verb, info.plural, subresource, namespace)
        if rule is not None:
            self.faults.answered(seq, rule.status)
            raise rule.error(info.plural, group, name)
        try:
            response = await self._serve_resource(
                request, info, namespace, name, subresource, legacy_watch
            )
        except StatusError as exc:
            self.faults.answered(seq, exc.code)
            raise
        self.faults.answered(seq, response.status)
        return response

    async def _serve_resource(
        self,
        request: web.Request,
        info: ResourceInfo,
        namespace: str | None,
        name: str | None,
        subresource: str | None,
        legacy_watch: bool,
    ) -> web.StreamResponse:
        query = request.query
        method = request.method
        dry_run = "All" in query.getall("dryRun", [])
        strict = query.get("fieldValidation") == "Strict"
        store = self.store
        if method == "GET":
            labels = parse_label_selector(query.get("labelSelector"))
            fields = parse_field_selector(query.get("fieldSelector"), info.field_labels)
            if name is not None and not legacy_watch:
                obj = store.get(info, namespace, name)
                if "as=Table" in request.headers.get("Accept", ""):
                    return _json(to_table(info, [obj], {"resourceVersion": store.resource_version}))
                return _json(obj)
            if name is not None:  # /watch/.../name: a watch on one object
                fields = parse_field_selector(f"metadata.name={name}", info.field_labels)
            if legacy_watch or _truthy(query.get("watch")):
                return await self._watch(request, info, namespace, labels, fields)
            result = store.list(
                info,
                namespace,
                labels=labels,
                fields=fields,
                limit=int(query.get("limit", "0") or 0),
                continue_token=query.get("continue"),
            )
            if "as=Table" in request.headers.get("Accept", ""):
                return _json(to_table(info, result["items"], result["metadata"]))
            return _json(result)
        if method == "POST" and name is None:
            return _json(
                store.create(
                    info, namespace, await self._body(request), dry_run=dry_run, strict=strict
                ),
                201,
            )
        if method == "PUT" and name is not None:
            body = await self._body(request)
            return _json(
                store.update(
                    info,
                    namespace,
                    name,
                    body,
                    subresource=subresource,
                    dry_run=dry_run,
                    strict=strict,
                )
            )
        if method == "PATCH" and name is not None:
            body = await self._body(request)
            return _json(
                store.patch(
                    info, namespace, name, request.content_type, body,
                    subresource=subresource, dry_run=dry_run, strict=strict,
                )
            )  # fmt: skip
        if method == "DELETE" and name is not None and subresource is None:
            body = await self._body(request)
            result = store.delete(
                info, namespace, name, body if isinstance(body, dict) else None, dry_run=dry_run
            )
            return _json(result, 200)
        if method == "DELETE" and name is None:
            labels = parse_label_selector(query.get("labelSelector"))
            fields = parse_field_selector(query.get("fieldSelector"), info.field_labels)
            listed = store.list(info, namespace, labels=labels, fields=fields)
            deleted = []
            for item in listed["items"]:
                meta = item["metadata"]
                store.delete(info, meta.get("namespace"), meta["name"], dry_run=dry_run)
                deleted.append(item)
            return _json({**listed, "items": deleted})
        raise errors.method_not_allowed()

    async def _watch(
        self,
        request: web.Request,
        info: ResourceInfo,
        namespace: str | None,
        labels: Any,
        fields: Any,
    ) -> web.StreamResponse:
        query = request.query
        bookmarks = _truthy(query.get("allowWatchBookmarks"))
        initial_events = _truthy(query.get("sendInitialEvents"))
        rv = query.get("resourceVersion")
        watcher = self.store.watch(
            info, namespace, labels=labels, fields=fields,
            resource_version=None if initial_events else rv,
        )  # fmt: skip
        if initial_events and bookmarks:
            watcher.queue.put_nowait(self.store.bookmark(watcher, initial_events_end=True))
        timeout = float(query.get("timeoutSeconds", "0") or 0) or None
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            async with asyncio.timeout(timeout):
                while True:
                    item = await watcher.queue.get()
                    chunk = []
                    while item is not None:
                        chunk.append(item)
                        if watcher.queue.empty():
                            break
                        item = watcher.queue.get_nowait()
                    if chunk:
                        await response.write(b"".join(chunk))
                    if item is None:
                        break
        except TimeoutError:
            if bookmarks:
                with contextlib.suppress(ConnectionError):
                    await response.write(self.store.bookmark(watcher))
        except ConnectionError:
            pass
        finally:
            self.store.unwatch(watcher)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response


def load_crds(directory: str) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the YAML/JSON files of a directory."""
    crds: list[dict[str, Any]] = []
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith((".yaml", ".yml", ".json")):
            continue
        with open(os.path.join(directory, entry), encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    crds.append(doc)
    return crds


def write_kubeconfig(
    path: str, url: str, *, name: str = "emulator", namespace: str = "default"
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": name, "user": {"token": "emulator"}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
        "preferences": {},
    }
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f)


class KubeEmulator:
    """A :class:`KubeServer` in a background thread, with synchronous helpers for tests.

    ``with KubeEmulator() as kube:`` starts it (on a free port unless one is given) and writes
    ``kube.kubeconfig_path``; leaving the block closes all watches, stops the thread and removes
    the kubeconfig. Helpers address objects by ``apiVersion`` and ``kind`` as manifests do, run
    on the server's loop (so they are atomic with respect to requests) and raise
    :class:`~.errors.StatusError` exactly where the API would answer an error.
    """

    def __init__(
        self,
        *,
        name: str = "emulator",
        host: str = "127.0.0.1",
        port: int = 0,
        crds: Iterable[Mapping[str, Any]] = (),
        kopf_peering: bool = False,
        history_size: int = 20000,
        validator_factory: ValidatorFactory | None = default_validator_factory,
    ) -> None:
        self.name = name
        self._server_args: dict[str, Any] = {
            "host": host, "port": port, "crds": list(crds), "kopf_peering": kopf_peering,
            "history_size": history_size, "validator_factory": validator_factory,
        }  # fmt: skip
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: KubeServer | None = None
        self._tmpdir: str | None = None
        self._stopped: asyncio.Event | None = None
        self.kubeconfig_path = ""

    # lifecycle -----------------------------------------------------------------------------

    def start(self) -> KubeEmulator:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._main(ready, failure))
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"kube-emulator-{self.name}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        self._tmpdir = tempfile.mkdtemp(prefix=f"kube-emulator-{self.name}-")
        self.kubeconfig_path = os.path.join(self._tmpdir, "kubeconfig")
        write_kubeconfig(self.kubeconfig_path, self.url, name=self.name)
        return self

    async def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._stopped = asyncio.Event()
        try:
            self._server = KubeServer(**self._server_args)
            await self._server.start()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            await self._server.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)
        self._thread = None
        self._loop = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def server(self) -> KubeServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def faults(self) -> KubeFaults:
        """Fault rules and the request log; see :mod:`.faults`."""
        return self.server.faults

    def drop_watches(self) -> None:
        """End every open watch stream now, as an API server restart or a load balancer does."""
        self.call(self.server.faults.drop_watches)

    @contextlib.contextmanager
    def as_default(self) -> Iterator[KubeEmulator]:
        """Make this emulator the process's default cluster inside the block.

        Sets ``KUBECONFIG`` (kopf's ``login_with_kubeconfig``, kubectl) and, because the
        kubernetes client reads ``KUBECONFIG`` only once at import (and kopf's default
        ``login_via_client`` relies on that), its default location too when already imported.
        Both are restored afterwards.
        """
        saved_env = os.environ.get("KUBECONFIG")
        module = sys.modules.get("kubernetes.config.kube_config")
        saved_default = getattr(module, "KUBE_CONFIG_DEFAULT_LOCATION", None)
        os.environ["KUBECONFIG"] = self.kubeconfig_path
        if module is not None:
            setattr(module, "KUBE_CONFIG_DEFAULT_LOCATION", self.kubeconfig_path)  # noqa: B010
        try:
            yield self
        finally:
            if saved_env is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = saved_env
            if module is not None:
                setattr(module, "KUBE_CONFIG_DEFAULT_LOCATION", saved_default)  # noqa: B010

    def env(self) -> dict[str, str]:
        """Environment variables that point kopf, kubectl and the kubernetes client here."""
        return {"KUBECONFIG": self.kubeconfig_path}

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (atomically with requests) and return its result."""
        if self._loop is None:
            raise RuntimeError("the emulator is not running")

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout=30)

    # helpers -------------------------------------------------------------------------------

    def _info(self, api_version: str, kind: str) -> ResourceInfo:
        return self.store.find_resource(api_version, kind)

    def register_crd(self, crd: Mapping[str, Any]) -> dict[str, Any]:
        return self.call(lambda: self.server.register_crd(crd))

    def create(self, body: Mapping[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
        def op() -> dict[str, Any]:
            info = self._info(body["apiVersion"], body["kind"])
            ns = namespace or body.get("metadata", {}).get("namespace")
            return self.store.create(info, ns if info.namespaced else None, dict(body))

        return self.call(op)

    def get(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> dict[str, Any]:
        return self.call(lambda: self.store.get(self._info(api_version, kind), namespace, name))

    def get_or_none(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> dict[str, Any] | None:
        try:
            return self.get(api_version, kind, name, namespace=namespace)
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        def op() -> list[dict[str, Any]]:
            info = self._info(api_version, kind)
            labels = parse_label_selector(label_selector)
            fields = parse_field_selector(field_selector, info.field_labels)
            items: list[dict[str, Any]] = self.store.list(
                info, namespace, labels=labels, fields=fields
            )["items"]
            return items

        return self.call(op)

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        patch_type: str = "merge",
    ) -> dict[str, Any]:
        content_type = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[patch_type]
        return self.call(
            lambda: self.store.patch(
                self._info(api_version, kind), namespace, name, content_type, patch,
                subresource=subresource,
            )
        )  # fmt: skip

    def delete(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> dict[str, Any]:
        return self.call(lambda: self.store.delete(self._info(api_version, kind), namespace, name))

    def create_namespace(self, name: str) -> dict[str, Any]:
        return self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def create_kopf_peering(
        self, name: str = "default", *, namespace: str | None = None
    ) -> dict[str, Any]:
        """The peering object kopf keeps alive (its CRDs come with ``kopf_peering=True``)."""
        kind = "KopfPeering" if namespace else "ClusterKopfPeering"
        return self.create(
            {"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": {"name": name}},
            namespace=namespace,
        )

    def wait_for(
        self,
        predicate: Callable[[], Any],
        *,
        timeout: float = 10.0,
        interval: float = 0.02,
        message: str = "condition",
    ) -> Any:
        """Poll ``predicate`` (from the test's thread) until it returns something truthy."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
            time.sleep(interval)
