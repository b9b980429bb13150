"""A SAML kit for the attack suite: a real IdP signer, a validator, and a re-signer.

Every negative fixture starts from a valid signed assertion made by
``SamlAssertionSigner``; :meth:`SamlKit.resign` recomputes the digest and the
signature with any key and algorithm so a test can carry exactly one defect.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from xaa import InvalidRequest, OAuthError
from xaa._replay import NS_SAML
from xaa.adapters.saml import (
    DS,
    SAML,
    SamlAssertionValidator,
    SamlServiceProvider,
    encode_subject_token,
)
from xaa.adapters.saml_signer import SamlAssertionSigner, generate_signing_credentials
from xaa.stores import MemoryReplayStore

NOW = 1_800_000_000.0
SKEW = 60.0
IDP = "https://idp.acme.example/saml"
WIKI_SP = "https://wiki.example/saml/sp"
WIKI_ACS = "https://wiki.example/saml/acs"
CRM_SP = "https://crm.example/saml/sp"
CRM_ACS = "https://crm.example/saml/acs"
ALICE = "alice@acme.example"

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"

_CREDENTIALS: dict[str, tuple[str, str]] = {}


def credentials(name: str) -> tuple[str, str]:
    """One RSA key + certificate per name for the whole session (key generation is slow)."""
    if name not in _CREDENTIALS:
        _CREDENTIALS[name] = generate_signing_credentials(name, now=NOW)
    return _CREDENTIALS[name]


def q(name: str, ns: str = SAML) -> str:
    return f"{{{ns}}}{name}"


def find(root: Any, name: str, ns: str = SAML) -> Any:
    found = root.find(f".//{q(name, ns)}")
    assert found is not None, name
    return found


def parse(xml: bytes) -> Any:
    return etree.fromstring(xml)


def serialize(root: Any) -> bytes:
    return bytes(etree.tostring(root))


class SamlKit:
    """The IdP signer, the validator under test, and helpers to forge variants."""

    def __init__(self) -> None:
        key_pem, cert_pem = credentials("idp")
        self.key_pem, self.cert_pem = key_pem, cert_pem
        self.signer = SamlAssertionSigner(
            idp_entity_id=IDP, private_key_pem=key_pem, certificate_pem=cert_pem
        )
        self.replay = MemoryReplayStore()
        self.validator = self.make_validator()

    def make_validator(self, **overrides: Any) -> SamlAssertionValidator:
        config: dict[str, Any] = {
            "idp_entity_id": IDP,
            "certificate_pem": self.cert_pem,
            "service_providers": [
                SamlServiceProvider(WIKI_SP, "wiki", frozenset({WIKI_ACS})),
                SamlServiceProvider(CRM_SP, "crm", frozenset({CRM_ACS})),
            ],
            "replay": self.replay,
            "clock_skew": SKEW,
        }
        config.update(overrides)
        return SamlAssertionValidator(**config)

    def assertion(self, **overrides: Any) -> bytes:
        """A valid signed assertion for the wiki SP, issued at NOW."""
        args: dict[str, Any] = {
            "name_id": ALICE,
            "audience": WIKI_SP,
            "recipient": WIKI_ACS,
            "now": NOW,
            "email": ALICE,
            "groups": ["engineering", "staff"],
        }
        args.update(overrides)
        return self.signer.sign_assertion(**args)

    def resign(
        self,
        root: Any,
        *,
        signature: Any | None = None,
        key_pem: str | None = None,
        signature_method: str = RSA_SHA256,
        digest_method: str = DIGEST_SHA256,
        hmac_key: bytes | None = None,
    ) -> Any:
        """Recompute DigestValue and SignatureValue of ``signature`` (default: root's own)
        over whatever its Reference URI points at, with the IdP key unless told otherwise."""
        sig = signature if signature is not None else root.find(q("Signature", DS))
        info = sig.find(q("SignedInfo", DS))
        ref = info.find(q("Reference", DS))
        info.find(q("SignatureMethod", DS)).set("Algorithm", signature_method)
        ref.find(q("DigestMethod", DS)).set("Algorithm", digest_method)
        uri = ref.get("URI")
        doc = copy.deepcopy(root)
        position = list(root.iter(q("Signature", DS))).index(sig)
        doc_sig = list(doc.iter(q("Signature", DS)))[position]
        if uri == "":
            target = doc
        else:
            matches = doc.xpath("//*[@*[local-name()='ID' or local-name()='Id']=$v]", v=uri[1:])
            target = matches[0]
        doc_sig.getparent().remove(doc_sig)
        c14n = etree.tostring(target, method="c14n", exclusive=True, with_comments=False)
        digest = hashlib.sha256 if digest_method == DIGEST_SHA256 else hashlib.sha1
        ref.find(q("DigestValue", DS)).text = base64.b64encode(digest(c14n).digest()).decode()
        signed_info = etree.tostring(info, method="c14n", exclusive=True, with_comments=False)
        if hmac_key is not None:
            algo = hashlib.sha256 if signature_method == HMAC_SHA256 else hashlib.sha1
            value = hmac.new(hmac_key, signed_info, algo).digest()
        else:
            key = serialization.load_pem_private_key(
                (key_pem or self.key_pem).encode(), password=None
            )
            assert isinstance(key, rsa.RSAPrivateKey)
            algorithm = hashes.SHA256() if signature_method == RSA_SHA256 else hashes.SHA1()
            value = key.sign(signed_info, padding.PKCS1v15(), algorithm)
        sig.find(q("SignatureValue", DS)).text = base64.b64encode(value).decode()
        return root

    def forge(self, mutate: Callable[[Any], object], **assertion: Any) -> str:
        """A valid assertion, mutated, re-signed with the IdP key, encoded."""
        root = parse(self.assertion(**assertion))
        mutate(root)
        return encode_subject_token(serialize(self.resign(root)))

    def claimed(self) -> int:
        """How many assertion IDs the replay store holds (a success claims exactly one)."""
        return sum(1 for key in self.replay._entries if key[0] == NS_SAML)

    def reject(
        self, token: str, *, client_id: str = "wiki", now: float = NOW + 5
    ) -> InvalidRequest:
        """Assert the token is refused with 400 invalid_request, no-store, nothing claimed."""
        before = self.claimed()
        try:
            self.validator.validate(token, client_id=client_id, now=now)
        except OAuthError as exc:
            assert isinstance(exc, InvalidRequest), repr(exc)
            status, headers, body = exc.to_response()
            assert status == 400
            assert headers["cache-control"] == "no-store"
            assert b'"error":"invalid_request"' in body
            assert exc.description == "The SAML assertion is invalid."
            assert ALICE not in exc.detail
            assert not token or token[:40] not in exc.detail
            assert self.claimed() == before, "a rejected assertion must not be claimed"
            return exc
        raise AssertionError("the assertion was accepted")


def attacker_certificate() -> tuple[str, str]:
    return credentials("attacker")


def cert_der(cert_pem: str) -> bytes:
    return x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(
        serialization.Encoding.DER
    )
