"""The same verifier, other profiles: RFC 9068 access tokens and OIDC ID tokens.

Token-type confusion: every token is refused under every other profile.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.forge import AS, CLIENT, IDP, NOW, compact
from xaa import (
    AccessTokenClaims,
    IdJagClaims,
    IdTokenClaims,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    JwkSet,
    SigningKey,
    issue_access_token,
    issue_id_jag,
    issue_id_token,
    issue_jwt,
    verify_access_token,
    verify_id_jag,
    verify_id_token,
)

RESOURCE = "https://as.example/api"
RP = "wiki"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate(kid="k")


@pytest.fixture(scope="module")
def keys(key: SigningKey) -> JwkSet:
    return JwkSet([key.verification_key()])


def access_claims(**changes: Any) -> AccessTokenClaims:
    base: dict[str, Any] = {
        "iss": AS,
        "sub": "alice",
        "aud": RESOURCE,
        "client_id": CLIENT,
        "jti": "j1",
        "iat": NOW,
        "exp": NOW + 600,
        "scope": "chat.read",
    }
    return AccessTokenClaims.model_validate(base | changes)


def id_token_claims(**changes: Any) -> IdTokenClaims:
    base: dict[str, Any] = {
        "iss": IDP,
        "sub": "alice",
        "aud": RP,
        "iat": NOW,
        "exp": NOW + 600,
        "nonce": "n",
    }
    return IdTokenClaims.model_validate(base | changes)


def id_jag() -> IdJagClaims:
    return IdJagClaims.new(issuer=IDP, subject="alice", audience=AS, client_id=CLIENT, now=NOW)


def check_at(token: str, keys: JwkSet, **kw: Any) -> Any:
    args = {"keys": keys, "issuer": AS, "resource": RESOURCE, "now": NOW} | kw
    return verify_access_token(token, **args)


def check_idt(token: str, keys: JwkSet, **kw: Any) -> Any:
    args = {"keys": keys, "issuer": IDP, "client_id": RP, "now": NOW} | kw
    return verify_id_token(token, **args)


class TestAccessToken:
    def test_happy_path(self, key: SigningKey, keys: JwkSet) -> None:
        verified = check_at(issue_access_token(access_claims(), key), keys)
        assert verified.claims.scopes == {"chat.read"}
        assert verified.header["typ"] == "at+jwt"

    def test_aud_may_list_several_resources(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_access_token(access_claims(aud=["https://x", RESOURCE]), key)
        assert check_at(token, keys)

    @pytest.mark.parametrize("typ", [None, "JWT", "oauth-id-jag+jwt", "dpop+jwt"])
    def test_typ_must_be_at_jwt(self, typ: str | None, key: SigningKey, keys: JwkSet) -> None:
        token = issue_jwt(access_claims(), key, typ=typ)
        with pytest.raises(InvalidToken, match="typ"):
            check_at(token, keys)

    @pytest.mark.parametrize(
        ("change", "detail"),
        [
            ({"iss": IDP}, "iss"),
            ({"aud": "https://elsewhere/api"}, "aud"),
            ({"exp": NOW - 31, "iat": NOW - 100}, "expired"),
        ],
    )
    def test_one_defect(
        self, change: dict[str, Any], detail: str, key: SigningKey, keys: JwkSet
    ) -> None:
        with pytest.raises(InvalidToken, match=detail) as info:
            check_at(issue_access_token(access_claims(**change), key), keys)
        assert info.value.status == 401

    def test_unknown_key(self, keys: JwkSet) -> None:
        other = SigningKey.generate(kid="k")
        with pytest.raises(InvalidToken, match="signature"):
            check_at(issue_access_token(access_claims(), other), keys)

    def test_bound_token_needs_pop_check(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_access_token(access_claims(cnf={"jkt": "abc"}), key)
        with pytest.raises(InvalidToken, match="cnf"):
            check_at(token, keys)
        assert check_at(token, keys, allow_cnf=True).claims.cnf.jkt == "abc"


class TestIdToken:
    def test_happy_path(self, key: SigningKey, keys: JwkSet) -> None:
        verified = check_idt(issue_id_token(id_token_claims(), key), keys)
        assert verified.claims.nonce == "n"

    def test_no_typ_is_an_id_token(self, key: SigningKey, keys: JwkSet) -> None:
        assert check_idt(issue_jwt(id_token_claims(), key, typ=None), keys)

    def test_several_audiences_need_azp(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_id_token(id_token_claims(aud=[RP, "other"]), key)
        with pytest.raises(InvalidRequest, match="azp"):
            check_idt(token, keys)
        ok = issue_id_token(id_token_claims(aud=[RP, "other"], azp=RP), key)
        assert check_idt(ok, keys)

    def test_azp_of_another_client(self, key: SigningKey, keys: JwkSet) -> None:
        with pytest.raises(InvalidRequest, match="azp"):
            check_idt(issue_id_token(id_token_claims(azp="other"), key), keys)

    def test_aud_of_another_client(self, key: SigningKey, keys: JwkSet) -> None:
        with pytest.raises(InvalidRequest, match="aud"):
            check_idt(issue_id_token(id_token_claims(aud="other"), key), keys)

    def test_expired(self, key: SigningKey, keys: JwkSet) -> None:
        with pytest.raises(InvalidRequest, match="expired"):
            check_idt(issue_id_token(id_token_claims(iat=NOW - 700, exp=NOW - 100), key), keys)

    def test_custom_error_class(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_id_token(id_token_claims(aud="other"), key)
        with pytest.raises(InvalidGrant):
            check_idt(token, keys, error=InvalidGrant)


class TestTokenTypeConfusion:
    """An access token, an ID-JAG or a DPoP proof labelled as an ID token, and so on."""

    def test_access_token_is_not_an_id_token(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_access_token(access_claims(iss=IDP, aud=RP), key)
        with pytest.raises(InvalidRequest, match="typ"):
            check_idt(token, keys)

    def test_id_jag_is_not_an_id_token(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_id_jag(
            IdJagClaims.new(issuer=IDP, subject="a", audience=RP, client_id=RP, now=NOW), key
        )
        with pytest.raises(InvalidRequest, match="typ"):
            check_idt(token, keys)

    def test_dpop_proof_is_not_an_id_token(self, key: SigningKey, keys: JwkSet) -> None:
        header = {"typ": "dpop+jwt", "alg": "ES256", "kid": "k"}
        token = compact(header, id_token_claims().to_json(), key)
        with pytest.raises(InvalidRequest, match="typ"):
            check_idt(token, keys)

    def test_id_token_is_not_an_id_jag(self, key: SigningKey, keys: JwkSet) -> None:
        claims = id_token_claims(aud=AS).to_json() | {"client_id": CLIENT, "jti": "j"}
        token = issue_jwt(claims, key, typ="JWT")
        with pytest.raises(InvalidGrant, match="typ"):
            verify_id_jag(token, keys=keys, issuer=IDP, audience=AS, client_id=CLIENT, now=NOW)

    def test_access_token_is_not_an_id_jag(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_access_token(access_claims(iss=IDP, aud=AS), key)
        with pytest.raises(InvalidGrant, match="typ"):
            verify_id_jag(token, keys=keys, issuer=IDP, audience=AS, client_id=CLIENT, now=NOW)

    def test_id_jag_is_not_an_access_token(self, key: SigningKey, keys: JwkSet) -> None:
        token = issue_id_jag(id_jag(), key)
        with pytest.raises(InvalidToken, match="typ"):
            check_at(token, keys, issuer=IDP, resource=AS)
