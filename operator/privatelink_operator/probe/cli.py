"""``python -m privatelink_operator probe URL``: the operator's probe as a command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from .prober import Prober
from .render import render_json, render_verbose
from .resolve import ResolveRule, parse_resolve
from .result import ProbeResult, ProbeTarget

__all__ = ["cli_main", "run_cli"]

EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_USAGE = 2


async def _probe_once(target: ProbeTarget, rules: list[ResolveRule]) -> ProbeResult:
    async with Prober(max_connections=1, resolve=rules) as prober:
        return await prober.probe(target)


def run_cli(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Exit 0 only for HTTP/2 with an acceptable status, 1 when not ready, 2 for bad input."""
    try:
        rules = [parse_resolve(text) for text in (args.resolve or [])]
        ca_bundle = None
        if args.cacert:
            try:
                with open(args.cacert, encoding="utf-8") as handle:
                    ca_bundle = handle.read()
            except (OSError, UnicodeError) as exc:
                raise ValueError(f"--cacert {args.cacert}: {exc}") from exc
        target = ProbeTarget.from_url(
            args.url,
            timeout=float(args.timeout),
            expected_statuses=args.expect_status or (),
            ca_bundle=ca_bundle,
        )
    except ValueError as exc:
        print(f"probe: {exc}", file=err)
        return EXIT_USAGE
    result = asyncio.run(_probe_once(target, rules))
    out.write(render_json(result) if args.json else render_verbose(result))
    out.flush()
    return EXIT_READY if result.ready else EXIT_NOT_READY


def cli_main(args: argparse.Namespace) -> int:
    return run_cli(args, sys.stdout, sys.stderr)
