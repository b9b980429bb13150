"""``python -m tests.fuzz [--count N] [--seconds S] [--seed N] [--stack NAME]``: ``make fuzz``.

Prints what was sent (by category) and what came back (by status); exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import sys

from tests.fuzz.harness import fuzz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument(
        "--stack",
        action="append",
        choices=("reference", "broker", "vendors"),
        help="what to fuzz (repeat; default: all)",
    )
    args = parser.parse_args(argv)
    stacks = args.stack or ["reference", "broker", "vendors"]
    report = fuzz(count=args.count, seconds=args.seconds, seed=args.seed, stacks=stacks)
    print(report.summary(), flush=True)
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
