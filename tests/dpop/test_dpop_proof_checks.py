"""RFC 9449 §4.3: each check of verify_proof, one injected defect at a time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from tests.dpop.dpop_support import (
    DROP,
    ED_KEY,
    ES_KEY,
    HTM,
    HTU,
    NOW,
    OTHER_KEY,
    b64,
    forge,
    rejected,
    signer,
    valid_header,
    valid_payload,
)
from xaa import InvalidDpopProof, OAuthError, ReplayStoreUnavailable, SigningKey, jwk_thumbprint
from xaa.dpop import DpopKey, DpopVerifier, ath_for, make_proof, verify_proof
from xaa.stores import MemoryReplayStore


def accept(proof: str, **kwargs: Any) -> Any:
    args: dict[str, Any] = {"htm": HTM, "htu": HTU, "replay": MemoryReplayStore(), "now": NOW}
    args.update(kwargs)
    return verify_proof(proof, **args)


# --- happy paths --------------------------------------------------------------


@pytest.mark.parametrize("key", [ES_KEY, ED_KEY], ids=["ES256", "EdDSA"])
def test_valid_proof_is_accepted_with_its_thumbprint(key: DpopKey) -> None:
    result = accept(forge(key))
    assert result.jkt == key.jkt == jwk_thumbprint(key.public_jwk())
    assert (result.jti, result.htm, result.htu, result.iat, result.alg) == (
        "jti-1",
        HTM,
        HTU,
        NOW,
        key.alg,
    )


def test_make_proof_round_trips_with_ath_and_nonce_and_drops_query() -> None:
    proof = make_proof(ES_KEY, "GET", HTU + "?q=1#frag", now=NOW, access_token="at", nonce="n1")
    header_b64, payload_b64, _ = proof.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    assert header == {"typ": "dpop+jwt", "jwk": ES_KEY.public_jwk(), "alg": "ES256"}
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}
    assert payload["htu"] == HTU
    assert payload["iat"] == NOW
    assert payload["ath"] == ath_for("at")
    assert payload["nonce"] == "n1"
    result = accept(proof, htm="GET", access_token="at")
    assert result.jkt == ES_KEY.jkt
    assert result.nonce == "n1"


def test_make_proof_uses_a_fresh_jti_each_time() -> None:
    a, b = (make_proof(ES_KEY, HTM, HTU, now=NOW) for _ in range(2))
    store = MemoryReplayStore()
    assert accept(a, replay=store).jti != accept(b, replay=store).jti


def test_ath_is_base64url_sha256_of_the_token() -> None:
    digest = hashlib.sha256(b"token-value").digest()
    assert ath_for("token-value") == b64(digest)


def test_dpop_key_round_trips_through_its_private_jwk_and_hides_it() -> None:
    again = DpopKey.from_jwk(ES_KEY.private_jwk())
    assert again.jkt == ES_KEY.jkt
    assert "'d'" not in repr(ES_KEY) and ES_KEY.private_jwk()["d"] not in repr(ES_KEY)


# --- header values and JWS shape ----------------------------------------------


def test_no_dpop_header() -> None:
    assert rejected([]).detail == "DPoP header missing"


def test_two_dpop_headers() -> None:
    assert rejected([forge(), forge()]).detail == "more than one DPoP header"


@pytest.mark.parametrize(
    "proof",
    ["", "abc", "a.b", "a.b.c.d.e", forge() + ".x", forge().replace(".", "..", 1), " " + forge()],
)
def test_not_a_compact_jws(proof: str) -> None:
    rejected([proof])


def test_duplicate_header_member_is_refused() -> None:
    good = forge()
    _, p, _ = good.split(".")
    raw = json.dumps(valid_header(ES_KEY))[:-1] + ', "typ": "dpop+jwt"}'
    h = b64(raw.encode())
    sig = signer(ES_KEY).sign(f"{h}.{p}".encode())
    assert rejected(f"{h}.{p}.{b64(sig)}").detail == "duplicate JSON member"


def test_oversized_proof() -> None:
    assert "longer than" in rejected(forge(payload={"pad": "x" * 5000})).detail


# --- typ ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ", [DROP, "JWT", "at+jwt", "oauth-id-jag+jwt", "DPOP+JWT", "application/dpop+jwt", 1]
)
def test_typ_must_be_exactly_dpop_jwt(typ: object) -> None:
    assert rejected(forge(header={"typ": typ})).detail == "typ is not dpop+jwt"


# --- alg ----------------------------------------------------------------------


@pytest.mark.parametrize("alg", [DROP, "none", "None", "NONE", "HS256", "ES384", "es256", "", 7])
def test_alg_not_accepted(alg: object) -> None:
    assert rejected(forge(header={"alg": alg})).detail == "alg not accepted"


def test_hmac_signed_with_the_public_jwk_is_refused() -> None:
    header = {**valid_header(ES_KEY), "alg": "HS256"}
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(valid_payload()).encode())
    secret = json.dumps(ES_KEY.public_jwk()).encode()
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert rejected(f"{h}.{p}.{b64(sig)}").detail == "alg not accepted"


def test_alg_outside_the_configured_set() -> None:
    proof = forge(ED_KEY)
    assert accept(proof).alg == "EdDSA"
    assert rejected(proof, accepted_algs=("ES256",)).detail == "alg not accepted"


def test_misconfigured_accepted_set_cannot_enable_none_or_hmac() -> None:
    proof = forge(header={"alg": "HS256"})
    assert rejected(proof, accepted_algs=("HS256", "none")).detail == "alg not accepted"


def test_crit_header_is_refused() -> None:
    assert rejected(forge(header={"crit": ["x"], "x": 1})).detail == "crit header not supported"


# --- jwk ----------------------------------------------------------------------


@pytest.mark.parametrize("jwk", [DROP, "eyJrdHkiOiJFQyJ9", [], None])
def test_jwk_header_missing_or_not_an_object(jwk: object) -> None:
    assert rejected(forge(header={"jwk": jwk})).detail == "jwk header missing"


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_jwk_with_private_members_is_refused(member: str) -> None:
    private = ES_KEY.private_jwk()
    jwk = {**ES_KEY.public_jwk(), member: private["d"]}
    assert rejected(forge(header={"jwk": jwk})).detail == "jwk carries private key members"


def test_the_full_private_jwk_is_refused() -> None:
    assert rejected(forge(header={"jwk": ES_KEY.private_jwk()})).detail == (
        "jwk carries private key members"
    )


def test_jwk_extra_members_do_not_change_the_thumbprint() -> None:
    jwk = {**ES_KEY.public_jwk(), "kid": "k1", "use": "sig", "x-ext": "anything", "alg": "ES256"}
    assert accept(forge(header={"jwk": jwk})).jkt == ES_KEY.jkt


@pytest.mark.parametrize(
    ("alg", "key"),
    [("RS256", ES_KEY), ("PS256", ES_KEY), ("EdDSA", ES_KEY), ("ES256", ED_KEY)],
)
def test_key_type_must_fit_the_alg(alg: str, key: DpopKey) -> None:
    proof = forge(key, header={"alg": alg})
    assert rejected(proof).detail == "jwk unusable: the key type does not fit the algorithm"


def test_jwk_on_another_curve_does_not_fit_es256() -> None:
    jwk = {**ES_KEY.public_jwk(), "crv": "P-384"}
    assert "does not fit" in rejected(forge(header={"jwk": jwk})).detail


def test_jwk_alg_member_disagreeing_with_the_header() -> None:
    jwk = {**ES_KEY.public_jwk(), "alg": "RS256"}
    assert "disagrees" in rejected(forge(header={"jwk": jwk})).detail


@pytest.mark.parametrize("member", ["kty", "x", "y", "crv"])
def test_jwk_missing_a_required_member(member: str) -> None:
    jwk = {k: v for k, v in ES_KEY.public_jwk().items() if k != member}
    assert rejected(forge(header={"jwk": jwk})).detail.startswith("jwk unusable")


def test_jwk_point_not_on_the_curve() -> None:
    jwk = {**ES_KEY.public_jwk(), "y": ES_KEY.public_jwk()["x"]}
    assert rejected(forge(header={"jwk": jwk})).detail.startswith("jwk unusable")


def test_jwk_with_a_short_coordinate_is_not_canonical() -> None:
    jwk = ES_KEY.public_jwk()
    raw = base64.urlsafe_b64decode(jwk["x"] + "=")
    short = {**jwk, "x": b64(raw[1:])}
    assert rejected(forge(header={"jwk": short})).detail.startswith("jwk")


def test_symmetric_jwk_is_refused() -> None:
    jwk = {"kty": "oct", "k": b64(b"k" * 32)}
    rejected(forge(header={"jwk": jwk}))


def test_rsa_jwk_below_2048_bits_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "n": b64(numbers.n.to_bytes(128, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    assert "2048" in rejected(forge(header={"jwk": jwk, "alg": "RS256"})).detail


def test_rsa_proofs_are_accepted() -> None:
    key = DpopKey(SigningKey.generate("PS256"))
    assert accept(forge(key)).jkt == key.jkt


# --- signature ----------------------------------------------------------------


def test_signed_by_another_key_than_the_embedded_jwk() -> None:
    assert rejected(forge(sign_with=OTHER_KEY)).detail == "signature invalid"


def test_zero_signature() -> None:
    h, p, _ = forge().split(".")
    assert rejected(f"{h}.{p}.{b64(bytes(64))}").detail == "signature invalid"


def test_empty_signature() -> None:
    h, p, _ = forge().split(".")
    assert rejected(f"{h}.{p}.").detail == "empty signature"


def test_payload_swapped_after_signing() -> None:
    h, _, s = forge().split(".")
    p = b64(json.dumps(valid_payload(htm="GET")).encode())
    assert rejected(f"{h}.{p}.{s}", htm="GET").detail == "signature invalid"


# --- claims -------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_required_claim_missing(claim: str) -> None:
    detail = rejected(forge(payload={claim: DROP})).detail
    assert detail == f"claims missing or mistyped: {claim}"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("jti", 1),
        ("jti", ""),
        ("jti", "j" * 257),
        ("htm", ["POST"]),
        ("htm", ""),
        ("htu", {"u": HTU}),
        ("iat", str(NOW)),
        ("iat", NOW + 0.5),
        ("iat", True),
        ("iat", None),
        ("ath", 5),
        ("nonce", ""),
    ],
)
def test_claim_with_the_wrong_type(claim: str, value: object) -> None:
    detail = rejected(forge(payload={claim: value})).detail
    assert detail == f"claims missing or mistyped: {claim}"


@pytest.mark.parametrize("htm", ["post", "GET", "PUT", "POST "])
def test_htm_must_equal_the_request_method(htm: str) -> None:
    assert rejected(forge(payload={"htm": htm})).detail == "htm mismatch"


@pytest.mark.parametrize(
    "htu",
    [
        "https://as.example/token/",
        "https://as.example/Token",
        "http://as.example/token",
        "https://as.example:8443/token",
        "https://idp.example/token",
        "https://as.example/other",
    ],
)
def test_htu_must_match_the_request_uri(htu: str) -> None:
    assert rejected(forge(payload={"htu": htu})).detail == "htu mismatch"


@pytest.mark.parametrize("htu", ["/token", "as.example/token", "urn:x:token", "https://a b/"])
def test_htu_that_is_not_an_http_uri(htu: str) -> None:
    assert rejected(forge(payload={"htu": htu})).detail == "htu is not an http(s) URI"


def test_request_uri_from_a_hostile_host_header_fails_closed() -> None:
    detail = rejected(forge(), htu="https://as.example\r\nx/token").detail
    assert detail == "request URI is not an http(s) URI"


# --- iat window (defaults: max_age 60 s, leeway 5 s) ----------------------------


@pytest.mark.parametrize("offset", [-65, -64, 0, 4, 5])
def test_iat_inside_the_window_at_its_edges(offset: int) -> None:
    assert accept(forge(payload={"iat": NOW + offset})).iat == NOW + offset


def test_iat_one_second_beyond_the_future_edge() -> None:
    assert rejected(forge(payload={"iat": NOW + 6})).detail == "iat in the future"


def test_iat_one_second_beyond_the_past_edge() -> None:
    assert rejected(forge(payload={"iat": NOW - 66})).detail == "proof too old"


def test_iat_window_follows_configuration() -> None:
    proof = forge(payload={"iat": NOW - 12})
    assert accept(proof, max_age=10, leeway=2).iat == NOW - 12
    assert rejected(proof, max_age=10, leeway=1).detail == "proof too old"


# --- ath ----------------------------------------------------------------------


def test_ath_required_when_an_access_token_is_presented() -> None:
    assert rejected(forge(), access_token="at").detail == "ath missing"


def test_ath_of_another_token() -> None:
    proof = forge(payload={"ath": ath_for("other")})
    assert rejected(proof, access_token="at").detail == "ath mismatch"


def test_ath_is_checked_exactly() -> None:
    proof = forge(payload={"ath": ath_for("at").upper()})
    assert rejected(proof, access_token="at").detail == "ath mismatch"
    assert accept(forge(payload={"ath": ath_for("at")}), access_token="at").jkt == ES_KEY.jkt


def test_ath_without_an_access_token_is_ignored() -> None:
    assert accept(forge(payload={"ath": ath_for("at")})).jkt == ES_KEY.jkt


# --- replay -------------------------------------------------------------------


def test_replayed_proof_is_refused() -> None:
    store = MemoryReplayStore()
    proof = forge()
    accept(proof, replay=store)
    with pytest.raises(InvalidDpopProof) as info:
        accept(proof, replay=store)
    assert info.value.detail == "jti replayed"


def test_replay_at_another_uri_is_refused() -> None:
    store = MemoryReplayStore()
    accept(forge(), replay=store)
    other = forge(payload={"htu": "https://rs.example/api"})
    with pytest.raises(InvalidDpopProof, match="jti replayed"):
        accept(other, replay=store, htu="https://rs.example/api")


def test_replay_keyed_on_thumbprint_and_jti() -> None:
    store = MemoryReplayStore()
    accept(forge(ES_KEY), replay=store)
    assert accept(forge(OTHER_KEY), replay=store).jti == "jti-1"
    assert ("dpop", ES_KEY.jkt, "jti-1") in store._entries


def test_replay_entry_outlives_the_iat_window() -> None:
    store = MemoryReplayStore()
    proof = forge()
    accept(proof, replay=store)
    with pytest.raises(InvalidDpopProof) as info:
        accept(proof, replay=store, now=NOW + 65)
    assert info.value.detail == "jti replayed"
    with pytest.raises(InvalidDpopProof) as info:
        accept(proof, replay=store, now=NOW + 66)
    assert info.value.detail == "proof too old"


class _DownStore:
    def claim(self, *args: object, **kwargs: object) -> str | None:
        raise ReplayStoreUnavailable("down")


def test_unavailable_replay_store_fails_closed_with_503() -> None:
    with pytest.raises(Exception) as info:
        accept(forge(), replay=_DownStore())
    exc = info.value
    assert getattr(exc, "error", None) == "temporarily_unavailable"
    assert exc.to_response().status == 503  # type: ignore[attr-defined]


def test_dpop_verifier_spends_the_jti_as_verify_proof_does() -> None:
    store = MemoryReplayStore()
    verifier = DpopVerifier(store)
    proof = forge()
    assert verifier.verify(proof, method=HTM, url=HTU, now=NOW) == ES_KEY.jkt
    with pytest.raises(InvalidDpopProof) as info:
        verifier.verify(proof, method=HTM, url=HTU, now=NOW)
    assert info.value.detail == "jti replayed"
    with pytest.raises(InvalidDpopProof) as info:
        accept(proof, replay=store)  # one claim, whichever entry point made it
    assert info.value.detail == "jti replayed"


def test_dpop_verifier_fails_closed_with_503_on_an_unavailable_store() -> None:
    with pytest.raises(OAuthError) as info:
        DpopVerifier(_DownStore()).verify(forge(), method=HTM, url=HTU, now=NOW)
    assert info.value.error == "temporarily_unavailable"
    assert info.value.to_response().status == 503


# --- custom error class -------------------------------------------------------


def test_caller_chooses_the_error_class() -> None:
    from xaa import InvalidGrant

    exc = rejected(forge(payload={"htm": "GET"}), code="invalid_grant", error=InvalidGrant)
    assert isinstance(exc, InvalidGrant)


def test_rsa_modulus_with_a_leading_zero_octet_is_not_canonical() -> None:
    key = DpopKey(SigningKey.generate("PS256"))
    jwk = key.public_jwk()
    n = base64.urlsafe_b64decode(jwk["n"] + "==")
    proof = forge(key, header={"jwk": {**jwk, "n": b64(b"\0" + n)}})
    assert rejected(proof).detail == "jwk members are not canonical"


def test_rsa_jwk_extra_members_are_ignored() -> None:
    key = DpopKey(SigningKey.generate("PS256"))
    jwk = {**key.public_jwk(), "x": 5, "y": "not base64!"}
    assert accept(forge(key, header={"jwk": jwk})).jkt == key.jkt
