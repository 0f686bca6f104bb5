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

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
