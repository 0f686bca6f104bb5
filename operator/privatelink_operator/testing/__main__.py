"""``python -m privatelink_operator.testing <emulator> [args]``: run one emulator in the foreground.

A small dispatcher: each emulator package owns its command line (``<package>.__main__.main``);
add an entry to ``SUBCOMMANDS`` to add one.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: dict[str, str] = {
    "aws": "privatelink_operator.testing.aws.__main__",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in SUBCOMMANDS:
        names = " | ".join(sorted(SUBCOMMANDS))
        print(
            f"usage: python -m privatelink_operator.testing {{{names}}} [--help]", file=sys.stderr
        )
        return 2
    module = importlib.import_module(SUBCOMMANDS[args[0]])
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    sys.exit(main())
