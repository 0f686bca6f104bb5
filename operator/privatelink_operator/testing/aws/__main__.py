"""``python -m privatelink_operator.testing.aws``: run the AWS emulator in the foreground."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .state import Delays

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m privatelink_operator.testing.aws",
        description=(
            "Run the faithful local AWS emulator (moto in server mode, patched to behave like "
            "AWS for PrivateLink, ELBv2, ACM and Route 53) on loopback. Any 12-digit access key "
            "id, or the x-moto-account-id header, selects the account. Control API under "
            "/_emulator/ (faults, calls, delays, reset)."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=5000, help="port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--delays",
        default="",
        metavar="SPEC",
        help="seconds of asynchronous transitions: N for all, or name=N,... with names "
        "load_balancer, acceptance, endpoint, endpoint_deletion, dns_verification, "
        "certificate, dns_change",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        delays = Delays.parse(args.delays)
    except ValueError as error:
        print(f"error: --delays: {error}", file=sys.stderr)
        return 2
    if args.child:
        from .server import child_main

        child_main(args.host, args.port, delays, args.verbose)
        return 0
    from .server import serve

    def ready(url: str) -> None:
        print(
            f"AWS emulator listening on {url} (AWS_ENDPOINT_URL={url}); Ctrl-C stops it", flush=True
        )

    serve(args.host, args.port, delays, verbose=args.verbose, on_ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
