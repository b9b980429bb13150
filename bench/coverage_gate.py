"""Fail when line coverage of the sans-I/O core is below 95%.

The core is every module directly in ``xaa/`` plus the sans-I/O role packages;
adapters, stores and the CLI are measured but not gated here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

THRESHOLD = 95.0
NOT_CORE = ("xaa/adapters/", "xaa/stores/", "xaa/cli/", "xaa/demo.py", "xaa/__main__.py")


def main() -> int:
    report = Path(".coverage.json")
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(report)], check=True)
    files = json.loads(report.read_text())["files"]
    covered = total = 0
    for path, data in files.items():
        rel = path.replace("\\", "/")
        rel = rel[rel.index("xaa/") :] if "xaa/" in rel else rel
        if not rel.startswith("xaa/") or rel.startswith(NOT_CORE):
            continue
        summary = data["summary"]
        covered += summary["covered_lines"]
        total += summary["num_statements"]
    report.unlink()
    percent = 100.0 * covered / total if total else 100.0
    print(f"core line coverage: {percent:.1f}% ({covered}/{total})")
    if percent < THRESHOLD:
        print(f"core coverage below {THRESHOLD}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
