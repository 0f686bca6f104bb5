"""The only module that imports kopf: thin handlers around the level-based reconcilers.

Each object gets one daemon: a loop that runs a pass, writes status, then sleeps until its
requeue delay, the drift period, or a wake-up (spec change, its Service's endpoints changed).
One loop per object means a drift check and an event never overlap; nothing sleeps inside a
pass. Deletion is a handler behind the operator's finalizer that plans an empty state and
comes back (``TemporaryError``) until nothing owned is left.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf
from pydantic import ValidationError

from . import GROUP, VERSION, kube
from .api import PrivateLinkServiceSpec
from .aws import AwsClients, AwsError
from .ownership import Owner
from .provider.desired import Target
from .provider.reconcile import Outcome, delete_service, reconcile_service
from .status import Condition, Stall, merge_conditions, summarize

PLS = "privatelinkservices"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass
class OperatorConfig:
    """Set by ``runner`` before kopf starts."""

    cluster_name: str = "default"
    drift_period: float = 60.0
    aws: AwsClients | None = None
    probe_resolve: list[str] = field(default_factory=list)


CONFIG = OperatorConfig()

_wake: dict[tuple[str, str, str], asyncio.Event] = {}
_locks: dict[tuple[str, str, str], asyncio.Lock] = {}
_service_refs: dict[tuple[str, str], set[str]] = {}


def _aws() -> AwsClients:
    if CONFIG.aws is None:
        CONFIG.aws = AwsClients()
    return CONFIG.aws


def _lock(key: tuple[str, str, str]) -> asyncio.Lock:
    return _locks.setdefault(key, asyncio.Lock())


def wake(plural: str, namespace: str, name: str) -> None:
    event = _wake.get((plural, namespace, name))
    if event is not None:
        event.set()


@kopf.on.startup()
async def configure(**kw: Any) -> None:
    settings: kopf.OperatorSettings = kw["settings"]
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.batching.error_delays = [1, 2, 5, 10, 20, 30, 60]
    _aws()


# -- the Service's endpoints, for backend.serviceRef ------------------------------------------


@kopf.index("", "v1", "services")
def service_ports(**kw: Any) -> Any:
    return {(kw["namespace"], kw["name"]): list(kw["spec"].get("ports") or [])}


@kopf.index("discovery.k8s.io", "v1", "endpointslices", labels={SERVICE_NAME_LABEL: kopf.PRESENT})
def endpoint_slices(**kw: Any) -> Any:
    body = kw["body"]
    return {
        (kw["namespace"], kw["labels"][SERVICE_NAME_LABEL]): {
            "ports": list(body.get("ports") or []),
            "endpoints": list(body.get("endpoints") or []),
        }
    }


@kopf.on.event(
    "discovery.k8s.io", "v1", "endpointslices", labels={SERVICE_NAME_LABEL: kopf.PRESENT}
)
def endpoints_changed(**kw: Any) -> None:
    namespace = kw["namespace"]
    for name in _service_refs.get((namespace, kw["labels"][SERVICE_NAME_LABEL]), set()):
        wake(PLS, namespace, name)


def ready_targets(
    ports: list[Mapping[str, Any]] | None,
    slices: list[Mapping[str, Any]],
    service_port: int | str | None,
) -> list[Target] | None:
    """Ready addresses of a Service's EndpointSlices, on the target port of ``service_port``.

    None when the Service is not known (targets are then left as they are, never emptied).
    """
    if ports is None:
        return None
    port_name: str | None = None
    if service_port is None:
        if len(ports) != 1:
            return None
        port_name = ports[0].get("name") or ""
    else:
        for port in ports:
            if service_port in (port.get("port"), port.get("name")):
                port_name = port.get("name") or ""
    if port_name is None:
        return None
    targets = set()
    for piece in slices:
        numbers = [
            p.get("port") for p in piece.get("ports") or [] if (p.get("name") or "") == port_name
        ]
        if not numbers or numbers[0] is None:
            continue
        for endpoint in piece.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in endpoint.get("addresses") or []:
                targets.add(Target(str(address), int(numbers[0])))
    return sorted(targets)


# -- PrivateLinkService ------------------------------------------------------------------------


@kopf.on.update(GROUP, VERSION, PLS, field="spec")
def pls_spec_changed(**kw: Any) -> None:
    wake(PLS, kw["namespace"], kw["name"])


def _owner(kind: str, namespace: str, name: str, uid: str) -> Owner:
    return Owner(CONFIG.cluster_name, kind, namespace, name, uid)


async def _post_events(body: Any, outcome: Outcome) -> None:
    for kind, reason, message in outcome.events:
        kopf.event(body, type=kind, reason=reason, message=message[:1000])


def _invalid_spec_status(exc: ValidationError, status: Mapping[str, Any], gen: Any) -> Any:
    message = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
    )
    conds = summarize([], Stall("InvalidSpec", f"spec is invalid: {message}"))
    return {"conditions": merge_conditions(status.get("conditions"), conds, gen)}


async def pls_pass(body: Any, namespace: str, name: str, uid: str, indexes: Any) -> float:
    """One reconcile pass; returns the seconds until the next one."""
    status = dict(body.get("status") or {})
    generation = body.get("metadata", {}).get("generation")
    try:
        spec = PrivateLinkServiceSpec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as exc:
        await kube.patch_status(PLS, namespace, name, _invalid_spec_status(exc, status, generation))
        return CONFIG.drift_period
    targets: list[Target] | None = None
    ref = spec.backend.service_ref
    if ref is not None:
        _service_refs.setdefault((namespace, ref.name), set()).add(name)
        services, slices = indexes
        key = (namespace, ref.name)
        ports = next(iter(services.get(key, [])), None) if key in services else None
        targets = ready_targets(ports, list(slices.get(key, [])), ref.port)
    owner = _owner("PrivateLinkService", namespace, name, uid)
    outcome = await asyncio.to_thread(
        reconcile_service, _aws(), owner, spec, status, generation, targets
    )
    if ref is not None and targets is None:
        outcome.status.setdefault("conditions", [])
    await kube.patch_status(PLS, namespace, name, outcome.status)
    await _post_events(body, outcome)
    return outcome.requeue if outcome.requeue is not None else CONFIG.drift_period


async def _transient(
    body: Any, plural: str, namespace: str, name: str, exc: AwsError, failures: int
) -> float:
    """An AWS error that time will fix: say so in status, back off exponentially."""
    status = dict(body.get("status") or {})
    generation = body.get("metadata", {}).get("generation")
    parts = [Condition.false("Ready", exc.code, f"{exc}; retrying")]
    conds = merge_conditions(status.get("conditions"), summarize(parts), generation)
    await kube.patch_status(plural, namespace, name, {"conditions": conds})
    delay: float = min(300.0, 2.0 ** min(failures, 8)) * random.uniform(0.8, 1.2)
    return delay


async def _loop(
    plural: str,
    stopped: Any,
    body: Any,
    namespace: str,
    name: str,
    uid: str,
    logger: Any,
    run_pass: Any,
) -> None:
    key = (plural, namespace, name)
    event = _wake.setdefault(key, asyncio.Event())
    failures = 0
    try:
        while not stopped and not body.get("metadata", {}).get("deletionTimestamp"):
            event.clear()
            async with _lock(key):
                try:
                    delay = await run_pass()
                    failures = 0
                except AwsError as exc:
                    failures += 1
                    logger.warning(f"AWS: {exc}")
                    delay = await _transient(body, plural, namespace, name, exc, failures)
            waiter = asyncio.ensure_future(event.wait())
            stopper = asyncio.ensure_future(stopped.wait())
            try:
                await asyncio.wait({waiter, stopper}, timeout=delay, return_when="FIRST_COMPLETED")
            finally:
                waiter.cancel()
                stopper.cancel()
    finally:
        _wake.pop(key, None)


@kopf.daemon(GROUP, VERSION, PLS, cancellation_timeout=60)
async def pls_daemon(**kw: Any) -> None:
    body, namespace, name, uid = kw["body"], kw["namespace"], kw["name"], kw["uid"]
    indexes = (kw["service_ports"], kw["endpoint_slices"])

    async def run_pass() -> float:
        return await pls_pass(body, namespace, name, uid, indexes)

    await _loop(PLS, kw["stopped"], body, namespace, name, uid, kw["logger"], run_pass)


@kopf.on.delete(GROUP, VERSION, PLS)
async def pls_delete(**kw: Any) -> None:
    body, spec, namespace, name, uid = (kw[k] for k in ("body", "spec", "namespace", "name", "uid"))
    for names in _service_refs.values():
        names.discard(name)
    if spec.get("deletionPolicy") == "Retain":
        kopf.event(
            body,
            type="Normal",
            reason="Retained",
            message="deletionPolicy Retain: every AWS resource is left in place",
        )
        return
    try:
        model = PrivateLinkServiceSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise kopf.PermanentError(f"spec is invalid, cannot plan the deletion: {exc}") from exc
    owner = _owner("PrivateLinkService", namespace, name, uid)
    async with _lock((PLS, namespace, name)):
        try:
            outcome = await asyncio.to_thread(
                delete_service, _aws(), owner, model, dict(body.get("status") or {})
            )
        except AwsError as exc:
            raise kopf.TemporaryError(f"deleting: {exc}", delay=10) from exc
    await _post_events(body, outcome)
    if not outcome.finished:
        removed = ", ".join(d.step.resource for d in outcome.done) or "nothing yet"
        raise kopf.TemporaryError(
            f"deleting AWS resources (removed: {removed}); checking again",
            delay=outcome.requeue or 5,
        )
