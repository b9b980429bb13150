"""Resource-AS cases about every kind of key a JWKS can carry (RFC 7517, RFC 7518, RFC 8725 §3.1).

The test IdP publishes, besides its ES256 signing key, keys the AS must never verify an
ID-JAG with when it pinned ES256 for this IdP: other algorithms (EdDSA, PS256, ES384,
ES512, ES256K), a symmetric ``oct`` key, a key for encryption, a key without ``kid``
and two keys sharing a ``kid``. Each case signs with one of them, or leads the verifier
to the wrong algorithm for one of them (HS256 keyed with its public key, RS256 for a
PS256 key, ES256 for a secp256k1 key).
"""

from __future__ import annotations

from xaa import spec

from .._forge import DROP, OtherAlgSigner, hmac_compact, public_key_encodings
from .context import BCP, RESOURCE_AS, SHOULD, Make, ResourceAsContext, add_rejection, extra_key

ALG_TAGS = ("alg", "keys", "extra-keys")


def _hmac_with(key_name: str, encoding: str) -> Make:
    """HS256 keyed with the public key ``key_name`` of the test IdP, in ``encoding``."""

    def make(ctx: ResourceAsContext) -> str:
        key = extra_key(key_name)(ctx)
        header = {"typ": spec.TYP_ID_JAG, "alg": "HS256", "kid": key.kid}
        return hmac_compact(header, ctx.claims(), public_key_encodings(key)[encoding])

    return make


for _key, _label in (("rsa_key", "rsa"), ("eddsa_key", "eddsa")):
    for _enc in ("pem", "der", "jwk"):
        add_rejection(
            f"ras-rejects-hs256-keyed-with-{_label}-public-key-{_enc}",
            _hmac_with(_key, _enc),
            section="RFC 8725 §2.1, §3.1",
            risk="algorithm confusion with any published key, not only the signing key: anyone "
            "holding the JWKS mints valid ID-JAGs",
            tags=ALG_TAGS,
        )


def _oct(ctx: ResourceAsContext) -> str:
    extra_key("oct_secret")(ctx)
    header = {"typ": spec.TYP_ID_JAG, "alg": "HS256", "kid": ctx.idp.oct_kid}
    return hmac_compact(header, ctx.claims(), ctx.idp.oct_secret)


add_rejection(
    "ras-rejects-hs256-with-symmetric-key-from-jwks",
    _oct,
    section="RFC 8725 §3.1, §2.1, RFC 7517 §4",
    risk="a symmetric key in a public JWKS is a published secret: whoever reads the JWKS "
    "signs ID-JAGs",
    tags=ALG_TAGS,
)
add_rejection(
    "ras-rejects-signature-by-encryption-key",
    lambda ctx: ctx.jag(signer=extra_key("enc_key")(ctx)),
    section="RFC 7517 §4.2, §4.3, RFC 8725 §3.1",
    risk="a key published for encryption verifies signatures: keys meant for one purpose "
    "(often held by other parties) sign ID-JAGs",
    tags=ALG_TAGS,
)
add_rejection(
    "ras-rejects-rs256-with-key-pinned-to-ps256",
    lambda ctx: ctx.jag(signer=OtherAlgSigner(extra_key("rsa_key")(ctx))),
    section="RFC 8725 §3.1, RFC 7518 §3.3, §3.5",
    risk="the header's alg overrides the key's: RS/PS confusion, the token chooses how it is "
    "verified",
    tags=ALG_TAGS,
)
add_rejection(
    "ras-rejects-es256-signature-by-secp256k1-key",
    lambda ctx: ctx.jag({"alg": spec.ALG_ES256}, signer=extra_key("secp256k1_key")(ctx)),
    section="RFC 8725 §3.1, RFC 7518 §3.4, RFC 8812 §3.2",
    risk="ES256 checked on whatever curve the key has: a secp256k1 (ES256K) key signs as ES256",
    tags=ALG_TAGS,
)
for _key, _label in (("es384_key", "es384"), ("es512_key", "es512"), ("rsa_key", "ps256")):
    add_rejection(
        f"ras-rejects-alg-not-pinned-for-issuer-{_label}",
        (lambda name: lambda ctx: ctx.jag(signer=extra_key(name)(ctx)))(_key),
        section="RFC 8725 §3.1",
        level=BCP,
        risk="any algorithm of any published key is accepted instead of the one agreed with "
        "the IdP",
        tags=ALG_TAGS,
    )
add_rejection(
    "ras-rejects-token-without-kid-when-several-keys",
    lambda ctx: ctx.jag({"kid": DROP}, signer=extra_key("kidless_key")(ctx)),
    section="RFC 7515 §4.1.4, RFC 7517 §4.5, RFC 8725 §3.1",
    level=SHOULD,
    risk="without a kid the verifier tries every published key: a key meant for something "
    "else, or being retired, verifies ID-JAGs",
    tags=ALG_TAGS,
)


def _shared_kid(ctx: ResourceAsContext) -> None:
    first, second = extra_key("duplicate_keys")(ctx)
    for signer in (first, second):
        ctx.reject(ctx.jag(signer=signer))


RESOURCE_AS.add(
    "ras-rejects-kid-shared-by-two-keys",
    _shared_kid,
    section="RFC 7517 §4.5, RFC 8725 §3.1",
    level=SHOULD,
    risk="two keys under one kid: which one verifies depends on the verifier (first, last, "
    "any), so a mis-publication or a half-done rotation becomes a bypass",
    tags=("negative", *ALG_TAGS),
)
