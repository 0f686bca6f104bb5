"""Command line: ``python -m privatelink_operator <command>``.

Each command imports what it needs lazily, so ``--help`` and ``crds`` stay fast and do not
need AWS or Kubernetes libraries to be configured.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def _cmd_crds(args: argparse.Namespace) -> int:
    from .crdgen import write_crds

    return write_crds(output_dir=args.output_dir, check=args.check)


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_operator

    return run_operator(args)


def _cmd_probe(args: argparse.Namespace) -> int:
    from .probe import cli_main

    return int(cli_main(args))


def _cmd_plan(args: argparse.Namespace) -> int:
    from .planning import cli_plan

    return cli_plan(args)


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import cli_sandbox

    return cli_sandbox(args)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweeper import cli_sweep

    return cli_sweep(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m privatelink_operator",
        description=(
            "Expose services privately across AWS accounts with PrivateLink and prove that "
            "HTTP/2 works end to end. PrivateLinkService (provider cluster) becomes a "
            "certificate, an internal NLB with a TLS/ALPN listener, a TLS target group and a "
            "verified VPC endpoint service; PrivateLinkEndpoint (consumer cluster) becomes an "
            "interface VPC endpoint whose HTTP/2 readiness is probed continuously."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run the operator (kopf) against the current Kubernetes cluster and AWS account",
        description=(
            "Run the operator. Uses KUBECONFIG or the in-cluster configuration, and the "
            "standard AWS environment (AWS_REGION, credentials, AWS_ENDPOINT_URL and "
            "AWS_ENDPOINT_URL_<SERVICE>)."
        ),
    )
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable; globs such as 'team-*' allowed)",
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch every namespace (default)"
    )
    run.add_argument(
        "--cluster-name",
        default="default",
        help="value of the ownership tag on every AWS resource, so two clusters in one "
        "account never touch each other's resources (default: %(default)s)",
    )
    run.add_argument(
        "--probe-resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS",
        help="connect the HTTP/2 probe for HOST:PORT to ADDRESS, keeping SNI, certificate "
        "checks and Host as HOST (repeatable, like curl --resolve)",
    )
    run.add_argument(
        "--drift-period",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how often each object's AWS resources are checked for drift (default 60)",
    )
    run.add_argument(
        "--drift-detail-budget",
        type=int,
        default=10,
        metavar="N",
        help="objects whose target health, target group attributes and endpoint service "
        "permissions (AWS reads them one resource at a time) a drift snapshot reads again, at "
        "most: steady-state AWS reads stay flat as objects grow, and such a drift is seen "
        "within ceil(objects/N) drift periods (default 10; 0: every object, every period)",
    )
    run.add_argument(
        "--aws-api-throttle",
        default=None,
        metavar="RULES",
        help="client-side AWS rate limits before the defaults, e.g. "
        "'elbv2:Describe*=50:200,ec2:Create*|Modify*=5:100' (SERVICE:OPERATIONS=RATE:BURST; "
        "'off': none; default: $PLO_AWS_API_THROTTLE, then the built-in limits)",
    )
    run.add_argument(
        "--probe-max-connections",
        type=int,
        default=20,
        metavar="N",
        help="sockets the shared HTTP/2 probe may have open at once, however many endpoints "
        "there are (default 20)",
    )
    run.add_argument(
        "--standalone",
        action="store_true",
        help="no leader election (kopf peering): use when only one replica runs",
    )
    run.add_argument(
        "--peering-name",
        default=None,
        help="kopf peering object for leader election between replicas (default: kopf's)",
    )
    run.add_argument(
        "--liveness",
        default=None,
        metavar="URL",
        help="serve a health endpoint, e.g. http://0.0.0.0:8080/healthz",
    )
    run.add_argument(
        "--selector",
        "-l",
        default=None,
        metavar="LABELS",
        help="serve only PrivateLinkService/PrivateLinkEndpoint objects matching this label "
        "selector (e.g. 'team=payments' or 'shard in (a,b)'); the API server filters the "
        "watches, so releases with disjoint selectors never act on one object",
    )
    run.add_argument(
        "--priority",
        type=int,
        default=None,
        help="kopf peering priority of this replica: the highest works, the others stand by "
        "(default: random, so replicas never tie)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics (default 0: off)",
    )
    run.add_argument(
        "--metrics-host",
        default="0.0.0.0",
        metavar="HOST",
        help="address of the metrics endpoint (default %(default)s)",
    )
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text (default) or json: one JSON object per line, for log pipelines",
    )
    run.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    run.set_defaults(func=_cmd_run)

    probe = sub.add_parser(
        "probe",
        help="check that a URL answers over HTTP/2 with TLS and a valid certificate",
        description=(
            "Probe URL the way the operator does and print what `curl --http2 -v` would show "
            "(ALPN, TLS version and cipher, certificate, HTTP/2 status line and headers). "
            "Exit status 0 only when HTTP/2 was negotiated and the status is acceptable."
        ),
    )
    probe.add_argument("url", help="https://HOST[:PORT]/PATH")
    probe.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS",
        help="connect to ADDRESS for HOST:PORT (repeatable, like curl --resolve)",
    )
    probe.add_argument(
        "--cacert", metavar="FILE", help="extra trust roots (PEM), added to the system's"
    )
    probe.add_argument(
        "--timeout", type=float, default=5.0, help="seconds for the whole probe (default 5)"
    )
    probe.add_argument(
        "--expect-status",
        action="append",
        type=int,
        default=[],
        metavar="CODE",
        help="acceptable HTTP status (repeatable; default: any status)",
    )
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.set_defaults(func=_cmd_probe)

    plan = sub.add_parser(
        "plan",
        help="print what the operator would change in AWS for a PrivateLinkService file",
        description=(
            "Admit the file as the API server would (defaults, schema and CEL rules), read the "
            "current AWS state (AWS_REGION, credentials, AWS_ENDPOINT_URL...) and print the "
            "ordered AWS calls the operator would make. Nothing is changed: only Describe, "
            "List and Get calls are made. Exit status 0: the plan was computed; 1: it stalls "
            "(applying would not progress) or AWS could not be read; 2: the file is invalid."
        ),
    )
    plan.add_argument(
        "-f",
        "--filename",
        required=True,
        metavar="FILE",
        help="YAML with one or more PrivateLinkService objects ('-': standard input)",
    )
    plan.add_argument(
        "--cluster-name",
        default="default",
        help="the operator's --cluster-name: whose ownership tags count (default: %(default)s)",
    )
    plan.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="output format (default: %(default)s)",
    )
    plan.add_argument(
        "--uid",
        default=None,
        help="the object's uid when the file has none; otherwise it is read from the live "
        "object (KUBECONFIG), and without one the object is planned as new",
    )
    plan.set_defaults(func=_cmd_plan)

    sweep = sub.add_parser(
        "sweep",
        help="report (or --delete) AWS resources tagged for this cluster whose object is gone",
        description=(
            "List, in the account of the AWS credentials, every resource whose ownership tags "
            "name this cluster and a PrivateLinkService or PrivateLinkEndpoint (namespace, "
            "name, uid) that the Kubernetes cluster (KUBECONFIG or in-cluster) no longer has. "
            "Only reports, unless --delete is given. Resources of other clusters, untagged "
            "ones and those of existing objects are never touched. Exit status 0: nothing "
            "orphaned (or everything deleted); 1: orphans reported, or some not deleted."
        ),
    )
    sweep.add_argument(
        "--cluster-name",
        default="default",
        help="the operator's --cluster-name: whose ownership tags count (default: %(default)s)",
    )
    sweep.add_argument(
        "--delete", action="store_true", help="delete the orphans (dependents first)"
    )
    sweep.set_defaults(func=_cmd_sweep)

    crds = sub.add_parser(
        "crds",
        help="print the CustomResourceDefinitions generated from the API models",
        description="Print both CRDs as YAML, or write them to a directory.",
    )
    crds.add_argument("--output-dir", metavar="DIR", help="write one file per CRD into DIR")
    crds.add_argument(
        "--check",
        action="store_true",
        help="with --output-dir: exit 1 if the files there differ from the generated CRDs",
    )
    crds.set_defaults(func=_cmd_crds)

    sandbox = sub.add_parser(
        "sandbox",
        help="the whole PrivateLink + HTTP/2 flow on loopback, in one command (make demo)",
        description=(
            "Start, on loopback: the AWS emulator (provider and consumer accounts), two "
            "Kubernetes API emulators with the CRDs, a real HTTP/2 TLS backend, a stand-in for "
            "the NLB's data path that honours the listener's ALPN policy, and both operators; "
            "apply examples/, show each condition turning, and print both statuses and the "
            "probe's output. Ctrl-C stops every process it started and removes its files."
        ),
    )
    sandbox.add_argument(
        "--keep",
        action="store_true",
        help="keep everything running after the demo and print the kubeconfigs and AWS "
        "environment for your own kubectl and aws commands; Ctrl-C stops it all",
    )
    sandbox.add_argument(
        "--alpn",
        choices=["HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"],
        metavar="POLICY",
        help="scenario switch: after Ready and h2, set the PrivateLinkService's "
        "listener.alpnPolicy to POLICY and show H2Ready turn False with its reason (policies "
        "under which the probe gets no h2: HTTP1Only, HTTP2Optional, None) or stay True "
        "(HTTP2Only, HTTP2Preferred), then set the example's policy again and see H2Ready "
        "True. POLICY: HTTP1Only, HTTP2Only, HTTP2Optional, HTTP2Preferred or None",
    )
    sandbox.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="exit 1, naming the missing conditions and showing the operators' last log lines, "
        "when Ready and h2 (and the --alpn round trip) take longer (default %(default)s)",
    )
    sandbox.add_argument(
        "--backend",
        choices=["auto", "apache", "python"],
        default="auto",
        help="HTTP/2 server behind the Service: Apache httpd (mod_http2, mod_ssl), the Python "
        "h2 server, or auto: Apache when installed, else Python (default)",
    )
    sandbox.add_argument(
        "--examples",
        metavar="DIR",
        help="where privatelinkservice.yaml and privatelinkendpoint.yaml are "
        "(default: examples/ of this source tree)",
    )
    sandbox.add_argument(
        "--live",
        choices=["auto", "always", "never"],
        default="auto",
        help="redraw the condition table in place (always), one line per change (never), or "
        "by whether stdout is a terminal (auto, default)",
    )
    sandbox.set_defaults(func=_cmd_sandbox)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
