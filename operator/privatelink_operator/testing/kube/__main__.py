"""``python -m privatelink_operator.testing.kube [--port N] [--crds DIR] [--kubeconfig FILE]``.

Runs the Kubernetes API emulator in the foreground until interrupted (SIGINT/SIGTERM), printing
its URL once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from .server import KubeServer, load_crds, write_kubeconfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m privatelink_operator.testing.kube",
        description="Run the Kubernetes API emulator in the foreground.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="DIR",
        help="register every CRD found in the YAML files of DIR (repeatable)",
    )
    parser.add_argument(
        "--kopf-peering", action="store_true", help="register kopf's peering CRDs (kopf.dev/v1)"
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="write a kubeconfig for the emulator to FILE (removed on exit)",
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser  # fmt: skip


async def serve(args: argparse.Namespace) -> None:
    crds = [crd for directory in args.crds for crd in load_crds(directory)]
    server = KubeServer(args.host, args.port, crds=crds, kopf_peering=args.kopf_peering)
    await server.start()
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, server.url)
    print(f"Kubernetes API emulator listening on {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        if args.kubeconfig:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(args.kubeconfig)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
