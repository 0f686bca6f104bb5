"""The handlers kopf calls: thin ones around the level-based reconcilers.

Each object's passes run from one scheduler for all (``scheduler.py``, in place of a kopf
daemon each): a pass writes status and says when the next one is due (its requeue delay or
the drift period); a wake-up (spec change, its Service's endpoints changed) makes it due now.
One pass at a time per object means a drift check and an event never overlap; nothing sleeps
inside a pass. Deletion is a handler behind the operator's finalizer that plans an empty state
and comes back (``TemporaryError``) until nothing owned is left.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf
from pydantic import ValidationError

from . import GROUP, VERSION, kube, metrics, slots
from .api import PrivateLinkEndpointSpec, PrivateLinkServiceSpec
from .aws import AwsClients, AwsError
from .consumer.reconcile import EndpointOutcome, delete_endpoint, reconcile_endpoint
from .diffbase import GenerationDiffBase
from .ownership import ADOPT_ANNOTATION, Owner
from .pagememo import SharedStrings
from .provider.desired import Target
from .provider.inventory import DETAIL_BUDGET, Inventory, SharedView
from .provider.readcache import ConvergeReads
from .provider.reconcile import Outcome, delete_service, reconcile_service
from .scheduler import Entry, Scheduler
from .specs import SpecCache
from .status import Condition, Stall, merge_conditions, summarize

PLS = "privatelinkservices"
PLE = "privatelinkendpoints"
KINDS = {PLS: "PrivateLinkService", PLE: "PrivateLinkEndpoint"}
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass
class OperatorConfig:
    """Set by ``runner`` before kopf starts."""

    cluster_name: str = "default"
    drift_period: float = 60.0
    aws: AwsClients | None = None
    probe_resolve: list[str] = field(default_factory=list)
    probe_connections: int = 20
    shared_reads: bool = True  # drift checks read AWS in shared batches (provider.inventory)
    workers: int = 32  # threads for passes (and status writes) in flight at once
    # Objects whose per-resource details (target health, target group attributes, endpoint
    # service permissions: AWS has no batch read for them) a drift snapshot reads again, at
    # most: steady-state reads stay the same from N = 10 to N = 1000 (provider.inventory).
    detail_budget: int = DETAIL_BUDGET
    inventory: Inventory | None = None


CONFIG = OperatorConfig()

_locks: dict[tuple[str, str, str], asyncio.Lock] = {}
_service_refs: dict[tuple[str, str], set[str]] = {}
_converging: dict[str, ConvergeReads] = {}  # by uid: objects between the passes of a convergence


def _aws() -> AwsClients:
    if CONFIG.aws is None:
        CONFIG.aws = AwsClients()
    return CONFIG.aws


_pass_slots: slots.Slots | None = None


def _slots() -> slots.Slots:
    global _pass_slots
    if _pass_slots is None or _pass_slots.size != CONFIG.workers:
        _pass_slots = slots.Slots(CONFIG.workers)
    return _pass_slots


def _inventory() -> Inventory | None:
    """The shared snapshot for drift checks (None: ``shared_reads`` off)."""
    if not CONFIG.shared_reads:
        return None
    if CONFIG.inventory is None:
        # One set of shared reads per period: a drift is seen within 2 periods at worst.
        CONFIG.inventory = Inventory(
            _aws(), CONFIG.cluster_name, CONFIG.drift_period, detail_budget=CONFIG.detail_budget
        )
    return CONFIG.inventory


_refreshing: asyncio.Future[None] | None = None


async def _refreshed(inventory: Inventory) -> None:
    """The next snapshot, taken by one thread for every check that finds it due (they wait
    for it and compare, rather than each running a pass that would take it).

    If it cannot be taken (botocore has retried already), every waiting check fails with that
    AWS error, its own copy: its object backs off like any pass AWS failed, and no check tries
    the snapshot again on its own (1000 checks, 1000 snapshots' reads against an AWS that
    throttles)."""
    global _refreshing
    stale = _refreshing is not None and _refreshing.get_loop() is not asyncio.get_running_loop()
    if _refreshing is None or _refreshing.done() or stale:
        _refreshing = asyncio.ensure_future(_slots().run(slots.OTHER, inventory.refresh))
    try:
        await asyncio.shield(_refreshing)
    except AwsError as exc:
        raise AwsError(exc.kind, exc.code, exc.message, exc.operation) from None


_specs = SpecCache()  # parsed specs by uid (specs.py)


def stall_of(outcome: Outcome) -> bool:
    return outcome.plan.stall is not None


def _is_stalled(status: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Stalled" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def changes(current: Mapping[str, Any], patch: Mapping[str, Any]) -> bool:
    """Whether merge-patching ``patch`` onto ``current`` would change it (None removes)."""
    if patch is current:
        return False  # a remembered quiet check's outcome carries the status it was given
    for key, value in patch.items():
        if value is None:
            if current.get(key) is not None:
                return True
        elif isinstance(value, Mapping) and isinstance(current.get(key), Mapping):
            if changes(current[key], value):
                return True
        elif current.get(key) != value:
            return True
    return False


def _lock(key: tuple[str, str, str]) -> asyncio.Lock:
    return _locks.setdefault(key, asyncio.Lock())


def wake(plural: str, namespace: str, name: str) -> None:
    SCHEDULER.wake(plural, namespace, name)


_generations: dict[str, Any] = {}  # uid -> the metadata.generation its last watch event had
_DIFFBASE = GenerationDiffBase()  # kopf's diff base (diffbase.py)
# Condition messages and spec values repeat across objects; ARNs and names do not.
_body_strings = SharedStrings(longest=256, limit=200_000)


def _spec_event(plural: str, kw: Mapping[str, Any]) -> None:
    """Every watch event of an object: the scheduler keeps its body (and schedules it when it
    is new); a spec change (the API server raised its generation) makes its pass due now.

    A watch-event handler rather than kopf's ``on.update(field="spec")``: that one needs kopf's
    copy of the spec in an annotation on every object (one more write per object, a diff of it
    at every event, and the copy held in memory), where the generation says the same."""
    uid = kw["uid"]
    if kw.get("type") == "DELETED":
        if not SCHEDULER.forget(plural, kw["namespace"], kw["name"]):
            _forget_uid(uid)  # never scheduled (no entry, so no forget hook ran)
        return
    raw = (kw.get("event") or {}).get("object") or dict(kw["body"])
    # Kept until the next event: its keys and most of its values are those of other objects.
    SCHEDULER.observe(plural, _body_strings.shared_copy(raw))
    generation = (raw.get("metadata") or {}).get("generation")
    previous = _generations.get(uid)
    _generations[uid] = generation
    if previous is not None and generation != previous:
        wake(plural, kw["namespace"], kw["name"])


def _forget_uid(uid: str) -> None:
    _generations.pop(uid, None)
    _DIFFBASE.forget(uid)
    _converging.pop(uid, None)
    _specs.forget(uid)


def _forget_entry(entry: Entry) -> None:
    _forget_uid(entry.uid)
    metrics.forget_object(KINDS[entry.plural], entry.namespace, entry.name)


@kopf.on.startup()
async def configure(**kw: Any) -> None:
    settings: kopf.OperatorSettings = kw["settings"]
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    # The generation, in memory: no copy of the spec on each object (diffbase.py).
    settings.persistence.diffbase_storage = _DIFFBASE
    settings.posting.level = logging.WARNING
    settings.batching.error_delays = [1, 2, 5, 10, 20, 30, 60]
    # Passes run in threads (boto3 blocks) and may wait there for a rate-limit token: with
    # asyncio's default of cores + 4 threads, passes waiting for one service's tokens would
    # hold up passes that need another's. Threads are cheap; AWS calls stay rate-limited.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(CONFIG.workers, thread_name_prefix="pass")
    )
    _aws()
    SCHEDULER.closed = False
    # Everything loaded so far (modules, botocore's models, kopf's registries: about 150,000
    # objects) lives as long as the process: out of the cyclic collector's sight, a full
    # collection (one a drift period or so, as each snapshot's answers reach the oldest
    # generation) scans only what the operator keeps for its objects, not the imports too.
    gc.collect()
    gc.freeze()


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
async def endpoints_changed(**kw: Any) -> None:
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


@kopf.on.event(GROUP, VERSION, PLS)
async def pls_spec_changed(**kw: Any) -> None:
    # async: run on the loop (a sync handler would run in a pass thread, and the scheduler's
    # asyncio.Event must be set from its loop)
    global _indexes
    _indexes = (kw["service_ports"], kw["endpoint_slices"])
    _spec_event(PLS, kw)


_indexes: Any = ({}, {})  # kopf's indexes of Services and EndpointSlices (live objects)


def _owner(kind: str, namespace: str, name: str, uid: str, body: Any = None) -> Owner:
    annotations = (body or {}).get("metadata", {}).get("annotations") or {}
    adopt = str(annotations.get(ADOPT_ANNOTATION, "")).lower() == "true"
    return Owner(CONFIG.cluster_name, kind, namespace, name, uid, adopt=adopt)


async def _post_events(body: Any, outcome: Outcome | EndpointOutcome) -> None:
    for kind, reason, message in outcome.events:
        kopf.event(body, type=kind, reason=reason, message=message[:1000])


def _invalid_spec_status(exc: ValidationError, status: Mapping[str, Any], gen: Any) -> Any:
    message = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
    )
    conds = summarize([], Stall("InvalidSpec", f"spec is invalid: {message}"))
    return {
        "conditions": merge_conditions(status.get("conditions"), conds, gen),
        "observedGeneration": gen,
    }


async def pls_pass(body: Any, namespace: str, name: str, uid: str, indexes: Any) -> float:
    """One reconcile pass; returns the seconds until the next one."""
    status = dict(body.get("status") or {})
    generation = body.get("metadata", {}).get("generation")
    try:
        spec = _specs.parsed(PrivateLinkServiceSpec, uid, body.get("spec"))
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
    owner = _owner("PrivateLinkService", namespace, name, uid, body)
    started = time.monotonic()
    inventory = _inventory()
    # A drift check (the last pass completed this generation) may end on the shared view.
    drift_check = (
        inventory is not None
        and status.get("observedGeneration") == generation
        and not _is_stalled(status)
    )

    # The object's own reads, kept between the passes of one convergence (provider.readcache).
    kept = _converging.pop(uid, None)  # a pass that raises leaves nothing kept
    reads = kept or ConvergeReads(
        inventory.stable if inventory is not None else _aws(), CONFIG.drift_period
    )

    used: list[SharedView] = []

    def one_pass() -> Outcome:
        view = inventory.view(uid) if inventory is not None and drift_check else None
        if view is not None:
            used.append(view)
        return reconcile_service(
            _aws(), owner, spec, status, generation, targets, view=view, reads=reads
        )

    # What a drift check's result depends on besides the spec and what it reads from AWS.
    inputs = (generation, targets, owner, status)
    memo: Outcome | None = None
    if inventory is not None and drift_check and kept is None:
        if inventory.remembers(uid) and inventory.due():
            await _refreshed(inventory)
        # Its last check found nothing to do and the snapshot answers its reads alike: that
        # pass again would find the same, so it is not run (no thread, no slot).
        memo = inventory.still_quiet(uid, spec, inputs)
    if memo is not None:
        # Remembered only when it changed nothing: its status is the object's.
        outcome = dataclasses.replace(memo, status=status, events=list(memo.events))
    else:
        # Passes of objects already converging go first (slots): each object's chain flows on.
        priority = slots.CONVERGING if kept is not None else slots.OTHER
        outcome = await _slots().run(priority, one_pass)
        if inventory is not None and (
            outcome.done or outcome.requeue is not None or stall_of(outcome)
        ):
            inventory.changed(uid)
        # Still converging (it wrote, or waits for AWS): the next pass reuses what this one
        # read and did not change. Done, stalled or failed (an exception): the next pass reads
        # afresh.
        if reads.after_pass(outcome):
            _converging[uid] = reads
        elif inventory is not None and not stall_of(outcome):
            inventory.learn(uid, reads.kept())  # its details: no cold reads in the next check
        if (
            inventory is not None
            and outcome.quiet
            and used
            and outcome.requeue is None
            and not changes(status, outcome.status)
        ):
            quiet = dataclasses.replace(outcome, status={}, events=list(outcome.events))
            inventory.remember_quiet(uid, spec, inputs, used[0], quiet)
    stall = outcome.plan.stall
    metrics.observe_reconcile(
        "PrivateLinkService",
        time.monotonic() - started,
        "stalled" if stall else ("requeue" if outcome.requeue is not None else "success"),
        stall.reason if stall else None,
    )
    if ref is not None and targets is None:
        outcome.events.append(
            (
                "Warning",
                "ServiceNotFound",
                f"backend.serviceRef: Service {namespace}/{ref.name} or its port "
                f"{ref.port if ref.port is not None else '(the only one)'} was not found; "
                "registered targets are left as they are",
            )
        )
    if changes(status, outcome.status):  # a quiet drift check writes nothing to Kubernetes
        await kube.patch_status(PLS, namespace, name, outcome.status)
    metrics.set_object_conditions(
        "PrivateLinkService", namespace, name, outcome.status.get("conditions")
    )
    await _post_events(body, outcome)
    return outcome.requeue if outcome.requeue is not None else CONFIG.drift_period


async def _transient(
    body: Any, plural: str, namespace: str, name: str, exc: AwsError, failures: int
) -> float:
    """An AWS error that time will fix: say so in status, back off exponentially."""
    status = dict(body.get("status") or {})
    generation = body.get("metadata", {}).get("generation")
    message = f"{exc}; retrying"
    conds = merge_conditions(
        status.get("conditions"),
        [
            Condition.false("Ready", exc.code, message),
            Condition.true("Reconciling", exc.code, message),
            Condition.false("Stalled", exc.code, ""),
        ],
        generation,
    )
    await kube.patch_status(plural, namespace, name, {"conditions": conds})
    delay: float = min(300.0, 2.0 ** min(failures, 8)) * random.uniform(0.8, 1.2)
    return delay


async def _one_pass(entry: Entry) -> float:
    """One pass of an object, under its lock; an error that time fixes backs off. Returns the
    seconds until its next pass."""
    plural, namespace, name = entry.key
    body = entry.body
    woken, entry.woken = entry.woken, False
    async with _lock(entry.key):
        try:
            try:
                if plural == PLS:
                    delay = await pls_pass(body, namespace, name, entry.uid, _indexes)
                else:
                    if entry.state is None:
                        entry.state = _EndpointLoop()
                    delay = await ple_pass(body, namespace, name, entry.uid, entry.state, woken)
                entry.failures = 0
            except AwsError as exc:
                metrics.observe_reconcile(KINDS[plural], 0.0, "error", exc.code)
                entry.failures += 1
                _log.warning("[%s/%s] AWS: %s", namespace, name, exc)
                delay = await _transient(body, plural, namespace, name, exc, entry.failures)
        except Exception as exc:
            # A status write answered 409/429/5xx, or the API server went away: AWS is read
            # again by tags on the next pass, so retrying soon is safe.
            reason = kube.transient_api_error(exc)
            if reason is None:
                raise
            entry.failures += 1
            _log.warning("[%s/%s] Kubernetes API: %s; retrying", namespace, name, reason)
            delay = min(30.0, 0.5 * 2.0 ** min(entry.failures, 6)) * random.uniform(0.8, 1.2)
    return delay


SCHEDULER = Scheduler(_one_pass, f"{GROUP}/finalizer")
SCHEDULER.on_forget(_forget_entry)
_log = logging.getLogger(__name__)


async def _deletion_blocked(
    body: Any, plural: str, namespace: str, name: str, exc: AwsError
) -> kopf.TemporaryError:
    """Deletion cannot go on: retry later; if only the user can fix it, say so in status."""
    if exc.kind not in ("user", "access"):
        return kopf.TemporaryError(f"deleting: {exc}", delay=10)
    message = (
        f"cannot delete the AWS resources: {exc}. The finalizer stays until this is fixed "
        "(for AccessDenied: the IAM policy in deploy/iam-policy.json)"
    )
    status = dict(body.get("status") or {})
    conds = merge_conditions(
        status.get("conditions"),
        summarize([], Stall(exc.code, message)),
        body.get("metadata", {}).get("generation"),
    )
    await kube.patch_status(plural, namespace, name, {"conditions": conds})
    kopf.event(body, type="Warning", reason=exc.code, message=message[:1000])
    return kopf.TemporaryError(f"deleting: {exc}", delay=60)


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
            raise await _deletion_blocked(body, PLS, namespace, name, exc) from exc
    await _post_events(body, outcome)
    if not outcome.finished:
        removed = ", ".join(d.step.resource for d in outcome.done) or "nothing yet"
        raise kopf.TemporaryError(
            f"deleting AWS resources (removed: {removed}); checking again",
            delay=outcome.requeue or 5,
        )
    if CONFIG.inventory is not None:
        CONFIG.inventory.forget(uid)


# -- PrivateLinkEndpoint -----------------------------------------------------------------------

H2_READY = "H2Ready"

_prober: Any = None


def _shared_prober() -> Any:
    """One prober for every endpoint: a bounded number of sockets, whatever their number."""
    global _prober
    if _prober is None:
        from .probe import Prober

        _prober = Prober(max_connections=CONFIG.probe_connections, resolve=CONFIG.probe_resolve)
    return _prober


@kopf.on.cleanup()
async def close_down(**_: Any) -> None:
    """At exit: no pass starts, those in flight end; then the prober's sockets close."""
    global _prober
    await SCHEDULER.close()
    if _prober is not None:
        await _prober.aclose()
        _prober = None


@kopf.on.event(GROUP, VERSION, PLE)
async def ple_spec_changed(**kw: Any) -> None:
    _spec_event(PLE, kw)


@dataclass
class _EndpointLoop:
    """What one endpoint's passes remember between them (nothing of it is the truth)."""

    outcome: EndpointOutcome | None = None
    generation: Any = None
    next_aws: float = 0.0
    next_probe: float = 0.0
    probe_failures: int = 0
    h2: dict[str, Any] | None = None
    h2_condition: Condition | None = None


async def _probe(spec: PrivateLinkEndpointSpec, namespace: str, host: str) -> Any:
    from .probe import ProbeTarget

    bundle = None
    ref = spec.probe.ca_bundle_ref
    if ref is not None:
        bundle = await kube.read_ca_bundle(ref.kind, namespace, ref.name, ref.key)
        if bundle is None:
            return Condition.false(
                H2_READY,
                "CaBundleNotFound",
                f"probe.caBundleRef: key {ref.key} of {ref.kind} {ref.name} is not there; "
                "create it or remove caBundleRef",
            )
    target = ProbeTarget(
        host=host,
        port=spec.probe.port,
        path=spec.probe.path,
        timeout=float(spec.probe.timeout_seconds),
        expected_statuses=frozenset(spec.probe.expected_statuses),
        ca_bundle=bundle,
    )
    return await _shared_prober().probe(target)


def _h2_condition(result: Any) -> Condition:
    status = result.to_status()
    reason = str(status.get("reason") or "Unknown")
    if status.get("ready"):
        return Condition.true(H2_READY, reason, status.get("message") or "")
    return Condition.false(H2_READY, reason, status.get("message") or "")


async def ple_pass(
    body: Any, namespace: str, name: str, uid: str, memory: _EndpointLoop, woken: bool
) -> float:
    """AWS when due (or woken), the probe when due; returns seconds until the next pass."""
    from .probe import next_probe_delay

    loop_now = asyncio.get_running_loop().time()
    status = dict(body.get("status") or {})
    generation = body.get("metadata", {}).get("generation")
    try:
        spec = _specs.parsed(PrivateLinkEndpointSpec, uid, body.get("spec"))
    except ValidationError as exc:
        await kube.patch_status(PLE, namespace, name, _invalid_spec_status(exc, status, generation))
        return CONFIG.drift_period
    owner = _owner("PrivateLinkEndpoint", namespace, name, uid)
    aws_due = woken or memory.outcome is None or loop_now >= memory.next_aws
    aws_due = aws_due or generation != memory.generation
    outcome = memory.outcome
    if aws_due:
        started = time.monotonic()
        outcome = await asyncio.to_thread(
            reconcile_endpoint, _aws(), owner, spec, status, generation
        )
        metrics.observe_reconcile(
            "PrivateLinkEndpoint",
            time.monotonic() - started,
            "stalled" if outcome.stall else ("requeue" if outcome.requeue else "success"),
            outcome.stall.reason if outcome.stall else None,
        )
        memory.outcome = outcome
        memory.generation = generation
        # A transitional state is looked at again at least as often as a settled one.
        requeue = min(outcome.requeue or CONFIG.drift_period, CONFIG.drift_period)
        memory.next_aws = loop_now + requeue
        await _post_events(body, outcome)
        if woken:
            memory.next_probe = loop_now
    assert outcome is not None
    if not spec.probe.enabled:
        memory.h2, memory.h2_condition = None, None
    elif outcome.part.status == "True" and outcome.probe_host is None:
        memory.h2 = None
        memory.h2_condition = Condition.false(
            H2_READY,
            "NoHostname",
            "the service offers no private DNS name and spec.privateDnsName is not set: the "
            "probe needs the hostname its certificate covers; set spec.privateDnsName",
        )
    elif not outcome.probe_ready:
        memory.h2 = None
        memory.h2_condition = Condition.unknown(
            H2_READY,
            "EndpointNotAvailable",
            "the probe runs once the endpoint is available with its private DNS name",
        )
        memory.next_probe = loop_now
    elif (
        loop_now >= memory.next_probe
        or memory.h2_condition is None
        or (memory.h2_condition.reason == "EndpointNotAvailable")
    ):
        assert outcome.probe_host is not None
        result = await _probe(spec, namespace, outcome.probe_host)
        if isinstance(result, Condition):
            memory.h2, memory.h2_condition = None, result
            memory.probe_failures += 1
        else:
            memory.h2 = result.to_status()
            memory.h2_condition = _h2_condition(result)
            metrics.observe_probe(
                memory.h2_condition.status == "True",
                memory.h2_condition.reason,
                (memory.h2 or {}).get("latencyMs"),
            )
            memory.probe_failures = (
                0 if memory.h2_condition.status == "True" else (memory.probe_failures + 1)
            )
        memory.next_probe = loop_now + next_probe_delay(
            float(spec.probe.interval_seconds), memory.probe_failures
        )
    parts = [outcome.part]
    if memory.h2_condition is not None:
        parts.append(memory.h2_condition)
    conditions = summarize(parts, outcome.stall)
    if not spec.probe.enabled:
        conditions.append(Condition.unknown(H2_READY, "ProbeDisabled", "probe.enabled is false"))
    new_status = dict(outcome.status)
    new_status["h2"] = memory.h2
    new_status["conditions"] = merge_conditions(status.get("conditions"), conditions, generation)
    settled = outcome.stall is not None or outcome.requeue is None
    if settled:
        new_status["observedGeneration"] = generation
    await kube.patch_status(PLE, namespace, name, new_status)
    metrics.set_object_conditions("PrivateLinkEndpoint", namespace, name, new_status["conditions"])
    next_pass = memory.next_aws
    if spec.probe.enabled and outcome.probe_ready:
        next_pass = min(next_pass, memory.next_probe)
    return max(0.5, next_pass - loop_now)


@kopf.on.delete(GROUP, VERSION, PLE)
async def ple_delete(**kw: Any) -> None:
    body, spec, namespace, name, uid = (kw[k] for k in ("body", "spec", "namespace", "name", "uid"))
    if spec.get("deletionPolicy") == "Retain":
        kopf.event(
            body,
            type="Normal",
            reason="Retained",
            message="deletionPolicy Retain: the VPC endpoint is left in place",
        )
        return
    try:
        model = PrivateLinkEndpointSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise kopf.PermanentError(f"spec is invalid, cannot plan the deletion: {exc}") from exc
    owner = _owner("PrivateLinkEndpoint", namespace, name, uid)
    async with _lock((PLE, namespace, name)):
        try:
            plan, done = await asyncio.to_thread(
                delete_endpoint, _aws(), owner, model, dict(body.get("status") or {})
            )
        except AwsError as exc:
            raise await _deletion_blocked(body, PLE, namespace, name, exc) from exc
    for d in done:
        kopf.event(
            body, type="Normal", reason="Deleted", message=f"{d.step.resource}: {d.step.summary}"
        )
    if plan.steps or plan.waits:
        raise kopf.TemporaryError("deleting the VPC endpoint; checking again", delay=5)
