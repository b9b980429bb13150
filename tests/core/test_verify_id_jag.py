"""verify_id_jag: one test per check, each a valid ID-JAG with exactly one defect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.forge import AS, CLIENT, DROP, IDP, NOW, Forge, b64, compact, valid_claims
from xaa import InvalidGrant, JwkSet, SigningKey, verify_id_jag
from xaa._jose import DEFAULT_MAX_TOKEN_BYTES


def verify(token: object, keys: JwkSet, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "keys": keys,
        "issuer": IDP,
        "audience": AS,
        "client_id": CLIENT,
        "now": NOW,
    }
    args.update(kw)
    return verify_id_jag(token, **args)


def rejected(token: object, keys: JwkSet, detail: str, **kw: Any) -> None:
    with pytest.raises(InvalidGrant) as info:
        verify(token, keys, **kw)
    assert info.value.error == "invalid_grant"
    assert detail in info.value.detail
    status, headers, body = info.value.to_response()
    assert status == 400
    assert headers["cache-control"] == "no-store"
    assert json.loads(body) == {
        "error": "invalid_grant",
        "error_description": "The authorization grant is invalid.",
    }


def test_happy_path(forge: Forge, idp_keys: JwkSet) -> None:
    verified = verify(forge(), idp_keys)
    assert verified.claims.sub == "U019488227"
    assert verified.claims.scopes == {"chat.read", "chat.history"}
    assert verified.header["typ"] == "oauth-id-jag+jwt"


def test_size_cap_before_parsing(forge: Forge, idp_keys: JwkSet) -> None:
    token = forge(pad="x" * DEFAULT_MAX_TOKEN_BYTES)
    rejected(token, idp_keys, "longer than")


@pytest.mark.parametrize("token", ["", None, 42, "a.b", "a.b.c.d.e", "a.b.c.d"])
def test_not_a_compact_jws(token: object, idp_keys: JwkSet) -> None:
    with pytest.raises(InvalidGrant):
        verify(token, idp_keys)


def test_json_serialization_refused(forge: Forge, idp_keys: JwkSet) -> None:
    h, p, s = forge().split(".")
    rejected(json.dumps({"protected": h, "payload": p, "signature": s}), idp_keys, "compact JWS")


def test_non_ascii_refused(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge() + "é", idp_keys, "ASCII")


def test_padding_and_foreign_alphabet_refused(forge: Forge, idp_keys: JwkSet) -> None:
    h, p, s = forge().split(".")
    rejected(f"{h}=.{p}.{s}", idp_keys, "base64url")
    rejected(f"{h}.{p.replace('-', '+')}+/.{s}", idp_keys, "base64url")


def test_non_canonical_base64url_refused(forge: Forge, idp_keys: JwkSet) -> None:
    h, p, s = forge().split(".")
    # The signature is 64 bytes: 86 chars whose last one carries 4 unused bits.
    last = s[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    rejected(f"{h}.{p}.{s[:-1]}{twin}", idp_keys, "non-canonical")


def test_duplicate_claim_refused(idp_key: SigningKey, idp_keys: JwkSet) -> None:
    header = b64(b'{"typ":"oauth-id-jag+jwt","alg":"ES256","kid":"idp-1"}')
    body = json.dumps(valid_claims())[:-1] + ', "aud": "https://evil.example"}'
    payload = b64(body.encode())
    sig = b64(idp_key.sign(f"{header}.{payload}".encode()))
    rejected(f"{header}.{payload}.{sig}", idp_keys, "duplicate")


def test_duplicate_header_member_refused(idp_key: SigningKey, idp_keys: JwkSet) -> None:
    header = b64(b'{"typ":"oauth-id-jag+jwt","alg":"ES256","kid":"idp-1","typ":"JWT"}')
    payload = b64(json.dumps(valid_claims()).encode())
    sig = b64(idp_key.sign(f"{header}.{payload}".encode()))
    rejected(f"{header}.{payload}.{sig}", idp_keys, "duplicate")


def test_nan_refused(idp_key: SigningKey, idp_keys: JwkSet) -> None:
    header = b64(b'{"typ":"oauth-id-jag+jwt","alg":"ES256","kid":"idp-1"}')
    payload = b64(json.dumps(valid_claims())[:-1].encode() + b', "x": NaN}')
    sig = b64(idp_key.sign(f"{header}.{payload}".encode()))
    rejected(f"{header}.{payload}.{sig}", idp_keys, "non-JSON constant")


def test_payload_not_an_object(idp_key: SigningKey, idp_keys: JwkSet) -> None:
    header = b64(b'{"typ":"oauth-id-jag+jwt","alg":"ES256","kid":"idp-1"}')
    payload = b64(b'["iss"]')
    sig = b64(idp_key.sign(f"{header}.{payload}".encode()))
    rejected(f"{header}.{payload}.{sig}", idp_keys, "not a JSON object")


@pytest.mark.parametrize("typ", [DROP, "JWT", "jwt", "at+jwt", "dpop+jwt", "id-jag+jwt", 7, ""])
def test_wrong_or_missing_typ(typ: object, forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(header={"typ": typ}), idp_keys, "typ")


@pytest.mark.parametrize("typ", ["OAUTH-ID-JAG+JWT", "application/oauth-id-jag+jwt"])
def test_typ_spellings_of_the_same_media_type(typ: str, forge: Forge, idp_keys: JwkSet) -> None:
    assert verify(forge(header={"typ": typ}), idp_keys).claims.sub


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_spelling(alg: str, forge: Forge, idp_keys: JwkSet) -> None:
    h, p, _ = forge(header={"alg": alg}).split(".")
    rejected(f"{h}.{p}.", idp_keys, "empty signature")
    rejected(f"{h}.{p}.AAAA", idp_keys, "alg not allowed")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "hs256"])
def test_hmac_with_the_public_key_refused(alg: str, idp_key: SigningKey, idp_keys: JwkSet) -> None:
    import hashlib
    import hmac

    header = {"typ": "oauth-id-jag+jwt", "alg": alg, "kid": "idp-1"}
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(valid_claims()).encode())
    secret = json.dumps(idp_key.public_jwk()).encode()
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    rejected(f"{h}.{p}.{b64(sig)}", idp_keys, "alg not allowed")


def test_alg_not_pinned_for_key(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(header={"alg": "ES384"}), idp_keys, "alg not pinned")


def test_alg_missing(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(header={"alg": DROP}), idp_keys, "alg missing")


def test_crit_refused(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(header={"crit": ["exp"]}), idp_keys, "crit")


def test_embedded_jwk_is_ignored(forge: Forge, idp_keys: JwkSet) -> None:
    attacker = SigningKey.generate("ES256", kid="idp-1")
    token = forge(header={"jwk": attacker.public_jwk()}, key=attacker)
    rejected(token, idp_keys, "signature invalid")


@pytest.mark.parametrize("name", ["jku", "x5u"])
def test_key_urls_are_ignored(name: str, forge: Forge, idp_keys: JwkSet) -> None:
    attacker = SigningKey.generate("ES256", kid="idp-1")
    token = forge(header={name: "https://attacker.example/jwks"}, key=attacker)
    rejected(token, idp_keys, "signature invalid")


def test_x5c_is_ignored(forge: Forge, idp_keys: JwkSet) -> None:
    attacker = SigningKey.generate("ES256", kid="idp-1")
    rejected(forge(header={"x5c": ["MIIB"]}, key=attacker), idp_keys, "signature invalid")


def test_unknown_kid(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(header={"kid": "other"}), idp_keys, "no key for kid")


def test_kid_absent_with_several_keys(forge: Forge, idp_key: SigningKey) -> None:
    keys = JwkSet([idp_key.verification_key(), SigningKey.generate().verification_key()])
    rejected(forge(header={"kid": DROP}), keys, "kid missing")


def test_kid_absent_with_one_key(forge: Forge, idp_keys: JwkSet) -> None:
    assert verify(forge(header={"kid": DROP}), idp_keys)


def test_kid_not_a_string(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(header={"kid": 1}), idp_keys, "kid is not a string")


def test_right_kid_wrong_key(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(key=SigningKey.generate("ES256", kid="idp-1")), idp_keys, "signature invalid")


def test_ecdsa_zero_signature(forge: Forge, idp_keys: JwkSet) -> None:
    h, p, _ = forge().split(".")
    rejected(f"{h}.{p}.{b64(bytes(64))}", idp_keys, "signature invalid")


@pytest.mark.parametrize("length", [1, 32, 63, 65, 72, 128])
def test_ecdsa_wrong_length_signature(length: int, forge: Forge, idp_keys: JwkSet) -> None:
    h, p, _ = forge().split(".")
    bad = b64(bytes([1]) * length)
    rejected(f"{h}.{p}.{bad}", idp_keys, "signature invalid")


def test_ecdsa_der_signature_refused(forge: Forge, idp_key: SigningKey, idp_keys: JwkSet) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    h, p, _ = forge().split(".")
    der = idp_key.key.get_op_key("sign").sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
    rejected(f"{h}.{p}.{b64(der)}", idp_keys, "signature invalid")


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
def test_required_claim_missing(claim: str, forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(**{claim: DROP}), idp_keys, claim)


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", 1),
        ("sub", ""),
        ("sub", 5),
        ("aud", 7),
        ("aud", [7]),
        ("exp", "1800000300"),
        ("exp", 1800000300.5),
        ("exp", True),
        ("iat", None),
        ("jti", ""),
        ("client_id", ["wiki-at-chat"]),
        ("scope", ["chat.read"]),
        ("resource", 3),
        ("authorization_details", {"type": "x"}),
        ("authorization_details", [{"actions": ["read"]}]),
        ("cnf", "jkt"),
        ("act", {"iss": "x"}),
        ("amr", "pwd"),
        ("auth_time", "now"),
    ],
)
def test_claim_of_the_wrong_json_type(
    claim: str, value: object, forge: Forge, idp_keys: JwkSet
) -> None:
    rejected(forge(**{claim: value}), idp_keys, claim)


@pytest.mark.parametrize(
    "iss",
    [
        "https://idp.example/",
        "https://IDP.example",
        "https://idp.example.evil",
        "http://idp.example",
    ],
)
def test_iss_only_similar(iss: str, forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(iss=iss), idp_keys, "iss mismatch")


@pytest.mark.parametrize(
    "aud",
    [
        "https://other-as.example",
        "https://as.example/",
        "https://as.example/token",
        [AS, "https://other-as.example"],
        [AS, AS],
        [],
        ["https://other-as.example"],
    ],
)
def test_aud_not_exactly_this_as(aud: object, forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(aud=aud), idp_keys, "aud")


def test_aud_one_element_array_accepted(forge: Forge, idp_keys: JwkSet) -> None:
    assert verify(forge(aud=[AS]), idp_keys).claims.aud == [AS]


def test_client_id_of_another_client(forge: Forge, idp_keys: JwkSet) -> None:
    rejected(forge(client_id="agent-at-chat"), idp_keys, "client_id")


def test_cnf_refused_unless_pop_is_checked(forge: Forge, idp_keys: JwkSet) -> None:
    token = forge(cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
    rejected(token, idp_keys, "cnf present")
    verified = verify(token, idp_keys, allow_cnf=True)
    assert verified.claims.cnf is not None
    assert verified.claims.cnf.jkt.startswith("0ZcO")


class TestTimeWindows:
    """exp/nbf/iat with leeway, at the exact boundaries (leeway 30 s)."""

    def test_exp_boundary(self, forge: Forge, idp_keys: JwkSet) -> None:
        token = forge(iat=NOW - 100, exp=NOW)
        assert verify(token, idp_keys, now=NOW + 29)
        rejected(token, idp_keys, "expired", now=NOW + 30)
        rejected(token, idp_keys, "expired", now=NOW + 31)

    def test_exp_without_leeway(self, forge: Forge, idp_keys: JwkSet) -> None:
        token = forge(iat=NOW - 100, exp=NOW)
        assert verify(token, idp_keys, now=NOW - 1, leeway=0)
        rejected(token, idp_keys, "expired", now=NOW, leeway=0)

    def test_nbf_boundary(self, forge: Forge, idp_keys: JwkSet) -> None:
        token = forge(nbf=NOW + 30)
        assert verify(token, idp_keys, now=NOW)
        rejected(token, idp_keys, "nbf", now=NOW - 1)

    def test_iat_in_the_future(self, forge: Forge, idp_keys: JwkSet) -> None:
        assert verify(forge(iat=NOW + 30, exp=NOW + 300), idp_keys)
        rejected(forge(iat=NOW + 31, exp=NOW + 300), idp_keys, "iat in the future")

    def test_max_lifetime(self, forge: Forge, idp_keys: JwkSet) -> None:
        assert verify(forge(iat=NOW, exp=NOW + 300), idp_keys)
        rejected(forge(iat=NOW, exp=NOW + 301), idp_keys, "lifetime")
        assert verify(forge(iat=NOW, exp=NOW + 600), idp_keys, max_lifetime=600)

    def test_exp_not_after_iat(self, forge: Forge, idp_keys: JwkSet) -> None:
        rejected(forge(iat=NOW, exp=NOW), idp_keys, "exp not after iat")


def test_description_never_echoes_the_token(forge: Forge, idp_keys: JwkSet) -> None:
    token = forge(client_id="someone-else")
    with pytest.raises(InvalidGrant) as info:
        verify(token, idp_keys)
    rendered = info.value.to_response().body.decode() + str(info.value) + repr(info.value)
    for part in token.split("."):
        assert part not in rendered


def test_every_supported_algorithm_round_trips() -> None:
    for alg in ("ES256", "EdDSA", "RS256", "PS256"):
        key = SigningKey.generate(alg, kid=f"k-{alg}")
        token = compact(
            {"typ": "oauth-id-jag+jwt", "alg": alg, "kid": key.kid}, valid_claims(), key
        )
        assert verify(token, JwkSet([key.verification_key()])).key.alg == alg


def test_rs256_token_against_ps256_pinned_key() -> None:
    key = SigningKey.generate("RS256", kid="r")
    token = compact({"typ": "oauth-id-jag+jwt", "alg": "RS256", "kid": "r"}, valid_claims(), key)
    jwk = key.public_jwk() | {"alg": "PS256"}
    rejected(token, JwkSet.from_jwks({"keys": [jwk]}), "alg not pinned")
