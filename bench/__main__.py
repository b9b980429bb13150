"""Run every ``bench_*`` module, print ``name: value unit`` and write ``.bench/latest.json``.

Each module exposes ``run() -> list[Figure]``. Figures are ratios against a
baseline measured in the same run wherever a target is stated, so they hold
across machines.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

from .common import Figure


def main(argv: list[str]) -> int:
    only = set(argv)
    figures: list[Figure] = []
    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if only and info.name.removeprefix("bench_") not in only:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        for figure in module.run():
            print(f"{figure.name}: {figure.value:.4g} {figure.unit}", flush=True)
            figures.append(figure)
    out = Path(".bench")
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps({f.name: f.value for f in figures}, indent=2, sort_keys=True) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
