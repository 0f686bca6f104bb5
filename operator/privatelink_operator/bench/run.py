"""One benchmark run for one N: the floor, then the operator: apply, all Ready, steady state."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import crdgen
from ..aws import THROTTLE_ENV
from ..provider.inventory import DETAIL_BUDGET
from ..testing.aws import PROVIDER_ACCOUNT, AwsCall, AwsEmulator, EmulatorProcess
from ..testing.aws.calllog import is_read_action
from ..testing.kube.server import KubeEmulator
from ..testing.operator import OperatorProcess
from ..testing.world import World, build_world
from .floor import FLOOR_WRITES, run_floor
from .procstat import sample_process, sample_thread

API_VERSION = "privatelink.operator.dev/v1alpha1"
KIND = "PrivateLinkService"
NAMESPACE = "bench"
DOMAIN = "vpce.example.com"
CONSUMER_ROOT = "arn:aws:iam::222222222222:root"

# Reference figures of a trivial kopf operator on the fixed emulator (docs/EMULATION.md).
KOPF_CPU_PER_OBJECT = 0.003  # seconds of the operator's CPU per converged object
KOPF_TIMER_CPU_PER_MINUTE_AT_1000 = 1.5  # no-op per-object timer every 30 s, 1000 objects


@dataclass(frozen=True)
class BenchConfig:
    drift_period: float = 30.0
    steady_periods: float = 2.0  # how many drift periods of steady state to observe
    # Drift periods between all Ready and the steady-state window: the shared inventory learns
    # listeners and per-resource details during the first one.
    warmup_periods: float = 1.0
    timeout: float = 1800.0  # for all Ready, per N
    poll: float = 0.25
    floor_workers: int = 6
    operator_args: tuple[str, ...] = ()
    throttle: str | None = None  # client-side AWS limits of operator and floor (None: defaults)

    @property
    def detail_budget(self) -> int:
        """The operator's ``--drift-detail-budget`` (as passed, else its default)."""
        args = list(self.operator_args)
        for i, arg in enumerate(args):
            if arg.startswith("--drift-detail-budget="):
                return int(arg.split("=", 1)[1])
            if arg == "--drift-detail-budget" and i + 1 < len(args):
                return int(args[i + 1])
        return DETAIL_BUDGET


# Reads a drift snapshot makes for a budget of objects at a time (provider.inventory.DETAILS).
DETAIL_READS = ("DescribeTargetHealth", "DescribeTargetGroupAttributes",
                "DescribeVpcEndpointServicePermissions")  # fmt: skip
SNAPSHOTS_PER_PERIOD = 1


def long_run_reads(reads: dict[str, int], periods: float, n: int, budget: int) -> dict[str, float]:
    """Steady reads per period, and what they come to in the long run.

    A converged object's details are fresh when it converges, so a window soon after all are
    Ready sees few of the per-resource reads that the budget allows: in the long run each
    snapshot reads ``min(N, budget)`` objects' details (all of them when budget is 0).
    """
    total = sum(reads.values()) / periods
    detail = sum(v for k, v in reads.items() if k.split(":", 1)[-1] in DETAIL_READS) / periods
    per_snapshot = n if budget <= 0 else min(n, budget)
    bound = SNAPSHOTS_PER_PERIOD * len(DETAIL_READS) * per_snapshot
    return {
        "detail_reads_per_period": round(detail, 1),
        "long_run_reads_per_period": round(total - detail + max(detail, bound), 1),
    }


def wildcard_certificate(emulator: AwsEmulator) -> str:
    """A certificate for ``*.vpce.example.com`` from a throw-away CA, imported into ACM."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert(f"*.{DOMAIN}")
    arn: str = emulator.client("acm").import_certificate(
        Certificate=leaf.cert_chain_pems[0].bytes(),
        PrivateKey=leaf.private_key_pem.bytes(),
        CertificateChain=ca.cert_pem.bytes(),
    )["CertificateArn"]
    return arn


def service_body(world: World, certificate_arn: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": f"svc-{i}", "namespace": NAMESPACE},
        "spec": {
            "privateDnsName": f"svc-{i}.{DOMAIN}",
            "subnetIds": list(world.provider.subnet_ids),
            "listener": {"certificateArn": certificate_arn},
            "backend": {
                "protocol": "TLS",
                "port": 8443,
                "targetType": "ip",
                "targets": [{"id": "10.0.1.10"}, {"id": "10.0.2.20"}],
            },
            "endpointService": {
                "acceptanceRequired": True,
                "allowedPrincipals": [CONSUMER_ROOT],
                "autoAcceptPrincipals": [CONSUMER_ROOT],
            },
            "dns": {"hostedZoneId": world.zone_id},
        },
    }


def _ready(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def count_ready(kube: KubeEmulator) -> int:
    return sum(1 for o in kube.list(API_VERSION, KIND, namespace=NAMESPACE) if _ready(o))


def summarize_calls(calls: list[AwsCall], n: int) -> dict[str, Any]:
    """Calls by ``service:Action``, split into writes and reads, in total and per object."""
    by_op = Counter(f"{c.service}:{c.action}" for c in calls)
    writes = {k: v for k, v in sorted(by_op.items()) if not is_read_action(k.split(":", 1)[1])}
    reads = {k: v for k, v in sorted(by_op.items()) if is_read_action(k.split(":", 1)[1])}
    errors = Counter(f"{c.service}:{c.action}:{c.error_code}" for c in calls if c.error_code)
    return {
        "writes": writes,
        "reads": reads,
        "write_total": sum(writes.values()),
        "read_total": sum(reads.values()),
        "writes_per_object": round(sum(writes.values()) / max(n, 1), 3),
        "reads_per_object": round(sum(reads.values()) / max(n, 1), 3),
        "errors": dict(errors),
    }


@contextlib.contextmanager
def aws_emulator() -> Iterator[tuple[AwsEmulator, int]]:
    process = EmulatorProcess()
    url = process.start()
    try:
        assert process.pid is not None
        yield AwsEmulator(url), process.pid
    finally:
        process.stop()


def run_one(
    n: int, config: BenchConfig, emulator: AwsEmulator, aws_pid: int | None
) -> dict[str, Any]:
    """Measure one N; the emulator is reset first (and used for the floor, then reset again).

    ``aws_pid``: the emulator's process, to report its CPU (None: not reported).
    """

    def aws_cpu() -> float:
        return sample_process(aws_pid).cpu_seconds if aws_pid is not None else 0.0

    result: dict[str, Any] = {"n": n, "drift_period": config.drift_period}

    # -- the floor ------------------------------------------------------------------------
    emulator.reset()
    world = build_world(emulator)
    certificate = wildcard_certificate(emulator)
    floor = run_floor(
        world, certificate, n, domain=DOMAIN, workers=config.floor_workers, throttle=config.throttle
    )
    free = run_floor(
        world, certificate, n, domain=DOMAIN, workers=config.floor_workers, throttle="off",
        prefix="free",
    )  # fmt: skip
    result["floor"] = {
        "seconds": round(floor.seconds, 3),
        "unlimited_seconds": round(free.seconds, 3),
        "throttle": config.throttle or "defaults",
        "calls": dict(sorted(floor.calls.items())),
        "writes_per_object": round(floor.writes / max(n, 1), 3),
        # The bare script's own CPU per object: what botocore costs for the chain's writes
        # alone, beside the operator's CPU per object (converge.operator_cpu_ms_per_object).
        "cpu_ms_per_object": round(1000 * floor.cpu_seconds / max(n, 1), 2),
        "minimal_writes_per_object": len(FLOOR_WRITES),
    }

    # -- the operator ---------------------------------------------------------------------
    emulator.reset()
    world = build_world(emulator)
    certificate = wildcard_certificate(emulator)
    kube = KubeEmulator(name="bench", crds=tuple(crdgen.all_crds())).start()
    env = emulator.env(PROVIDER_ACCOUNT)
    if config.throttle is not None:
        env[THROTTLE_ENV] = config.throttle
    operator = OperatorProcess(
        kube.kubeconfig_path,
        env,
        config.operator_args,
        drift_period=config.drift_period,
        name="bench-operator",
    )
    try:
        kube.create_namespace(NAMESPACE)
        operator.start()
        assert operator.process is not None
        pid = operator.process.pid
        time.sleep(3.0)  # start-up: imports, kopf's first lists and watches
        thread = kube._thread
        assert thread is not None and thread.native_id is not None
        kube_tid = thread.native_id
        before = sample_process(pid)
        result["operator_idle"] = {
            "cpu_seconds": round(before.cpu_seconds, 3),
            "rss_mb": round(before.rss_bytes / 2**20, 1),
        }
        kube_before = sample_thread(kube_tid)
        aws_before = aws_cpu()
        mark = emulator.calls.mark()
        started = time.perf_counter()
        for i in range(n):
            kube.create(service_body(world, certificate, i))
        applied = time.perf_counter() - started
        deadline = started + config.timeout
        ready = 0
        while ready < n:
            if time.perf_counter() > deadline or not operator.alive:
                break
            time.sleep(config.poll)
            ready = count_ready(kube)
        converge_seconds = time.perf_counter() - started
        converged = sample_process(pid)
        kube_converged = sample_thread(kube_tid)
        aws_converged = aws_cpu()
        mark_ready = emulator.calls.mark()
        converge_calls = emulator.calls.all(since=mark)
        result["converge"] = {
            "ready": ready,
            "complete": ready == n,
            "apply_seconds": round(applied, 3),
            "seconds": round(converge_seconds, 3),
            "ratio_to_floor": round(converge_seconds / max(floor.seconds, 1e-3), 2),
            "ratio_to_unlimited_floor": round(converge_seconds / max(free.seconds, 1e-3), 2),
            "calls": summarize_calls(converge_calls, n),
            "operator_cpu_seconds": round(converged.cpu_seconds - before.cpu_seconds, 3),
            "operator_cpu_ms_per_object": round(
                1000 * (converged.cpu_seconds - before.cpu_seconds) / max(n, 1), 2
            ),
            "kube_emulator_cpu_seconds": round(
                kube_converged.cpu_seconds - kube_before.cpu_seconds, 3
            ),
            "aws_emulator_cpu_seconds": round(aws_converged - aws_before, 3),
        }
        # -- steady state -------------------------------------------------------------------
        time.sleep(config.drift_period * config.warmup_periods)
        mark_ready = emulator.calls.mark()
        converged = sample_process(pid)
        kube_converged = sample_thread(kube_tid)
        window = config.drift_period * config.steady_periods
        time.sleep(window)
        steady = sample_process(pid)
        kube_steady = sample_thread(kube_tid)
        steady_calls = emulator.calls.all(since=mark_ready)
        periods = config.steady_periods
        summary = summarize_calls(steady_calls, n)
        cpu = steady.cpu_seconds - converged.cpu_seconds
        result["steady"] = {
            "seconds": window,
            "writes_per_period": round(summary["write_total"] / periods, 1),
            "reads_per_period": round(summary["read_total"] / periods, 1),
            **long_run_reads(summary["reads"], periods, n, config.detail_budget),
            "drift_detail_budget": config.detail_budget,
            "calls": summary,
            "operator_cpu_seconds_per_minute": round(cpu * 60 / window, 3),
            "kube_emulator_cpu_seconds_per_minute": round(
                (kube_steady.cpu_seconds - kube_converged.cpu_seconds) * 60 / window, 3
            ),
        }
        result["operator"] = {
            "peak_rss_mb": round(steady.peak_rss_bytes / 2**20, 1),
            "rss_mb": round(steady.rss_bytes / 2**20, 1),
            "cpu_seconds_total": round(steady.cpu_seconds, 3),
            "sockets": steady.sockets,
        }
    finally:
        log_tail = operator.log()[-3000:]
        operator.cleanup()
        kube.stop()
    if not result.get("converge", {}).get("complete"):
        result["operator_log_tail"] = log_tail
    return result
