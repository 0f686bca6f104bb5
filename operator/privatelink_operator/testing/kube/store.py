"""The emulated API server's storage and its semantics, independent of HTTP.

Everything here runs on one asyncio loop and never awaits while changing state, so each write is
atomic, as an etcd transaction is. Stored objects are never mutated in place: a write stores a new
dict, so readers (responses, watch events, history) may hold references without copying.

What it reproduces from kube-apiserver (each has a test in ``tests/emulators/kube``):

* ``metadata.resourceVersion`` from one cluster-wide counter, bumped by every effective write and
  only then (a no-op patch keeps it and emits no watch event); ``uid``; ``creationTimestamp``;
  ``generation`` that increments only when something other than metadata (and, with a status
  subresource, other than status) changes;
* 409 ``AlreadyExists`` and 409 ``Conflict`` for a stale ``resourceVersion`` in PUT/PATCH bodies;
  422 when PUT of a custom resource omits ``resourceVersion``; 422 when a JSON-patch ``test``
  fails; 422 for invalid names; 404 for a namespaced object in a missing namespace;
* a real status subresource: writes to the main resource ignore ``status`` and writes to
  ``/status`` change nothing but ``status``; ``status`` is dropped on create;
* ``generateName``; label and field selectors (with 400 for unsupported field labels);
* deletion with finalizers (``deletionTimestamp`` set, object gone when the finalizers are empty,
  no new finalizers while deleting); namespace deletion (``Terminating``, contents deleted);
* watch streams from a ``resourceVersion`` (replaying only newer events), 410 ``Gone`` for a
  compacted ``resourceVersion``, objects leaving a selector seen as ``DELETED``;
* CRD registration with the schema enforced by the project's admission validator.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import datetime
import json
import logging
import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from . import errors
from .errors import StatusError
from .patching import (
    PatchApplyError,
    PatchFormatError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from .resources import BUILTIN_RESOURCES, ResourceInfo, resources_from_crd
from .selectors import FieldSelector, LabelSelector

__all__ = ["Store", "Validator", "Watcher"]

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
StorageKey = tuple[str, str]

CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL1035_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_NAME_MESSAGES = {
    "subdomain": (
        253,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*"
        "[a-z0-9])?)*')",
    ),
    "label": (
        63,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ),
    "label1035": (
        63,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ),
}
_NAME_PATTERNS = {"subdomain": _SUBDOMAIN_RE, "label": _LABEL_RE, "label1035": _LABEL1035_RE}
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


class Validator(Protocol):
    """What the store needs from ``privatelink_operator.admission.SchemaValidator``."""

    def admit(
        self, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None
    ) -> dict[str, Any]: ...


ValidatorFactory = Callable[[Mapping[str, Any], str], Validator | None]


def default_validator_factory(crd: Mapping[str, Any], version: str) -> Validator | None:
    """The project's schema/CEL validator, or ``None`` while it is not available."""
    try:
        from privatelink_operator.admission import SchemaValidator
    except ImportError:
        logger.warning("privatelink_operator.admission is not available: CRD schemas not enforced")
        return None
    validator: Validator = SchemaValidator.from_crd(crd, version)
    return validator


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rv_int(text: str | None, what: str = "resourceVersion") -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise errors.bad_request(f'{what}: Invalid value: "{text}": must be a number') from None


def _unknown_fields(original: Any, pruned: Any, path: str) -> list[str]:
    """Paths present in ``original`` that pruning removed (fieldValidation=Strict reports them)."""
    found: list[str] = []
    if isinstance(original, dict) and isinstance(pruned, dict):
        for key, value in original.items():
            child = f"{path}.{key}" if path else key
            if key not in pruned:
                if value is not None:
                    found.append(child)
            else:
                found.extend(_unknown_fields(value, pruned[key], child))
    elif isinstance(original, list) and isinstance(pruned, list):
        for index, (a, b) in enumerate(zip(original, pruned, strict=False)):
            found.extend(_unknown_fields(a, b, f"{path}[{index}]"))
    return found


class Watcher:
    """One watch stream: a filter and a queue of encoded event lines (``None`` ends it)."""

    def __init__(
        self,
        info: ResourceInfo,
        namespace: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        externalize: Callable[[ResourceInfo, Obj], Obj],
    ) -> None:
        self.info = info
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._externalize = externalize

    def matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.labels is not None and not self.labels.matches(meta.get("labels")):
            return False
        return self.fields is None or self.fields.matches(obj)

    def event_type(self, type_: str, old: Obj | None, new: Obj) -> str | None:
        if type_ == "ADDED":
            return "ADDED" if self.matches(new) else None
        if type_ == "DELETED":
            return "DELETED" if self.matches(old) or self.matches(new) else None
        was, now = self.matches(old), self.matches(new)
        if was and now:
            return "MODIFIED"
        if now:
            return "ADDED"
        if was:
            return "DELETED"
        return None

    def encode(self, type_: str, obj: Obj) -> bytes:
        external = self._externalize(self.info, obj)
        return (
            json.dumps({"type": type_, "object": external}, separators=(",", ":")).encode() + b"\n"
        )

    def offer(self, type_: str, old: Obj | None, new: Obj) -> None:
        effective = self.event_type(type_, old, new)
        if effective is not None:
            self.queue.put_nowait(self.encode(effective, new))

    def close(self) -> None:
        self.queue.put_nowait(None)


class Store:
    def __init__(
        self,
        *,
        history_size: int = 20000,
        validator_factory: ValidatorFactory | None = default_validator_factory,
    ) -> None:
        self._rv = 0
        self._history_size = history_size
        self._validator_factory = validator_factory
        self._served: dict[tuple[str, str, str], ResourceInfo] = {}
        self._objects: dict[StorageKey, dict[str, dict[str, Obj]]] = collections.defaultdict(dict)
        self._history: dict[StorageKey, collections.deque[tuple[int, str, Obj | None, Obj]]] = {}
        self._compacted: dict[StorageKey, int] = collections.defaultdict(int)
        self._watchers: dict[StorageKey, set[Watcher]] = collections.defaultdict(set)
        self._validators: dict[tuple[str, str], Validator | None] = {}
        self._next_ip = 1
        for info in BUILTIN_RESOURCES:
            self._served[info.group, info.version, info.plural] = info
        ns_info = self.resource("", "v1", "namespaces")
        for name in INITIAL_NAMESPACES:
            self.create(ns_info, None, {"metadata": {"name": name}})

    # ---------------------------------------------------------------------------------------
    # Resources and discovery

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def served(self) -> list[ResourceInfo]:
        return list(self._served.values())

    def lookup(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._served.get((group, version, plural))

    def resource(self, group: str, version: str, plural: str) -> ResourceInfo:
        try:
            return self._served[group, version, plural]
        except KeyError:
            raise StatusError(
                404,
                "NotFound",
                "the server could not find the requested resource",
                details={},
            ) from None

    def find_resource(self, api_version: str, kind: str) -> ResourceInfo:
        group, _, version = api_version.rpartition("/")
        for info in self._served.values():
            if info.group == group and info.version == version and info.kind == kind:
                return info
        raise StatusError(
            404, "NotFound", f'no matches for kind "{kind}" in version "{api_version}"'
        )

    def externalize(self, info: ResourceInfo, obj: Obj) -> Obj:
        if info.to_external is not None:
            return info.to_external(obj)
        if obj.get("apiVersion") != info.group_version:
            return {**obj, "apiVersion": info.group_version}
        return obj

    def _internalize(self, info: ResourceInfo, obj: Obj) -> Obj:
        obj = {**obj, "apiVersion": info.group_version, "kind": info.kind}
        if info.to_internal is not None:
            return info.to_internal(obj)
        return obj

    # ---------------------------------------------------------------------------------------
    # Reads

    def get(self, info: ResourceInfo, namespace: str | None, name: str) -> Obj:
        return self.externalize(info, self._current(info, namespace, name))

    def _current(self, info: ResourceInfo, namespace: str | None, name: str) -> Obj:
        bucket = self._objects[info.storage_key].get(namespace or "")
        obj = bucket.get(name) if bucket is not None else None
        if obj is None:
            raise errors.not_found(info.plural, info.group, name)
        return obj

    def _iter(self, info: ResourceInfo, namespace: str | None) -> Iterable[Obj]:
        buckets = self._objects[info.storage_key]
        if namespace is not None and info.namespaced:
            yield from buckets.get(namespace, {}).values()
        else:
            for bucket in buckets.values():
                yield from bucket.values()

    def list(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> Obj:
        items = [
            obj
            for obj in self._iter(info, namespace)
            if (labels is None or labels.matches(obj["metadata"].get("labels")))
            and (fields is None or fields.matches(obj))
        ]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        rv = self.resource_version
        if continue_token:
            try:
                start_key, rv = json.loads(base64.urlsafe_b64decode(continue_token))
            except ValueError:
                raise errors.bad_request("invalid continue token") from None
            items = [
                o
                for o in items
                if [o["metadata"].get("namespace", ""), o["metadata"]["name"]] > start_key
            ]
        metadata: Obj = {"resourceVersion": rv}
        if limit and len(items) > limit:
            items = items[:limit]
            last = items[-1]["metadata"]
            token = [[last.get("namespace", ""), last["name"]], rv]
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        return {
            "apiVersion": info.group_version,
            "kind": f"{info.kind}List",
            "metadata": metadata,
            "items": [self.externalize(info, obj) for obj in items],
        }

    # ---------------------------------------------------------------------------------------
    # Watches

    def watch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        resource_version: str | None = None,
    ) -> Watcher:
        """Start a watch; its queue already holds the events it must see first.

        No ``resourceVersion`` (or ``"0"``): synthetic ``ADDED`` for every current object, then
        changes. A ``resourceVersion``: only events after it, from history; a compacted one is
        answered with an ``ERROR`` event carrying a 410 ``Gone`` status, as the API server does.
        """
        watcher = Watcher(
            info, namespace if info.namespaced else None, labels, fields, self.externalize
        )
        key = info.storage_key
        if not resource_version or resource_version == "0":
            for obj in self._iter(info, namespace):
                if watcher.matches(obj):
                    watcher.queue.put_nowait(watcher.encode("ADDED", obj))
        else:
            since = _rv_int(resource_version)
            if since < self._compacted[key]:
                gone = StatusError(
                    410,
                    "Expired",
                    f"too old resource version: {since} ({self._compacted[key] + 1})",
                ).as_status()
                watcher.queue.put_nowait(
                    json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n"
                )
                watcher.queue.put_nowait(None)
                return watcher
            for rv, type_, old, new in self._history.get(key, ()):
                if rv > since:
                    watcher.offer(type_, old, new)
        self._watchers[key].add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers[watcher.info.storage_key].discard(watcher)

    def close_watches(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.close()
            watchers.clear()

    def bookmark(self, watcher: Watcher, *, initial_events_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": self.resource_version}
        if initial_events_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {
            "kind": watcher.info.kind,
            "apiVersion": watcher.info.group_version,
            "metadata": meta,
        }
        return json.dumps({"type": "BOOKMARK", "object": obj}).encode() + b"\n"

    def _record(self, info: ResourceInfo, type_: str, old: Obj | None, new: Obj) -> None:
        key = info.storage_key
        history = self._history.get(key)
        if history is None:
            history = self._history[key] = collections.deque()
        history.append((self._rv, type_, old, new))
        if len(history) > self._history_size:
            self._compacted[key] = history.popleft()[0]
        for watcher in list(self._watchers.get(key, ())):
            watcher.offer(type_, old, new)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    # ---------------------------------------------------------------------------------------
    # Writes

    def _check_kind(self, info: ResourceInfo, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request is not a JSON object")
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version is not None and api_version != info.group_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.group_version})"
            )
        if kind is not None and kind != info.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        return body

    def _check_name(self, info: ResourceInfo, name: str) -> None:
        max_len, message = _NAME_MESSAGES[info.name_rule]
        causes = []
        if len(name) > max_len:
            causes.append(
                (
                    "metadata.name",
                    "Invalid value",
                    f'"{name}": must be no more than {max_len} characters',
                )
            )
        if not _NAME_PATTERNS[info.name_rule].match(name):
            causes.append(("metadata.name", "Invalid value", f'"{name}": {message}'))
        if causes:
            raise errors.invalid(info.kind, info.group, name, causes)

    def _check_namespace(self, info: ResourceInfo, namespace: str | None) -> None:
        if not info.namespaced:
            return
        ns = self._objects["", "namespaces"].get("", {}).get(namespace or "")
        if ns is None:
            raise errors.not_found("namespaces", "", namespace or "")
        if ns["metadata"].get("deletionTimestamp"):
            raise StatusError(
                403,
                "Forbidden",
                f"{info.plural} is forbidden: unable to create new content in namespace "
                f"{namespace} because it is being terminated",
            )

    def _admit(self, info: ResourceInfo, obj: Obj, old: Obj | None, *, strict: bool) -> Obj:
        if info.crd_name is None:
            return obj
        key = (info.crd_name, info.version)
        validator = self._validators.get(key)
        if validator is None:
            return obj
        from privatelink_operator.admission import AdmissionError

        prune = getattr(validator, "prune", None)
        if strict and prune is not None:
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            unknown = _unknown_fields(body, prune(body), "")
            if unknown:
                listed = ", ".join(f'unknown field "{path}"' for path in unknown)
                raise errors.bad_request(f"strict decoding error: {listed}")
        try:
            admitted = validator.admit(obj, old)
        except AdmissionError as exc:
            status = exc.to_status(info.kind, obj.get("metadata", {}).get("name", ""), info.group)
            raise StatusError(
                422, "Invalid", status["message"], details=status.get("details")
            ) from None
        # Metadata is the API server's, not the schema's: keep it as it was.
        return {
            **admitted,
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "metadata": obj["metadata"],
        }

    def create(
        self,
        info: ResourceInfo,
        namespace: str | None,
        body: Any,
        *,
        dry_run: bool = False,
        strict: bool = False,
    ) -> Obj:
        body = self._check_kind(info, body)
        obj = copy.deepcopy(self._internalize(info, body))
        meta: Obj = obj.setdefault("metadata", {})
        if info.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            namespace = namespace or meta.get("namespace") or "default"
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = None
        if meta.get("resourceVersion"):
            raise StatusError(
                500,
                "InternalError",
                "Internal error occurred: resourceVersion should not be set on objects to be "
                "created",
            )
        bucket = self._objects[info.storage_key].setdefault(namespace or "", {})
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise errors.invalid(
                    info.kind,
                    info.group,
                    "",
                    [("metadata.name", "Required value", "name or generateName is required")],
                )
            while True:
                name = prefix + "".join(random.choices(_GENERATE_ALPHABET, k=5))
                if name not in bucket:
                    break
            meta["name"] = name
        name = meta["name"]
        if not isinstance(name, str):
            raise errors.bad_request("metadata.name must be a string")
        self._check_name(info, name)
        self._check_namespace(info, namespace)
        if name in bucket:
            raise errors.already_exists(info.plural, info.group, name)

        for field in (
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if info.has_generation:
            meta["generation"] = 1
        if info.status_subresource:
            obj.pop("status", None)
        self._defaults_on_create(info, obj)
        obj = self._admit(info, obj, None, strict=strict)
        if info.crd_name is None and info.plural == "customresourcedefinitions":
            self._check_crd(obj)
        if dry_run:
            return self.externalize(info, obj)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        bucket[name] = obj
        self._record(info, "ADDED", None, obj)
        if info.group == "apiextensions.k8s.io":
            self._register_crd(obj)
        return self.externalize(info, obj)

    def _defaults_on_create(self, info: ResourceInfo, obj: Obj) -> None:
        meta = obj["metadata"]
        if info.group == "" and info.plural == "namespaces":
            meta["labels"] = {**meta.get("labels", {}), "kubernetes.io/metadata.name": meta["name"]}
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        elif info.group == "" and info.plural == "services":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if spec["type"] != "ExternalName":
                if not spec.get("clusterIP"):
                    spec["clusterIP"] = f"10.96.{self._next_ip // 254}.{self._next_ip % 254 + 1}"
                    self._next_ip += 1
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")
            for port in spec.get("ports", []) or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    port.setdefault("targetPort", port.get("port"))
            obj["status"] = {"loadBalancer": {}}
        elif info.group == "" and info.plural == "secrets":
            obj["type"] = obj.get("type") or "Opaque"
        elif info.group == "" and info.plural == "pods":
            obj["status"] = {"phase": "Pending"}
        elif info.group == "apiextensions.k8s.io":
            obj["status"] = self._crd_status(obj)
            finalizers = meta.setdefault("finalizers", [])
            if CRD_FINALIZER not in finalizers:
                finalizers.append(CRD_FINALIZER)

    def update(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        strict: bool = False,
    ) -> Obj:
        body = self._check_kind(info, body)
        current = self._current(info, namespace, name)
        meta = body.get("metadata") or {}
        if meta.get("name") is not None and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        if info.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        rv = meta.get("resourceVersion")
        if not rv:
            if not info.unconditional_update:
                raise errors.invalid(
                    info.kind,
                    info.group,
                    name,
                    [
                        (
                            "metadata.resourceVersion",
                            "Invalid value",
                            "0x0: must be specified for an update",
                        )
                    ],
                )
        elif rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(info.plural, info.group, name)
        new = self._internalize(info, copy.deepcopy(body))
        return self._commit(
            info, current, new, subresource=subresource, dry_run=dry_run, strict=strict
        )

    def patch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        strict: bool = False,
    ) -> Obj:
        current = self._current(info, namespace, name)
        external = self.externalize(info, current)
        try:
            if content_type == "application/merge-patch+json":
                if not isinstance(patch, dict):
                    raise PatchFormatError("merge patch must be an object")
                patched = apply_merge_patch(external, patch)
            elif content_type == "application/json-patch+json":
                patched = apply_json_patch(external, patch)
            elif content_type == "application/strategic-merge-patch+json" and info.crd_name is None:
                patched = apply_strategic_merge_patch(external, patch)
            else:
                raise StatusError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types "
                    f"include: application/json-patch+json, application/merge-patch+json"
                    f"{'' if info.crd_name else ', application/strategic-merge-patch+json'}",
                )
        except PatchFormatError as exc:
            raise errors.bad_request(str(exc)) from None
        except PatchApplyError as exc:
            raise StatusError(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request",
                details={"causes": [{"reason": "FieldValueInvalid", "message": str(exc)}]},
            ) from None
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        meta = patched.get("metadata") or {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                f"({name})"
            )
        rv = meta.get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(info.plural, info.group, name)
        new = self._internalize(info, copy.deepcopy(self._check_kind(info, patched)))
        return self._commit(
            info, current, new, subresource=subresource, dry_run=dry_run, strict=strict
        )

    def _commit(
        self,
        info: ResourceInfo,
        current: Obj,
        new: Obj,
        *,
        subresource: str | None,
        dry_run: bool,
        strict: bool = False,
    ) -> Obj:
        old_meta = current["metadata"]
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(current)
            new.pop("status", None)
            if status is not None:
                new["status"] = status
        else:
            meta = new.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise errors.bad_request("metadata must be an object")
            for field in ("name", "namespace", "uid", "creationTimestamp", "generation",
                          "deletionTimestamp", "deletionGracePeriodSeconds"):  # fmt: skip
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            meta.pop("managedFields", None)
            meta.pop("selfLink", None)
            if info.status_subresource:
                new.pop("status", None)
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    raise errors.invalid(
                        info.kind, info.group, old_meta["name"],
                        [("metadata.finalizers", "Forbidden",
                          "no new finalizers can be added if the object is being deleted, found "
                          f"new finalizers {sorted(added)!r}")],
                    )  # fmt: skip
            if not meta.get("finalizers"):
                meta.pop("finalizers", None)
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        new = self._admit(info, new, current, strict=strict)

        if info.has_generation:
            skip = {"metadata", "status"} if info.status_subresource else {"metadata"}
            changed = {k: v for k, v in new.items() if k not in skip} != {
                k: v for k, v in current.items() if k not in skip
            }
            new["metadata"]["generation"] = old_meta.get("generation", 1) + (1 if changed else 0)
        if new == current:
            return self.externalize(info, current)  # a no-op: same resourceVersion, no event
        if dry_run:
            return self.externalize(info, new)

        new["metadata"]["resourceVersion"] = self._next_rv()
        bucket = self._objects[info.storage_key][old_meta.get("namespace", "")]
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            del bucket[old_meta["name"]]
            self._record(info, "DELETED", current, new)
            self._after_delete(info, new)
            return self.externalize(info, new)
        bucket[old_meta["name"]] = new
        self._record(info, "MODIFIED", current, new)
        if info.group == "apiextensions.k8s.io":
            self._register_crd(new)
        return self.externalize(info, new)

    def delete(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> Obj:
        current = self._current(info, namespace, name)
        meta = current["metadata"]
        preconditions = (options or {}).get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != meta["uid"]:
            raise StatusError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {info.plural} "{name}": Precondition failed: '
                f"UID in precondition: {preconditions['uid']}, UID in object meta: {meta['uid']}",
            )
        if (
            preconditions.get("resourceVersion")
            and preconditions["resourceVersion"] != meta["resourceVersion"]
        ):
            raise StatusError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {info.plural} "{name}": Precondition failed: '
                f"ResourceVersion in precondition: {preconditions['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        finalizers = meta.get("finalizers") or (
            current.get("spec", {}).get("finalizers")
            if info.plural == "namespaces" and not info.group
            else None
        )
        if finalizers:
            if meta.get("deletionTimestamp"):
                return self.externalize(info, current)
            new = copy.deepcopy(current)
            new["metadata"]["deletionTimestamp"] = now_rfc3339()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if info.plural == "namespaces" and not info.group:
                new["status"] = {"phase": "Terminating"}
            if dry_run:
                return self.externalize(info, new)
            new["metadata"]["resourceVersion"] = self._next_rv()
            self._objects[info.storage_key][namespace or ""][name] = new
            self._record(info, "MODIFIED", current, new)
            if info.plural == "namespaces" and not info.group:
                self._empty_namespace(name)
            elif info.plural == "customresourcedefinitions":
                self._crd_cleanup(new)
            return self.externalize(info, new)
        if dry_run:
            return self._deleted_status(info, current)
        new = copy.deepcopy(current)
        new["metadata"]["resourceVersion"] = self._next_rv()
        del self._objects[info.storage_key][namespace or ""][name]
        self._record(info, "DELETED", current, new)
        self._after_delete(info, new)
        if info.crd_name is not None:
            return self.externalize(info, new)
        return self._deleted_status(info, new)

    @staticmethod
    def _deleted_status(info: ResourceInfo, obj: Obj) -> Obj:
        details: Obj = {
            "name": obj["metadata"]["name"],
            "kind": info.plural,
            "uid": obj["metadata"]["uid"],
        }
        if info.group:
            details["group"] = info.group
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    def _after_delete(self, info: ResourceInfo, obj: Obj) -> None:
        meta = obj["metadata"]
        if info.namespaced:
            ns = self._objects["", "namespaces"].get("", {}).get(meta.get("namespace", ""))
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self._finish_namespace(ns)
        if info.crd_name is not None:
            crd = (
                self._objects["apiextensions.k8s.io", "customresourcedefinitions"]
                .get("", {})
                .get(info.crd_name)
            )
            if crd is not None and crd["metadata"].get("deletionTimestamp"):
                self._crd_cleanup(crd)
        if info.group == "apiextensions.k8s.io":
            self._unregister_crd(obj)

    def _empty_namespace(self, namespace: str) -> None:
        """The namespace controller: delete everything in a terminating namespace."""
        for info in {i.storage_key: i for i in self._served.values() if i.namespaced}.values():
            for obj in list(self._objects[info.storage_key].get(namespace, {}).values()):
                if not obj["metadata"].get("deletionTimestamp"):
                    self.delete(info, namespace, obj["metadata"]["name"])
        ns = self._objects["", "namespaces"][""].get(namespace)
        if ns is not None:
            self._finish_namespace(ns)

    def _finish_namespace(self, ns: Obj) -> None:
        name = ns["metadata"]["name"]
        if any(self._objects[key].get(name) for key in list(self._objects)):
            return
        info = self.resource("", "v1", "namespaces")
        new = copy.deepcopy(ns)
        new["spec"] = {}
        new["metadata"]["resourceVersion"] = self._next_rv()
        del self._objects["", "namespaces"][""][name]
        self._record(info, "DELETED", ns, new)

    # ---------------------------------------------------------------------------------------
    # CRDs

    @staticmethod
    def _check_crd(crd: Obj) -> None:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        name = crd["metadata"]["name"]
        causes = []
        if not spec.get("group"):
            causes.append(("spec.group", "Required value", ""))
        if not names.get("plural") or not names.get("kind"):
            causes.append(("spec.names", "Required value", "plural and kind are required"))
        elif name != f"{names['plural']}.{spec.get('group')}":
            causes.append(
                (
                    "metadata.name",
                    "Invalid value",
                    f'"{name}": must be spec.names.plural+"."+spec.group',
                )
            )
        if not spec.get("versions"):
            causes.append(
                (
                    "spec.versions",
                    "Invalid value",
                    "must have exactly one version marked as storage version",
                )
            )
        if causes:
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes)

    @staticmethod
    def _crd_status(crd: Obj) -> Obj:
        now = now_rfc3339()
        storage = [v["name"] for v in crd["spec"].get("versions", []) if v.get("storage")]
        return {
            "acceptedNames": crd["spec"]["names"],
            "storedVersions": storage,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
        }  # fmt: skip

    def _register_crd(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        for served in [k for k, info in self._served.items() if info.crd_name == name]:
            del self._served[served]
        for key in [k for k in self._validators if k[0] == name]:
            del self._validators[key]
        for info in resources_from_crd(crd):
            self._served[info.group, info.version, info.plural] = info
            if self._validator_factory is not None:
                self._validators[name, info.version] = self._validator_factory(crd, info.version)

    def _unregister_crd(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        for served in [k for k, info in self._served.items() if info.crd_name == name]:
            info = self._served.pop(served)
            self._objects.pop(info.storage_key, None)
            self._history.pop(info.storage_key, None)
            for watcher in self._watchers.pop(info.storage_key, set()):
                watcher.close()
        for key in [k for k in self._validators if k[0] == name]:
            del self._validators[key]

    def _crd_cleanup(self, crd: Obj) -> None:
        """The CRD finalizer: delete all instances, then let the CRD go."""
        infos = [i for i in self._served.values() if i.crd_name == crd["metadata"]["name"]]
        remaining = False
        for info in infos[:1]:
            for bucket in list(self._objects[info.storage_key].values()):
                for obj in list(bucket.values()):
                    if not obj["metadata"].get("deletionTimestamp"):
                        self.delete(info, obj["metadata"].get("namespace"), obj["metadata"]["name"])
            remaining = any(self._objects[info.storage_key].values())
        if not remaining:
            crd_info = self.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            current = self._objects[crd_info.storage_key][""].get(crd["metadata"]["name"])
            if current is not None:
                new = copy.deepcopy(current)
                new["metadata"]["resourceVersion"] = self._next_rv()
                del self._objects[crd_info.storage_key][""][crd["metadata"]["name"]]
                self._record(crd_info, "DELETED", current, new)
                self._unregister_crd(new)
