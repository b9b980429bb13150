"""verify_id_jag against a raw ``cryptography`` verify of the same signature.

The ratio is what xaa's parsing and checks cost on top of the signature
check itself (target for ES256: <= 1.3).
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from xaa import IdJagClaims, JwkSet, SigningKey, issue_id_jag, verify_id_jag
from xaa._jose import b64url_decode

from .common import Figure, interleaved_us

IDP, AS, CLIENT = "https://idp.example", "https://as.example", "wiki-at-chat"


def _raw_verifier(key: SigningKey, token: str) -> Callable[[], object]:
    header, payload, sig_b64 = token.split(".")
    message = f"{header}.{payload}".encode()
    signature = b64url_decode(sig_b64)
    public = key.key.get_op_key("verify")
    if key.alg == "ES256":
        # A JWS carries r || s; cryptography verifies DER, so converting is part of the verify.
        def es256() -> None:
            half = len(signature) // 2
            der = encode_dss_signature(
                int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            )
            public.verify(der, message, ec.ECDSA(hashes.SHA256()))

        return es256
    if key.alg == "RS256":
        return lambda: public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    return lambda: public.verify(signature, message)


def run() -> list[Figure]:
    figures = []
    for alg in ("ES256", "EdDSA", "RS256"):
        key = SigningKey.generate(alg, kid="bench")
        keys = JwkSet([key.verification_key()])
        claims = IdJagClaims.new(
            issuer=IDP,
            subject="U019488227",
            audience=AS,
            client_id=CLIENT,
            scope="chat.read chat.history",
            resource="https://as.example/api",
            email="alice@acme.example",
            amr=["pwd"],
        )
        token = issue_id_jag(claims, key)
        now = claims.iat + 1

        def verify(token: str = token, keys: JwkSet = keys, now: int = now) -> object:
            return verify_id_jag(
                token, keys=keys, issuer=IDP, audience=AS, client_id=CLIENT, now=now
            )

        raw = _raw_verifier(key, token)
        raw()
        verify()
        xaa_us, raw_us = interleaved_us(verify, raw)
        name = alg.lower()
        figures += [
            Figure(f"verify_id_jag_{name}_us", xaa_us, "us"),
            Figure(f"raw_verify_{name}_us", raw_us, "us"),
            Figure(f"verify_id_jag_{name}_ratio", xaa_us / raw_us, "x"),
        ]
    return figures
