"""``python -m privatelink_operator sandbox``: the whole flow on loopback, in one command.

What it starts, in order (each one is stopped, and its files removed, in reverse order when the
run ends, on Ctrl-C and on SIGTERM):

1. the AWS emulator (:mod:`..testing.aws`, a child process) with a provider and a consumer
   account: VPCs, subnets, the public hosted zone ``example.com``, and a certificate for the
   private DNS name from a local CA, imported into the provider's ACM;
2. two Kubernetes API emulators (:mod:`..testing.kube`, threads): the provider and the consumer
   cluster, with the CRDs applied by ``kubectl apply -f crds/``;
3. the backend: Apache httpd with mod_http2 and mod_ssl when installed, else a Python h2 server
   (:mod:`.backend`), behind the ``orders`` Service and its EndpointSlice;
4. the NLB stand-in (:mod:`.nlb`): the data path of the provider's NLB, as configured by the
   operator (ALPN policy, certificate, targets);
5. both operators, as real processes (``python -m privatelink_operator run``);

then applies ``examples/`` (with the edits of :mod:`.examples`), shows each condition as it
turns, and prints ``kubectl get pls,ple -o wide`` for both clusters and the probe's output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from ..probe.result import ALPN_OFFERED
from .backend import Backend, BackendChoice, choose_backend
from .display import ConditionTracker, Display, Watched
from .examples import (
    ENDPOINT_FILE,
    SERVICE_FILE,
    adapt_endpoint,
    adapt_service,
    default_examples_dir,
    load_example,
)
from .loopthread import LoopThread
from .nlb import ALPN_BY_POLICY, NlbStandIn, alpn_protocols, elbv2_listener_source

if TYPE_CHECKING:
    from ..testing.aws import AwsEmulator
    from ..testing.kube import KubeEmulator
    from ..testing.operator import OperatorProcess
    from ..testing.tlsserver import LocalCA, PemCert
    from ..testing.world import World

__all__ = ["ALPN_POLICIES", "Options", "Sandbox", "cli_sandbox", "expects_h2"]

GROUP_VERSION = "privatelink.operator.dev/v1alpha1"
PLS_KIND = "PrivateLinkService"
PLE_KIND = "PrivateLinkEndpoint"
CA_CONFIG_MAP = "corp-ca"
ALPN_POLICIES = tuple(ALPN_BY_POLICY)
PLS_CONDITIONS = ("LoadBalancerReady", "EndpointServiceAvailable", "DnsVerified", "Ready")
PLE_CONDITIONS = ("EndpointAvailable", "H2Ready", "Ready")
REPO_ROOT = Path(__file__).resolve().parents[3]
#: Seconds between the operators' drift passes: short, so the provider sees the consumer's
#: pending connection soon and a change made by hand in the emulated AWS is undone soon.
DRIFT_PERIOD = 5.0


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop everything and leave."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SandboxFailed(Exception):
    """The run did not reach what it waits for; the message says what is missing."""


@dataclass
class Options:
    keep: bool = False
    alpn: str | None = None
    timeout: float = 120.0
    backend: BackendChoice = "auto"
    examples: Path | None = None
    live: bool | None = None


def expects_h2(policy: str) -> bool:
    """Whether the probe (offering h2, http/1.1) gets h2 from a listener with ``policy``.

    The server's preference decides, so HTTP2Optional (http/1.1 first) answers http/1.1.
    """
    offered = alpn_protocols(policy) or ()
    chosen = next((p for p in offered if p in ALPN_OFFERED), None)
    return chosen == "h2"


def _find_kubectl() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    return shutil.which("kubectl")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


class Sandbox:
    def __init__(self, options: Options, display: Display) -> None:
        self.options = options
        self.display = display
        self.started = time.monotonic()
        self.deadline = self.started + options.timeout
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self.tmp = Path(tempfile.mkdtemp(prefix="plo-sandbox-"))
        self.defer(f"removed {self.tmp}", lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.pids: dict[str, int] = {}
        self.kubectl = _find_kubectl()
        self.examples_dir = options.examples or default_examples_dir()
        # set by start(), in this order
        self.emulator: AwsEmulator
        self.ca: LocalCA
        self.provider: KubeEmulator
        self.consumer: KubeEmulator
        self.world: World
        self.certificate_arn = ""
        self.leaf: PemCert
        self.backend: Backend | None = None
        self.standin: NlbStandIn | None = None
        self.operators: list[OperatorProcess] = []
        self._service_notes: list[str] = []
        self.pls: dict[str, Any] = {}
        self.ple: dict[str, Any] = {}
        self.tracker: ConditionTracker | None = None

    # -- bookkeeping ---------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, text: str) -> None:
        raise_pending_interrupt()
        self.display.step(self.elapsed(), text)

    def defer(self, what: str, action: Callable[[], None]) -> None:
        with self._lock:
            self._cleanups.append((what, action))

    def cleanup(self) -> list[str]:
        """Run every deferred stop/removal, newest first; returns the problems."""
        problems = []
        while True:
            with self._lock:
                if not self._cleanups:
                    break
                what, action = self._cleanups.pop()
            try:
                action()
            except Exception as exc:
                problems.append(f"{what}: {exc}")
        for name, pid in self.pids.items():
            if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
                problems.append(f"{name} (pid {pid}) is still running")
        return problems

    def left(self) -> float:
        return self.deadline - time.monotonic()

    # -- start-up -------------------------------------------------------------------------------

    def start(self) -> None:
        self.step(f"Sandbox files in {self.tmp}")
        with ThreadPoolExecutor(2, thread_name_prefix="sandbox-start") as pool:
            clusters = pool.submit(self._start_clusters)
            ca = pool.submit(self._make_ca)
            self._start_aws()
            self.ca = ca.result()
            clusters.result()
        self._setup_aws()
        self._setup_clusters()
        self._start_backend()
        self._start_standin()
        self._start_operators()

    def _make_ca(self) -> LocalCA:
        from ..testing.tlsserver import LocalCA

        return LocalCA(organization="privatelink-operator sandbox CA")

    def _start_aws(self) -> None:
        from ..testing.aws import AwsEmulator, EmulatorProcess

        log_path = self.tmp / "aws-emulator.log"
        process = EmulatorProcess()
        self.defer("stopped the AWS emulator", process.stop)
        saved = os.dup(2)
        try:
            with log_path.open("ab") as log:  # its stderr (warnings, tracebacks) goes to a file
                os.dup2(log.fileno(), 2)
                try:
                    url = process.start()
                finally:
                    os.dup2(saved, 2)
        except RuntimeError as exc:
            raise SandboxFailed(f"{exc}\n{_tail(log_path.read_text(errors='replace'))}") from exc
        finally:
            os.close(saved)
        assert process.pid is not None
        self.pids["aws-emulator"] = process.pid
        self.emulator = AwsEmulator(url)
        self.step(f"AWS emulator (moto, made strict) on {url}, pid {process.pid}")

    def _setup_aws(self) -> None:
        from ..testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT
        from ..testing.world import build_world

        self.world = world = build_world(self.emulator)
        self.step(
            f"  provider account {PROVIDER_ACCOUNT}: {world.provider.vpc_id} "
            f"({', '.join(world.provider.subnet_ids)}), public zone {world.domain} "
            f"({world.zone_id})"
        )
        self.step(
            f"  consumer account {CONSUMER_ACCOUNT}: {world.consumer.vpc_id} "
            f"({', '.join(world.consumer.subnet_ids)}), DNS support and hostnames on"
        )
        service = load_example(self.examples_dir, SERVICE_FILE)
        dns_name = str(service["spec"]["privateDnsName"])
        self.leaf = self.ca.issue(dns_name)
        (self.tmp / "ca.crt").write_text(self.ca.cert_pem)
        certs = self.leaf.chain_pem.decode()
        end = "-----END CERTIFICATE-----"
        leaf_pem = certs.split(end)[0] + end + "\n"
        acm = self.emulator.client("acm", PROVIDER_ACCOUNT)
        self.certificate_arn = acm.import_certificate(
            Certificate=leaf_pem.encode(),
            PrivateKey=self.leaf.key_pem,
            CertificateChain=self.ca.cert_pem.encode(),
        )["CertificateArn"]
        self.step(f"  certificate for {dns_name} from a local CA, imported into ACM")
        self.pls, notes = adapt_service(
            service,
            subnet_ids=world.provider.subnet_ids,
            certificate_arn=self.certificate_arn,
        )
        self._service_notes = notes

    def _start_clusters(self) -> None:
        from ..testing.kube import KubeEmulator

        self.provider = KubeEmulator(name="provider").start()
        self.defer("stopped the provider cluster", self.provider.stop)
        self.consumer = KubeEmulator(name="consumer").start()
        self.defer("stopped the consumer cluster", self.consumer.stop)

    def _setup_clusters(self) -> None:
        crds = REPO_ROOT / "crds"
        for name, cluster in (("provider", self.provider), ("consumer", self.consumer)):
            if self.kubectl and crds.is_dir():
                self.kubectl_run(cluster, "apply", "--validate=false", "-f", str(crds))
                how = "kubectl apply -f crds/"
            else:
                from .. import crdgen

                for crd in crdgen.all_crds():
                    cluster.register_crd(crd)
                how = "the generated CRDs registered directly (no kubectl)"
            self.step(f"Kubernetes API emulator '{name}' on {cluster.url}: {how}")
        self.provider.create_namespace(self.pls["metadata"]["namespace"])

    def kubectl_run(self, cluster: KubeEmulator, *args: str, check: bool = True) -> str:
        assert self.kubectl is not None
        env = {**os.environ, "KUBECONFIG": cluster.kubeconfig_path}
        result = subprocess.run(
            [self.kubectl, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=max(10.0, min(60.0, self.left())),
            check=False,
        )
        if check and result.returncode != 0:
            raise SandboxFailed(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout + result.stderr

    def _start_backend(self) -> None:
        backend, why = choose_backend(self.options.backend, self.leaf, self.tmp / "httpd")
        self.defer("stopped the backend", backend.stop)
        backend.start()
        self.backend = backend
        for pid in backend.pids:
            self.pids["backend"] = pid
        where = f", pid {backend.pids[0]}" if backend.pids else " (a thread of the sandbox)"
        note = "" if backend.pids else f"; {why}"
        self.step(f"Backend: {backend.description} on 127.0.0.1:{backend.port}{where}{note}")
        namespace = self.pls["metadata"]["namespace"]
        ref = self.pls["spec"]["backend"]["serviceRef"]
        port = int(ref.get("port") or self.pls["spec"]["backend"].get("port") or 443)
        self.provider.create({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": ref["name"], "namespace": namespace},
            "spec": {"ports": [{"name": "https", "port": port, "targetPort": backend.port}]},
        })  # fmt: skip
        self.provider.create({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {
                "name": f"{ref['name']}-sandbox", "namespace": namespace,
                "labels": {"kubernetes.io/service-name": ref["name"]},
            },
            "addressType": "IPv4",
            "ports": [{"name": "https", "port": backend.port, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        })  # fmt: skip
        self.step(
            f"  provider cluster: Service {namespace}/{ref['name']} -> EndpointSlice "
            f"127.0.0.1:{backend.port}"
        )

    def _start_standin(self) -> None:
        from ..testing.aws import PROVIDER_ACCOUNT

        namespace, name = self.pls["metadata"]["namespace"], self.pls["metadata"]["name"]

        def listener_arn() -> str | None:
            obj = self.provider.get_or_none(GROUP_VERSION, PLS_KIND, name, namespace=namespace)
            return ((obj or {}).get("status") or {}).get("listenerArn")

        source = elbv2_listener_source(
            self.emulator.client("elbv2", PROVIDER_ACCOUNT), listener_arn
        )
        loop = LoopThread("nlb-stand-in")
        self.defer("stopped the NLB stand-in", loop.stop)
        standin = NlbStandIn(source, {self.certificate_arn: self.leaf})
        self.standin = loop.run(standin.start())
        self.defer("closed the NLB stand-in", lambda: loop.run(standin.aclose()))
        self.step(
            f"NLB stand-in on 127.0.0.1:{standin.port}: follows the listener the operator "
            "creates (ALPN policy, certificate, targets)"
        )

    def _start_operators(self) -> None:
        from ..testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT
        from ..testing.operator import OperatorProcess

        assert self.standin is not None
        dns_name = self.pls["spec"]["privateDnsName"]
        resolve = f"{dns_name}:{self.standin.port}:127.0.0.1"
        specs: tuple[tuple[str, Any, str, list[str]], ...] = (
            ("provider", self.provider, PROVIDER_ACCOUNT, []),
            ("consumer", self.consumer, CONSUMER_ACCOUNT, ["--probe-resolve", resolve]),
        )
        for side, cluster, account, extra in specs:
            operator = OperatorProcess(
                cluster.kubeconfig_path,
                self.emulator.env(account),
                extra,
                cluster_name=f"sandbox-{side}",
                drift_period=DRIFT_PERIOD,
                name=f"{side}-operator",
            )
            self.defer(f"stopped the {side} operator", operator.cleanup)
            operator.start()
            self.operators.append(operator)
            assert operator.process is not None
            self.pids[f"{side}-operator"] = operator.process.pid
            args = f" {' '.join(extra)}" if extra else ""
            self.step(
                f"{side.capitalize()} operator: pid {operator.process.pid}, "
                f"`python -m privatelink_operator run --drift-period {DRIFT_PERIOD:g}{args}` "
                f"as account {account}"
            )

    def stop_operators_first(self) -> None:
        """SIGTERM both operators at once (their cleanup then only waits)."""
        for operator in self.operators:
            if operator.process is not None and operator.process.poll() is None:
                operator.process.send_signal(signal.SIGTERM)

    # -- the examples -------------------------------------------------------------------------

    def prepare_examples(self) -> None:
        """Load both examples, make the sandbox's edits and say what they are."""
        assert self.standin is not None
        endpoint = load_example(self.examples_dir, ENDPOINT_FILE)
        namespace = endpoint["metadata"]["namespace"]
        self.consumer.create_namespace(namespace)
        self.consumer.create({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CA_CONFIG_MAP, "namespace": namespace},
            "data": {"ca.crt": self.ca.cert_pem},
        })  # fmt: skip
        self.ple, notes = adapt_endpoint(
            endpoint,
            vpc_id=self.world.consumer.vpc_id,
            subnet_ids=self.world.consumer.subnet_ids,
            probe_port=self.standin.port,
            ca_config_map=CA_CONFIG_MAP,
            interval_seconds=5 if self.options.alpn else None,
        )
        self.step("The sandbox's edits to examples/ (everything else as in the files):")
        for note in [*self._service_notes, *notes]:
            self.step(f"  - {note}")

    def apply(self, cluster: KubeEmulator, doc: Mapping[str, Any], filename: str) -> None:
        path = self.tmp / "examples" / filename
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(dict(doc), sort_keys=False))
        if self.kubectl:
            out = self.kubectl_run(cluster, "apply", "--validate=false", "-f", str(path))
            self.step(f"{cluster.name}$ kubectl apply -f examples/{filename}: {out.strip()}")
        else:
            cluster.create(doc)
            self.step(f"{cluster.name}: created {doc['kind']} from examples/{filename}")

    # -- waiting ------------------------------------------------------------------------------

    def _watched(self) -> tuple[Watched, Watched]:
        pls_meta, ple_meta = self.pls["metadata"], self.ple["metadata"]
        return (
            Watched("provider", "pls", pls_meta["namespace"], pls_meta["name"], PLS_CONDITIONS),
            Watched("consumer", "ple", ple_meta["namespace"], ple_meta["name"], PLE_CONDITIONS),
        )

    def objects(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        pls_meta, ple_meta = self.pls["metadata"], self.ple["metadata"]
        return (
            self.provider.get_or_none(
                GROUP_VERSION, PLS_KIND, pls_meta["name"], namespace=pls_meta["namespace"]
            ),
            self.consumer.get_or_none(
                GROUP_VERSION, PLE_KIND, ple_meta["name"], namespace=ple_meta["namespace"]
            ),
        )

    def poll(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        assert self.tracker is not None
        pls, ple = self.objects()
        at = self.elapsed()
        pls_watch, ple_watch = self._watched()
        changes = self.tracker.observe(pls_watch, pls, at) + self.tracker.observe(
            ple_watch, ple, at
        )
        self.display.update(at, changes)
        return pls, ple

    def check_operators(self) -> None:
        raise_pending_interrupt()
        for operator in self.operators:
            if not operator.alive:
                raise SandboxFailed(f"the {operator.name} exited:\n{_tail(operator.log())}")

    def wait_until(
        self, what: str, done: Callable[[dict[str, Any] | None, dict[str, Any] | None], bool]
    ) -> None:
        while True:
            pls, ple = self.poll()
            if done(pls, ple):
                return
            self.check_operators()
            if self.left() <= 0:
                raise SandboxFailed(
                    f"timed out after {self.options.timeout:.0f}s waiting for {what}"
                )
            time.sleep(0.25)

    def wait_ready(self) -> None:
        """Apply the provider's example, and the consumer's once the service is Ready."""
        self.tracker = ConditionTracker(self._watched())
        self.display.watch(self.tracker, "Waiting for Ready and HTTP/2")
        self.apply(self.provider, self.pls, SERVICE_FILE)
        pls_watch = self._watched()[0]

        def service_ready(*_: Any) -> bool:
            assert self.tracker is not None
            return self.tracker.status(pls_watch, "Ready") == "True"

        self.wait_until("the PrivateLinkService to be Ready", service_ready)
        self.step("The endpoint service is verified: the consumer can connect by its DNS name")
        self.apply(self.consumer, self.ple, ENDPOINT_FILE)

        def ready(pls: Mapping[str, Any] | None, ple: Mapping[str, Any] | None) -> bool:
            assert self.tracker is not None
            h2 = ((ple or {}).get("status") or {}).get("h2") or {}
            return not self.tracker.missing() and h2.get("alpn") == "h2"

        self.wait_until("both Ready and HTTP/2", ready)
        self.display.unwatch()
        self.step("Both Ready, and the probe negotiated h2 through the endpoint")

    def switch_alpn(self, policy: str) -> None:
        """Set the PLS listener's ALPN policy; wait for the stand-in and a fresh probe."""
        assert self.standin is not None and self.tracker is not None
        meta = self.pls["metadata"]
        offered = alpn_protocols(policy)
        expect = expects_h2(policy)
        patch = {"spec": {"listener": {"alpnPolicy": policy}}}
        self.step(
            f"provider$ kubectl patch pls {meta['name']} -n {meta['namespace']} --type merge "
            f"-p '{json.dumps(patch)}'"
        )
        self.provider.patch(
            GROUP_VERSION, PLS_KIND, meta["name"], patch, namespace=meta["namespace"]
        )
        self.display.watch(self.tracker, f"alpnPolicy {policy}")
        standin = self.standin

        def listener_changed(*_: Any) -> bool:
            return standin.state is not None and standin.state.alpn_policy == policy

        self.wait_until(f"the listener's ALPN policy {policy}", listener_changed)
        changed_wall = time.time() - (time.monotonic() - standin.changed_at)
        shown = ", ".join(offered) if offered else "no ALPN"
        self.step(f"The operator changed the NLB listener: it now offers {shown}")

        def probed_again(_: Any, ple: Mapping[str, Any] | None) -> bool:
            assert self.tracker is not None
            h2 = ((ple or {}).get("status") or {}).get("h2") or {}
            probed = _parse_time(h2.get("lastProbeTime"))
            return probed is not None and probed >= int(changed_wall) + 1

        self.wait_until("a probe after the change", probed_again)

        def settled(*_: Any) -> bool:
            assert self.tracker is not None
            ple_watch = self._watched()[1]
            return (self.tracker.status(ple_watch, "H2Ready") == "True") == expect

        self.wait_until(f"H2Ready={expect}", settled)
        self.display.unwatch()
        cell = self.tracker.cells[(self._watched()[1], "H2Ready")]
        verdict = "h2 negotiated" if expect else "no h2"
        self.step(
            f"alpnPolicy {policy}: {verdict}, as on AWS (H2Ready={cell.status}, {cell.reason})"
        )

    # -- output -------------------------------------------------------------------------------

    def print_final(self) -> None:
        out = self.display
        out.line()
        for cluster in (self.provider, self.consumer):
            out.line(f"$ kubectl get pls,ple -A -o wide        # {cluster.name} cluster")
            if self.kubectl:
                text = self.kubectl_run(cluster, "get", "pls,ple", "-A", "-o", "wide")
            else:
                text = wide_table(cluster, [(GROUP_VERSION, PLS_KIND), (GROUP_VERSION, PLE_KIND)])
            out.line(text.rstrip("\n"))
            out.line()
        out.line(f"$ {self.probe_command()}")
        out.line(self.probe().rstrip("\n"))
        out.line()

    def probe_url(self) -> tuple[str, str]:
        assert self.standin is not None
        spec = self.ple["spec"]
        host = self.pls["spec"]["privateDnsName"]
        path = (spec.get("probe") or {}).get("path", "/")
        port = self.standin.port
        return f"https://{host}:{port}{path}", f"{host}:{port}:127.0.0.1"

    def probe_command(self) -> str:
        url, resolve = self.probe_url()
        return shlex.join([
            "python", "-m", "privatelink_operator", "probe", url,
            "--resolve", resolve, "--cacert", str(self.tmp / "ca.crt"),
        ])  # fmt: skip

    def probe(self) -> str:
        from ..probe import Prober, ProbeTarget, parse_resolve, render_verbose

        url, resolve = self.probe_url()
        target = ProbeTarget.from_url(url, ca_bundle=self.ca.cert_pem)

        async def once() -> str:
            async with Prober(max_connections=1, resolve=[parse_resolve(resolve)]) as prober:
                return render_verbose(await prober.probe(target))

        return asyncio.run(once())

    def environment(self) -> str:
        from ..testing.aws import CONSUMER_ACCOUNT, PROVIDER_ACCOUNT

        kubectl = self.kubectl or "kubectl"
        lines = ["The sandbox keeps running. In another shell:", ""]
        for cluster in (self.provider, self.consumer):
            lines.append(f"  # {cluster.name} cluster")
            lines.append(f"  export KUBECONFIG={cluster.kubeconfig_path}")
            lines.append(f"  {kubectl} get pls,ple -A -o wide")
        for side, account in (("provider", PROVIDER_ACCOUNT), ("consumer", CONSUMER_ACCOUNT)):
            env = self.emulator.env(account)
            path = self.tmp / f"aws-{side}.env"
            path.write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
            lines.append(f"  # AWS, {side} account {account}: source {path}")
            lines.append("  " + " ".join(f"{k}={v}" for k, v in env.items()))
        pls, _ = self.objects()
        balancer = ((pls or {}).get("status") or {}).get("loadBalancerArn", "...")
        lines.append(f"  aws elbv2 describe-listeners --load-balancer-arn {balancer}  # provider")
        lines.append(f"  {self.probe_command()}")
        lines.append("")
        lines.append("Press Ctrl-C to stop every process and remove every file it started.")
        return "\n".join(lines)

    def keep_running(self) -> None:
        assert self.tracker is not None
        self.display.line(self.environment())
        self.display.live = False  # changes the user makes show as plain lines from here on
        while True:
            self.poll()
            self.check_operators()
            time.sleep(1.0)

    def failure_report(self, reason: str) -> str:
        lines = [f"sandbox: {reason}"]
        if self.tracker is not None and self.tracker.missing():
            lines.append("Not there yet:")
            lines += [f"  {m}" for m in self.tracker.missing()]
        if self.standin is not None and self.standin.stats.problems:
            lines.append(f"NLB stand-in: {self.standin.stats.problems[-1]}")
        for operator in self.operators:
            lines.append(f"Last lines of the {operator.name}'s log:")
            lines.append(_tail(operator.log()))
        return "\n".join(lines)


def wide_table(cluster: KubeEmulator, kinds: Sequence[tuple[str, str]]) -> str:
    """What ``kubectl get KINDS -A -o wide`` prints, from the cluster's own Table rendering
    (the CRDs' printer columns), for when no kubectl binary is at hand."""
    from ..testing.kube.tables import to_table

    blocks = []
    for api_version, kind in kinds:

        def render(api_version: str = api_version, kind: str = kind) -> tuple[str, Any]:
            info = cluster.store.find_resource(api_version, kind)
            items = cluster.store.list(info, None)["items"]
            return f"{info.singular}.{info.group}", to_table(info, items, {})

        resource, table = cluster.call(render)
        if not table["rows"]:
            continue
        header = ["NAMESPACE", *(c["name"].upper() for c in table["columnDefinitions"])]
        rows = [header]
        for row in table["rows"]:
            namespace = row["object"]["metadata"].get("namespace", "")
            cells = ["<none>" if c is None else str(c) for c in row["cells"]]
            cells[0] = (
                f"{resource.split('.', 1)[0].rstrip('s')}.{resource.split('.', 1)[1]}/" + cells[0]
            )
            rows.append([namespace, *cells])
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        blocks.append(
            "\n".join(
                "   ".join(
                    cell.ljust(width) for cell, width in zip(r, widths, strict=True)
                ).rstrip()
                for r in rows
            )
        )
    return "\n\n".join(blocks) + "\n" if blocks else "No resources found\n"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


# Signals received inside ``_signals_raise`` that the sandbox has not acted on yet. A handler's
# exception is lost when the signal lands in a weakref or ``__del__`` callback (Python prints
# "Exception ignored" and goes on): the main thread's loops raise it again from here.
_pending_signals: list[int] = []


def raise_pending_interrupt() -> None:
    """Raise :class:`Interrupted` for a signal whose handler's exception was swallowed."""
    if _pending_signals and threading.current_thread() is threading.main_thread():
        raise Interrupted(_pending_signals[0])


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` inside the block (main thread only)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        _pending_signals.append(signum)
        raise Interrupted(signum)

    saved = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def run_sandbox(options: Options, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    live = options.live if options.live is not None else stream.isatty()
    display = Display(stream, live=live)
    code = 0
    sandbox: Sandbox | None = None
    with _signals_raise():
        try:
            sandbox = Sandbox(options, display)
            sandbox.start()
            sandbox.prepare_examples()
            sandbox.wait_ready()
            ready_at = sandbox.elapsed()
            sandbox.print_final()
            if options.alpn:
                original = str(sandbox.pls["spec"]["listener"].get("alpnPolicy", "HTTP2Preferred"))
                sandbox.switch_alpn(options.alpn)
                sandbox.switch_alpn(original)
            display.line(
                f"Ready and h2 after {ready_at:.1f}s"
                + (
                    f"; the alpnPolicy round trip ended at {sandbox.elapsed():.1f}s"
                    if options.alpn
                    else ""
                )
            )
            if options.keep:
                sandbox.keep_running()
        except Interrupted as stop:
            _pending_signals.clear()
            display.unwatch()
            display.line(f"\n{stop.args[0]}: stopping")
            code = 0 if options.keep and stop.signum == signal.SIGINT else 128 + stop.signum
        except SandboxFailed as exc:
            display.unwatch()
            display.line(sandbox.failure_report(str(exc)) if sandbox else f"sandbox: {exc}")
            code = 1
        except Exception as exc:
            display.unwatch()
            report = sandbox.failure_report(f"{type(exc).__name__}: {exc}") if sandbox else ""
            display.line(report or f"sandbox: {type(exc).__name__}: {exc}")
            code = 1
        finally:
            if sandbox is not None:
                with _signals_ignored():
                    sandbox.stop_operators_first()
                    problems = sandbox.cleanup()
                    names = ", ".join(f"{n} {p}" for n, p in sandbox.pids.items())
                    if problems:
                        display.line("Cleanup problems:\n  " + "\n  ".join(problems))
                        code = code or 1
                    display.line(
                        f"Stopped everything the sandbox started (pids: {names}) and removed "
                        f"{sandbox.tmp}."
                    )
    return code


def cli_sandbox(args: argparse.Namespace) -> int:
    options = Options(
        keep=bool(args.keep),
        alpn=args.alpn,
        timeout=float(args.timeout),
        backend=args.backend,
        examples=Path(args.examples) if args.examples else None,
        live={"auto": None, "always": True, "never": False}[args.live],
    )
    return run_sandbox(options)
