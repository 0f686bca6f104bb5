"""``python -m privatelink_operator.awsmodels``: write the trimmed service models and endpoint
data (``make models``) from the installed botocore; ``--check`` only says whether the committed
ones are up to date (exit 1 if not)."""

from __future__ import annotations

import argparse
import sys

from . import DATA, committed, generate, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privatelink_operator.awsmodels")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        if committed() == generate():
            print(f"{DATA}: up to date")
            return 0
        print(f"{DATA}: stale, run `make models`", file=sys.stderr)
        return 1
    for path in write():
        print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
