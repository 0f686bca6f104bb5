"""``python -m privatelink_operator.bench [--n 1 10 100] [--drift-period S] [--out DIR]``.

``BENCH_N="1 10 100"`` in the environment sets the default list of N (default: the full
set, 1 10 100 500 1000, about 40 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .probes import measure_probes
from .report import save, write_reports
from .run import BenchConfig, aws_emulator, run_one


def _commit() -> str:
    """The git commit of the operator's source (the benchmark runs what is checked out)."""
    import subprocess

    source = Path(__file__).resolve().parent
    try:
        answer = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except OSError:
        return ""
    return answer.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privatelink_operator.bench")
    default_n = [int(x) for x in os.environ.get("BENCH_N", "1 10 100 500 1000").split()]
    parser.add_argument("--n", type=int, nargs="+", default=default_n, help="object counts")
    parser.add_argument("--drift-period", type=float, default=30.0)
    parser.add_argument("--steady-periods", type=float, default=2.0)
    parser.add_argument("--warmup-periods", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="per N, for all Ready")
    parser.add_argument("--out", default="bench/results", help="results directory")
    parser.add_argument(
        "--throttle",
        default=None,
        help="client-side AWS limits of the operator and the floor (--aws-api-throttle syntax; "
        "default: the operator's defaults; 'off': none)",
    )
    parser.add_argument(
        "--operator-arg", action="append", default=[], help="extra `run` flag (repeatable)"
    )
    parser.add_argument(
        "--probes-only",
        action="store_true",
        help="only measure the probe round for each N, adding it to the results in --out",
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        drift_period=args.drift_period,
        steady_periods=args.steady_periods,
        warmup_periods=args.warmup_periods,
        timeout=args.timeout,
        operator_args=tuple(args.operator_arg),
        throttle=args.throttle,
    )
    out = Path(args.out)
    if args.probes_only:
        for n in args.n:
            path = out / f"n{n:04d}.json"
            if not path.exists():
                print(f"N={n}: no results in {path}, skipped")
                continue
            result = json.loads(path.read_text())
            result["probes"] = measure_probes(n)
            save(result, out)
            print(f"N={n}: probes {result['probes']}")
        for path in write_reports(out):
            print(f"wrote {path}")
        return 0
    with aws_emulator() as (emulator, pid):
        for n in args.n:
            print(f"N={n}: running...", flush=True)
            result = run_one(n, config, emulator, pid)
            result["probes"] = measure_probes(n)
            result["commit"] = _commit()
            path = save(result, out)
            conv = result.get("converge", {})
            print(
                f"N={n}: floor {result['floor']['seconds']:.2f}s, operator "
                f"{conv.get('seconds')}s (ratio {conv.get('ratio_to_floor')}), "
                f"{conv.get('ready')}/{n} ready -> {path}",
                flush=True,
            )
            print(json.dumps({k: result.get(k) for k in ("steady", "operator")}), flush=True)
    for path in write_reports(out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
