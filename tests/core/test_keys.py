"""Keys: pinned algorithms, public-only JWKS, RFC 7638 thumbprints, rotation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import OctKey, RSAKey

from xaa import (
    DEFAULT_MIN_STAGING,
    JwkSet,
    KeyRing,
    KeyState,
    RotationRefused,
    SigningKey,
    UnusableKey,
    VerificationKey,
    jwk_thumbprint,
)
from xaa.resource._trust import DEFAULT_KEYS_TTL

# RFC 7638 §3.1 example key and its thumbprint.
RFC7638_JWK = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
        "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
        "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rfc7638_vector() -> None:
    assert jwk_thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT


def test_thumbprint_uses_required_members_only() -> None:
    noisy = RFC7638_JWK | {"use": "sig", "key_ops": ["verify"], "x5t": "abc"}
    assert jwk_thumbprint(noisy) == RFC7638_THUMBPRINT


def test_thumbprint_rejects_unknown_or_incomplete_keys() -> None:
    with pytest.raises(UnusableKey):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(UnusableKey):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "abc"})


def test_signing_key_thumbprint_matches_its_public_jwk() -> None:
    key = SigningKey.generate()
    assert key.thumbprint() == jwk_thumbprint(key.public_jwk())
    assert key.verification_key().thumbprint() == key.thumbprint()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256", "PS256"])
def test_jwks_publishes_public_members_only(alg: str) -> None:
    key = SigningKey.generate(alg, kid="k1")
    jwk = key.public_jwk()
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk)
    assert jwk["kid"] == "k1" and jwk["alg"] == alg and jwk["use"] == "sig"
    private = key.private_jwk()
    assert "d" in private
    assert SigningKey.from_jwk(private).thumbprint() == key.thumbprint()


def test_signing_key_repr_has_no_key_material() -> None:
    key = SigningKey.generate(kid="k1")
    assert key.private_jwk()["d"] not in repr(key)


def test_rsa_below_2048_bits_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    with pytest.warns(UserWarning):
        small = RSAKey.import_key(rsa.generate_private_key(65537, 1024))
    with pytest.raises(UnusableKey, match="2048"):
        SigningKey(small, "RS256", "k")
    with pytest.raises(UnusableKey, match="2048"):
        SigningKey.from_jwk(small.as_dict(private=True) | {"kid": "k", "alg": "RS256"})
    with pytest.raises(UnusableKey, match="2048"):
        VerificationKey.from_jwk(small.as_dict(private=False) | {"alg": "RS256"})


def test_symmetric_keys_refused() -> None:
    oct_jwk = OctKey.generate_key(256).as_dict(private=True) | {"kid": "s"}
    with pytest.raises(UnusableKey):
        VerificationKey.from_jwk(oct_jwk | {"alg": "HS256"})
    assert len(JwkSet.from_jwks({"keys": [oct_jwk]})) == 0


def test_alg_is_pinned_from_key_shape_when_absent() -> None:
    es = SigningKey.generate("ES256").public_jwk()
    es.pop("alg")
    assert VerificationKey.from_jwk(es).alg == "ES256"
    ed = SigningKey.generate("EdDSA").public_jwk()
    ed.pop("alg")
    assert VerificationKey.from_jwk(ed).alg == "EdDSA"
    rsa = SigningKey.generate("RS256").public_jwk()
    rsa.pop("alg")
    assert VerificationKey.from_jwk(rsa).alg == "RS256"


@pytest.mark.parametrize(
    ("alg", "key_alg"),
    [("RS256", "ES256"), ("ES256", "EdDSA"), ("EdDSA", "RS256"), ("HS256", "ES256")],
)
def test_alg_must_fit_the_key(alg: str, key_alg: str) -> None:
    jwk = SigningKey.generate(key_alg).public_jwk() | {"alg": alg}
    with pytest.raises(UnusableKey):
        VerificationKey.from_jwk(jwk)


def test_declared_alg_conflicting_with_pin_refused() -> None:
    jwk = SigningKey.generate("RS256").public_jwk()
    with pytest.raises(UnusableKey, match="disagrees"):
        VerificationKey.from_jwk(jwk, "PS256")


def test_one_bad_key_does_not_take_down_the_set() -> None:
    good = SigningKey.generate(kid="good").public_jwk()
    jwks = {
        "keys": [{"kty": "EC", "crv": "P-256", "x": "bad"}, "junk", good, {"kty": "oct", "k": "AA"}]
    }
    keys = JwkSet.from_jwks(jwks)
    assert len(keys) == 1
    assert keys.select("good") is not None


def test_duplicate_kids_are_unusable() -> None:
    a = SigningKey.generate(kid="same").public_jwk()
    b = SigningKey.generate(kid="same").public_jwk()
    keys = JwkSet.from_jwks({"keys": [a, b]})
    assert keys.select("same") is None


def test_jwks_document_must_have_keys_array() -> None:
    with pytest.raises(UnusableKey):
        JwkSet.from_jwks({"keys": "nope"})


def test_signing_key_needs_kid_and_private_material() -> None:
    key = SigningKey.generate()
    with pytest.raises(UnusableKey, match="kid"):
        SigningKey.from_jwk({k: v for k, v in key.private_jwk().items() if k != "kid"})
    with pytest.raises(UnusableKey, match="private"):
        SigningKey.from_jwk(key.public_jwk())


def test_unsupported_algorithm_refused() -> None:
    with pytest.raises(UnusableKey):
        SigningKey.generate("ES512")


class TestKeyRing:
    def test_next_key_is_published_before_it_signs(self) -> None:
        ring = KeyRing.single(SigningKey.generate(kid="a"))
        ring.stage(SigningKey.generate(kid="b"), now=1000)
        assert ring.current.kid == "a"
        assert {k["kid"] for k in ring.jwks()["keys"]} == {"a", "b"}

    def test_rotate_retires_and_keeps_publishing(self) -> None:
        ring = KeyRing.single(SigningKey.generate(kid="a"), min_staging=60)
        ring.stage(SigningKey.generate(kid="b"), now=1000)
        assert ring.rotate(now=1060).kid == "b"
        states = {k.key.kid: k.state for k in ring.keys}
        assert states == {"a": KeyState.RETIRED, "b": KeyState.CURRENT}
        assert ring.verification_keys().select("a") is not None

    def test_prune_after_last_signature_expired(self) -> None:
        ring = KeyRing.single(SigningKey.generate(kid="a"), min_staging=0)
        ring.stage(SigningKey.generate(kid="b"), now=1000)
        ring.rotate(now=1000)
        ring.prune(now=1299, max_token_lifetime=300)
        assert "a" in {k.key.kid for k in ring.keys}
        ring.prune(now=1300, max_token_lifetime=300)
        assert "a" not in {k.key.kid for k in ring.keys}

    def test_rotation_never_signs_with_an_unpublished_key(self) -> None:
        ring = KeyRing.single(SigningKey.generate("EdDSA", kid="a"), min_staging=0)
        with pytest.raises(RotationRefused, match="no key is staged"):
            ring.rotate(now=0)
        assert ring.current.kid == "a" and len(ring.keys) == 1

    def test_rotation_waits_for_the_minimum_staging_period(self) -> None:
        ring = KeyRing.single(SigningKey.generate(kid="a"), min_staging=30)
        ring.stage(SigningKey.generate(kid="b"), now=1000)
        assert ring.rotatable_at() == 1030
        with pytest.raises(RotationRefused, match="published for 29 s, less than the 30 s"):
            ring.rotate(now=1029)
        assert ring.current.kid == "a"  # nothing changed
        assert ring.rotate(now=1030).kid == "b"

    def test_restaging_restarts_the_staging_period(self) -> None:
        ring = KeyRing.single(SigningKey.generate(kid="a"), min_staging=30)
        ring.stage(SigningKey.generate(kid="b"), now=1000)
        ring.stage(SigningKey.generate(kid="c"), now=1020)
        assert {k.key.kid for k in ring.keys} == {"a", "c"}
        with pytest.raises(RotationRefused):
            ring.rotate(now=1040)

    def test_default_staging_covers_the_resource_key_cache(self) -> None:
        assert KeyRing.single(SigningKey.generate()).min_staging == DEFAULT_MIN_STAGING
        assert DEFAULT_MIN_STAGING >= DEFAULT_KEYS_TTL

    def test_exactly_one_current(self) -> None:
        with pytest.raises(UnusableKey):
            KeyRing([])


class TestKeyFile:
    def test_load_or_generate_keeps_the_kid_across_restarts(self, tmp_path: Path) -> None:
        path = tmp_path / "signing.jwk"
        first = SigningKey.load_or_generate(path, "EdDSA")
        assert os.stat(path).st_mode & 0o777 == 0o600
        again = SigningKey.load_or_generate(path)
        assert (again.kid, again.alg, again.thumbprint()) == (
            first.kid,
            "EdDSA",
            first.thumbprint(),
        )
        assert [p.name for p in tmp_path.iterdir()] == ["signing.jwk"]  # no temp file left

    @pytest.mark.parametrize("content", [b"\xff", b"{not json", b"[1]", b'{"kty": "EC"}'])
    def test_unusable_key_file_is_unusable_key(self, tmp_path: Path, content: bytes) -> None:
        path = tmp_path / "bad.jwk"
        path.write_bytes(content)
        with pytest.raises(UnusableKey):
            SigningKey.load(path)


def test_a_key_published_for_encryption_never_verifies() -> None:
    """RFC 7517 §4.2, §4.3: a JWKS key with ``use: enc`` (or ``key_ops`` without ``verify``)
    is skipped, so a token signed with it is refused (its kid has no key)."""
    signer = SigningKey.generate("ES256", kid="enc-1")
    published = {k: v for k, v in signer.public_jwk().items() if k != "alg"}
    for jwk in ({**published, "use": "enc"}, {**published, "key_ops": ["encrypt"]}):
        with pytest.raises(UnusableKey):
            VerificationKey.from_jwk(jwk, "ES256")
        assert JwkSet.from_jwks({"keys": [jwk]}, "ES256").select("enc-1") is None
    assert JwkSet.from_jwks({"keys": [published]}, "ES256").select("enc-1") is not None


@pytest.mark.parametrize("document", [[1], "keys", None, 7])
def test_a_jwks_that_is_no_json_object_is_unusable_not_an_attribute_error(document: Any) -> None:
    """``JwkSet.from_jwks([1])`` raised AttributeError (a deployer's --agent-jwks file)."""
    with pytest.raises(UnusableKey, match="keys array"):
        JwkSet.from_jwks(document)
