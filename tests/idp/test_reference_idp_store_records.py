"""The reference IdP store returns typed records and raises typed errors: no error strings
to tell apart with ``isinstance``, no ``sqlite3.Row`` past the store."""

from __future__ import annotations

import pytest

from reference_idp.store import CodeGrant, Store
from xaa import InvalidGrant

NOW = 1_700_000_000.0
DATA = {
    "client_id": "wiki",
    "redirect_uri": "https://wiki.example/cb",
    "code_challenge": "c" * 43,
    "scope": "openid",
    "nonce": "n",
    "state": "s",
    "sub": "alice",
    "auth_time": int(NOW),
    "acr": None,
    "amr": ["pwd"],
}


def test_use_code_returns_a_typed_grant_and_raises_invalid_grant_on_reuse() -> None:
    store = Store(":memory:")
    code = store.new_code(DATA, NOW)
    grant = store.use_code(code, NOW)
    assert isinstance(grant, CodeGrant)
    assert (grant.client_id, grant.session.sub, grant.session.amr) == ("wiki", "alice", ("pwd",))
    with pytest.raises(InvalidGrant) as reused:
        store.use_code(code, NOW)
    assert reused.value.detail == "code reused: its tokens are revoked"


def test_use_code_refuses_unknown_and_expired_codes_with_invalid_grant() -> None:
    store = Store(":memory:")
    with pytest.raises(InvalidGrant, match="unknown code"):
        store.use_code("nope", NOW)
    code = store.new_code(DATA, NOW, ttl=60)
    with pytest.raises(InvalidGrant, match="code expired"):
        store.use_code(code, NOW + 61)


def test_rotate_refresh_token_refuses_an_unknown_token_with_invalid_grant() -> None:
    store = Store(":memory:")
    with pytest.raises(InvalidGrant, match="unknown refresh token"):
        store.rotate_refresh_token("nope", "wiki", 3600, NOW)
