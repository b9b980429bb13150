"""examples/conformance_ci: the configuration files of the CI job in docs/conformance.md load
with ``--check``, and the workflow and the docs use exactly these files."""

from __future__ import annotations

from pathlib import Path

import pytest

from xaa.cli import main as xaa_main

ROOT = Path(__file__).parents[2]
CI = ROOT / "examples" / "conformance_ci"


@pytest.mark.parametrize(("app", "name"), [("idp", "idp.toml"), ("resource", "chat.toml")])
def test_ci_configuration_passes_check(
    app: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert xaa_main([app, "config", "--check", str(CI / name)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith(f"{CI / name}: OK (issuer http://127.0.0.1:")


def test_workflow_and_docs_use_the_checked_files() -> None:
    workflow = (CI / "conformance.yml").read_text()
    docs = (ROOT / "docs" / "conformance.md").read_text()
    for name in ("idp.toml", "chat.toml"):
        assert f"examples/conformance_ci/{name}" in workflow
        assert f"examples/conformance_ci/{name}" in docs
    assert "--html" in workflow and "conformance-report.png" in docs
