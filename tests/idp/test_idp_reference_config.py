"""Reference IdP configuration and storage details."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_idp.config import demo_config_text, load_config
from reference_idp.store import Store, check_password, hash_password
from xaa import ConfigurationError, SigningKey, spec


def test_demo_configuration_is_the_issue_s() -> None:
    config = load_config()
    assert config.issuer == "http://127.0.0.1:9400"
    users = {u.username: u for u in config.users}
    assert users["alice"].email == "alice@acme.example" and users["alice"].groups == ["engineering"]
    assert users["bob"].email == "bob@acme.example" and users["bob"].groups == ["sales"]
    clients = {c.client_id: c for c in config.clients}
    assert clients["wiki"].secret == "wiki-secret"
    assert clients["wiki"].redirect_uris == ["http://127.0.0.1:9700/callback"]
    assert clients["agent"].auth_method == spec.AUTH_PRIVATE_KEY_JWT
    assert clients["agent"].redirect_uris == ["http://127.0.0.1:9701/callback"]
    demo_key = SigningKey.from_jwk(config.demo["agent_private_jwk"])
    assert clients["agent"].jwks == {"keys": [demo_key.public_jwk()]}
    rs = config.policy.resource_servers[0]
    assert (rs.issuer, rs.aliases, rs.resources) == (
        "http://127.0.0.1:9500",
        ["urn:xaa:demo:chat"],
        ["http://127.0.0.1:9500/api", "http://127.0.0.1:9500/mcp"],
    )
    grants = {g.client: g for g in config.policy.grants}
    assert grants["wiki"].client_id == "wiki-at-chat"
    assert grants["agent"].client_id == "agent-at-chat"
    assert [r.scopes for r in grants["agent"].scopes] == [
        ["chat.read"],
        ["chat.read", "chat.write"],
    ]
    assert "DEMO ONLY" in demo_config_text()


def test_custom_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(
        'issuer = "https://idp.test"\n'
        '[[users]]\nusername = "carol"\npassword = "pw"\n'
        '[[policy.resource_servers]]\nissuer = "https://as.test"\n'
        'subject_type = "pairwise"\npairwise_salt = "s"\n'
    )
    config = load_config(path)
    assert config.issuer == "https://idp.test" and config.users[0].username == "carol"
    assert config.with_issuer("https://other.test").issuer == "https://other.test"


@pytest.mark.parametrize(
    "client",
    [
        'client_id = "c"\nowner = "o"\nauth_method = "private_key_jwt"\n',
        'client_id = "c"\nowner = "o"\nauth_method = "client_secret_basic"\n',
        'client_id = "c"\nowner = "o"\nauth_method = "none"\nsecret = "s"\n',
        'client_id = "c"\nauth_method = "client_secret_basic"\nsecret = "s"\n',
    ],
    ids=["jwt-without-keys", "secret-without-secret", "public-client", "no-owner"],
)
def test_bad_client_configuration_refuses_to_load(tmp_path: Path, client: str) -> None:
    path = tmp_path / "idp.toml"
    path.write_text("[[clients]]\n" + client)
    with pytest.raises(ConfigurationError, match=r"idp\.toml: clients\[0\]"):
        load_config(path)


def test_passwords_are_hashed_with_a_salt() -> None:
    one, two = hash_password("alice"), hash_password("alice")
    assert one != two and "alice" not in one and one.startswith("scrypt$")
    assert check_password("alice", one) and not check_password("bob", one)
    assert not check_password("alice", "plain$alice")


def test_nothing_secret_is_stored_in_clear(tmp_path: Path) -> None:
    db = tmp_path / "idp.sqlite3"
    store = Store(db)
    store.seed(load_config())
    token = store.issue_refresh_token(
        client_id="wiki",
        sub="alice",
        scope="openid",
        auth_time=1,
        acr=None,
        amr=(),
        lifetime=60,
        now=0,
        family="f",
    )
    store.close()
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    for secret in (b"wiki-secret", token.encode(), b'"password"'):
        assert secret not in raw


def test_reference_rotation_waits_until_the_staged_key_was_published_long_enough(
    tmp_path: Path,
) -> None:
    from xaa import RotationRefused

    db = tmp_path / "idp.sqlite3"
    store = Store(db)
    store.seed(load_config(), now=1000)
    current, staged = (kid for kid, _ in store.key_states())
    with pytest.raises(RotationRefused, match="minimum staging period"):
        store.rotate_keys(300, now=1000 + 3599)
    assert store.current.kid == current
    store.close()
    store = Store(db)  # the publication time survives a restart
    assert store.key_rotatable_at() == 1000 + 3600
    assert store.rotate_keys(300, now=1000 + 3600).kid == staged
    fresh = store.stage_key(now=5000)
    assert dict(store.key_states())[fresh.kid] == "next"
    with pytest.raises(RotationRefused):
        store.rotate_keys(300, now=5000 + 60)
    assert store.rotate_keys(300, now=5000 + 60, min_staging=60).kid == fresh.kid
    store.close()
