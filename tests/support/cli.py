"""The ``xaa`` command as a user runs it: a subprocess of this interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_xaa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m xaa ARGS`` in ``cwd``; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "xaa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
