"""Each start seeds the database from the configuration file (docs/idp-config.md, "When the
configuration is read"): stored users and clients follow the file, except a user's password
hash and every status; those no longer in the file are ``removed`` and refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_idp.config import IdpConfig, load_config
from reference_idp.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "idp.sqlite3")
    yield opened
    opened.close()


def _changed(config: IdpConfig, **changes: Any) -> IdpConfig:
    data = config.model_dump()
    for table, name, key, value in changes.values():
        row = next(r for r in data[table] if r[name] == key)
        row.update(value)
    return IdpConfig.model_validate(data)


def test_a_secret_rotated_in_the_file_replaces_the_stored_one(store: Store) -> None:
    demo = load_config()
    store.seed(demo)
    client = store.get_client("wiki")
    assert client is not None and client.secret_matches("wiki-secret")
    store.seed(_changed(demo, c=("clients", "client_id", "wiki", {"secret": "rotated"})))
    client = store.get_client("wiki")
    assert client is not None and client.secret_matches("rotated")
    assert not client.secret_matches("wiki-secret")  # the leaked secret no longer works


def test_groups_changed_in_the_file_apply_but_the_stored_password_is_kept(store: Store) -> None:
    demo = load_config()
    store.seed(demo)
    moved = {"groups": ["sales"], "password": "ignored", "email": "a@acme.example"}
    store.seed(_changed(demo, u=("users", "username", "alice", moved)))
    profile = store.find_subject("alice")
    assert profile is not None and profile.groups == frozenset({"sales"})
    assert profile.email == "a@acme.example"
    assert store.check_login("alice", "alice") and not store.check_login("alice", "ignored")


def test_a_client_or_user_removed_from_the_file_is_refused(store: Store) -> None:
    demo = load_config()
    store.seed(demo)
    data = demo.model_dump()
    data["clients"] = [c for c in data["clients"] if c["client_id"] != "agent"]
    data["policy"]["grants"] = [g for g in data["policy"]["grants"] if g["client"] != "agent"]
    data["users"] = [u for u in data["users"] if u["username"] != "bob"]
    smaller = IdpConfig.model_validate(data)
    store.seed(smaller)
    agent = store.get_client("agent")
    assert agent is not None and not agent.active
    assert store.find_subject("bob") is None and not store.check_login("bob", "bob")
    assert not store.set_client_status("agent", "active")  # resume cannot bring it back
    store.seed(demo)  # back in the file: back in service
    agent = store.get_client("agent")
    assert agent is not None and agent.active and store.check_login("bob", "bob")


def test_a_suspended_client_stays_suspended_across_a_restart(store: Store) -> None:
    demo = load_config()
    store.seed(demo)
    assert store.set_client_status("wiki", "suspended")
    store.seed(_changed(demo, c=("clients", "client_id", "wiki", {"owner": "New owner"})))
    record = store.client_record("wiki")
    assert record is not None and (record.status, record.owner) == ("suspended", "New owner")
