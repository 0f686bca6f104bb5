"""What the emulated API server serves: built-in kinds, kopf's peering CRDs, CRD-defined kinds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "BUILTIN_RESOURCES",
    "KOPF_PEERING_CRDS",
    "ResourceInfo",
    "resources_from_crd",
]

Converter = Callable[[Mapping[str, Any]], dict[str, Any]]

_META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


@dataclasses.dataclass(frozen=True)
class ResourceInfo:
    """One served resource in one group/version."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    has_generation: bool = False
    unconditional_update: bool = True  # PUT without metadata.resourceVersion allowed
    name_rule: str = "subdomain"  # subdomain | label | label1035
    field_labels: frozenset[str] = _META_FIELDS
    # Objects of several served versions (or of events.k8s.io and core events) share one storage.
    storage: tuple[str, str] = ("", "")
    to_external: Converter | None = None  # stored form -> this version's form
    to_internal: Converter | None = None  # this version's form -> stored form
    crd_name: str | None = None  # set for custom resources
    printer_columns: tuple[Mapping[str, Any], ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        return self.storage if self.storage != ("", "") else (self.group, self.plural)

    def api_resource(self) -> dict[str, Any]:
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry

    def status_resource(self) -> dict[str, Any]:
        return {
            "name": f"{self.plural}/status",
            "singularName": "",
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ["get", "patch", "update"],
        }


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool,
    *,
    short: tuple[str, ...] = (),
    status: bool = False,
    generation: bool = False,
    name_rule: str = "subdomain",
    fields: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    storage: tuple[str, str] = ("", ""),
    to_external: Converter | None = None,
    to_internal: Converter | None = None,
) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        status_subresource=status,
        has_generation=generation,
        name_rule=name_rule,
        field_labels=_META_FIELDS | frozenset(fields),
        storage=storage,
        to_external=to_external,
        to_internal=to_internal,
    )


# events.k8s.io/v1 Event <-> core/v1 Event: the same stored objects seen through two versions.
_EVENTS_RENAMES = {
    "involvedObject": "regarding",
    "message": "note",
    "reportingComponent": "reportingController",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
}
_EVENTS_BACK = {v: k for k, v in _EVENTS_RENAMES.items()}


def _core_event_to_events_v1(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = {_EVENTS_RENAMES.get(k, k): v for k, v in obj.items()}
    out["apiVersion"] = "events.k8s.io/v1"
    return out


def _events_v1_to_core_event(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = {_EVENTS_BACK.get(k, k): v for k, v in obj.items()}
    out["apiVersion"] = "v1"
    return out


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTIN_RESOURCES: tuple[ResourceInfo, ...] = (
    _builtin("", "v1", "namespaces", "Namespace", False, short=("ns",), status=True,
             name_rule="label", fields=("status.phase",)),
    _builtin("", "v1", "configmaps", "ConfigMap", True, short=("cm",)),
    _builtin("", "v1", "secrets", "Secret", True, fields=("type",)),
    _builtin("", "v1", "services", "Service", True, short=("svc",), status=True,
             name_rule="label1035", categories=("all",)),
    _builtin("", "v1", "endpoints", "Endpoints", True, short=("ep",)),
    _builtin("", "v1", "events", "Event", True, short=("ev",), fields=_EVENT_FIELDS),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", True, short=("sa",)),
    _builtin("", "v1", "pods", "Pod", True, short=("po",), status=True, categories=("all",),
             fields=("spec.nodeName", "spec.serviceAccountName", "status.phase", "status.podIP")),
    _builtin("events.k8s.io", "v1", "events", "Event", True, short=("ev",),
             fields=_EVENT_FIELDS, storage=("", "events"),
             to_external=_core_event_to_events_v1, to_internal=_events_v1_to_core_event),
    _builtin("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", True),
    _builtin("apps", "v1", "deployments", "Deployment", True, short=("deploy",), status=True,
             generation=True, categories=("all",)),
    _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
             False, short=("crd", "crds"), status=True, generation=True),
)  # fmt: skip


def resources_from_crd(crd: Mapping[str, Any]) -> list[ResourceInfo]:
    """The resources a CRD serves: one per served version, all sharing one storage."""
    spec = crd["spec"]
    names = spec["names"]
    group = spec["group"]
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    result = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        fields = {str(f["jsonPath"]).lstrip(".") for f in version.get("selectableFields", []) or []}
        result.append(
            ResourceInfo(
                group=group,
                version=version["name"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                kind=names["kind"],
                namespaced=namespaced,
                short_names=tuple(names.get("shortNames", []) or []),
                categories=tuple(names.get("categories", []) or []),
                status_subresource="status" in (version.get("subresources") or {}),
                has_generation=True,
                unconditional_update=False,
                field_labels=_META_FIELDS | frozenset(fields),
                storage=(group, names["plural"]),
                crd_name=crd["metadata"]["name"],
                printer_columns=tuple(version.get("additionalPrinterColumns", []) or []),
            )
        )
    return result


def _peering_crd(kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kopf.dev"},
        "spec": {
            "scope": scope,
            "group": "kopf.dev",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                    "additionalPrinterColumns": [
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                    ],
                }
            ],
        },
    }


# kopf's own peering CRDs (as in kopf's docs/peering.yaml), for operators that run with peering.
KOPF_PEERING_CRDS: tuple[dict[str, Any], ...] = (
    _peering_crd("ClusterKopfPeering", "clusterkopfpeerings", "Cluster"),
    _peering_crd("KopfPeering", "kopfpeerings", "Namespaced"),
)
