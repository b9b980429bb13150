"""The command line of the notes examples, as their READMEs run it: a mistyped issuer is
one usage line (exit 2), a client registered again keeps its suspension, and the examples'
default data folders do not collide when run one after the other from the repository root."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from examples.authlib_vendor.app import main as authlib_main
from examples.django_vendor.app import main as django_main
from examples.fastapi_vendor.app import main as fastapi_main
from examples.fastapi_vendor.stores import VendorDb
from examples.flask_vendor.app import main as flask_main

Main = Callable[[Sequence[str] | None], int]
MAINS = {"fastapi": fastapi_main, "flask": flask_main, "django": django_main,
         "authlib": authlib_main}  # fmt: skip


@pytest.mark.parametrize("example", sorted(MAINS))
@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--issuer", "127.0.0.1:8000"],
        ["serve", "--trust-idp", "127.0.0.1:9400"],
        ["serve", "--trust-idp", "http://127.0.0.1:port"],
    ],
)
def test_notes_example_issuer_that_is_no_url_is_one_usage_line(
    example: str, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: ``--issuer 127.0.0.1:8000`` was a traceback (FastAPI) and ``--trust-idp``
    without a scheme started a server that refused every ID-JAG."""
    with pytest.raises(SystemExit) as exited:
        MAINS[example](["--data-dir", str(tmp_path), *argv])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert "is not an issuer" in lines[-1] and argv[1] in lines[-1]
    assert not list(tmp_path.iterdir())  # nothing started, nothing written


def test_add_client_again_keeps_a_suspended_client_suspended(tmp_path: Path) -> None:
    """Before: ``add-client`` on a suspended client (the kill switch) re-activated it."""
    db = VendorDb(tmp_path / "vendor.sqlite3")
    db.add_client("wiki-at-notes", "old-secret")
    db.set_active("wiki-at-notes", False)
    db.add_client("wiki-at-notes", "new-secret")
    client = db.get_client("wiki-at-notes")
    assert client is not None and not client.active


def test_authlib_example_after_fastapi_example_in_one_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the authlib example's ``add-client`` in the folder where the FastAPI example
    ran crashed on the FastAPI example's ``notes-data/vendor.sqlite3`` (another schema)."""
    monkeypatch.chdir(tmp_path)
    for main in (fastapi_main, flask_main, authlib_main):
        assert main(["add-client", "wiki-at-notes"]) == 0
    secrets = capsys.readouterr().out.split()
    assert len(secrets) == 3 and len(set(secrets)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes-authlib-data", "notes-data"]
