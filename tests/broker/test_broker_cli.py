"""``xaa broker``: keygen, log (text and --json), revoke, lift, rotate-key, set-secret."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from xaa.adapters._vault import KEYS_ENV, Keyring, sqlite_vault
from xaa.adapters.broker import SqliteAttributionLog, SqliteRevocationList
from xaa.broker import MintRecord, RevocationTarget, SecretKind, Slot, VaultEntry
from xaa.cli import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ring = Keyring.generate("k1")
    monkeypatch.setenv(KEYS_ENV, ring.to_text().strip())
    path = tmp_path / "b.sqlite3"
    log = SqliteAttributionLog(path)
    log.append(
        MintRecord(
            time=1_800_000_000.0,
            event="mint",
            person="alice",
            agent="summarizer",
            app="legacy",
            strategy="authorization_code",
            requested_scopes=("chat.read",),
            granted_scopes=("chat.read",),
            fingerprint="sha256:abc",
        )
    )
    sqlite_vault(path).put(
        Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy"), VaultEntry("rt", actor="summarizer")
    )
    return path


def test_keygen_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker", "keygen", "--kid", "k7"]) == 0
    ring = Keyring.from_text(capsys.readouterr().out)
    assert ring.current == "k7"


def test_log_text_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker", "log", "--db", str(db)]) == 0
    line = capsys.readouterr().out
    assert "alice via summarizer  legacy  authorization_code" in line
    assert "sha256:abc" in line
    assert main(["broker", "log", "--db", str(db), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["person"] == "alice" and record["agent"] == "summarizer"
    assert record["granted_scopes"] == ["chat.read"]


def test_revoke_then_lift(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker", "revoke", "--db", str(db), "--person", "alice"]) == 0
    out = capsys.readouterr().out
    assert "1 vault slots deleted" in out
    assert sqlite_vault(db).slots() == []
    assert SqliteRevocationList(db).targets() == [RevocationTarget("person", "alice")]
    assert SqliteAttributionLog(db).records()[-1].event == "revoke"
    assert main(["broker", "lift", "--db", str(db), "--person", "alice"]) == 0
    assert SqliteRevocationList(db).targets() == []
    assert main(["broker", "lift", "--db", str(db), "--person", "alice"]) == 1


def test_rotate_key(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    ring = Keyring.from_text(os.environ[KEYS_ENV]).rotated("k2")
    monkeypatch.setenv(KEYS_ENV, ring.to_text().strip().replace("\n", ","))
    assert main(["broker", "rotate-key", "--db", str(db)]) == 0
    only_new = Keyring.from_text(ring.to_text()).without("k1")
    monkeypatch.setenv(KEYS_ENV, only_new.to_text().strip())
    assert sqlite_vault(db).get(Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy")) is not None


def test_set_secret_reads_stdin(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert main(["broker", "set-secret", "--db", str(db), "legacy"]) == 0
    entry = sqlite_vault(db).get(Slot(SecretKind.CLIENT_SECRET, "@client", "legacy"))
    assert entry is not None and entry.secret == "s3cret"
    assert b"s3cret" not in db.read_bytes()
