"""Build and sign SAML 2.0 assertions and IdP metadata: the IdP side of draft §4.5.

- :class:`SamlAssertionSigner`: the reference IdP's assertion, response and metadata
  builder (RSA-SHA256, exclusive c14n, enveloped signature after ``Issuer``).
- :func:`generate_signing_credentials`: a fresh RSA key and self-signed certificate.

Validating assertions is :mod:`xaa.adapters.saml`; see ``docs/saml.md``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .._errors import ConfigurationError
from ._extras import missing_extra

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from lxml import etree
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.signer import XMLSigner

    from .. import spec
    from .saml import (
        AC_PASSWORD_PROTECTED,
        ATTR_EMAIL,
        ATTR_GROUPS,
        BINDING_HTTP_POST,
        CM_BEARER,
        DS,
        MD,
        NAMEID_EMAIL,
        SAML,
        SAMLP,
        STATUS_SUCCESS,
        _parser,
        _q,
    )
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "saml", exc) from None

__all__ = ["SamlAssertionSigner", "generate_signing_credentials"]


class SamlAssertionSigner:
    """Build and sign SAML 2.0 assertions and IdP metadata (reference IdP side)."""

    def __init__(
        self,
        *,
        idp_entity_id: str,
        private_key_pem: str,
        certificate_pem: str,
        name_id_format: str = NAMEID_EMAIL,
        lifetime: int = 300,
    ) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < spec.MIN_RSA_BITS:
            raise ConfigurationError("the SAML signing key must be RSA >= 2048")
        self._key = key
        self._cert = x509.load_pem_x509_certificate(certificate_pem.encode())
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        pem = serialization.Encoding.PEM
        if self._cert.public_key().public_bytes(pem, spki) != key.public_key().public_bytes(
            pem, spki
        ):
            raise ConfigurationError("certificate does not match the private key")
        self._issuer = idp_entity_id
        self._format = name_id_format
        self._lifetime = lifetime

    def sign_assertion(
        self,
        *,
        name_id: str,
        audience: str,
        recipient: str,
        now: float,
        email: str | None = None,
        groups: Sequence[str] = (),
        session_index: str | None = None,
        authn_instant: float | None = None,
        authn_context_class_ref: str = AC_PASSWORD_PROTECTED,
        in_response_to: str | None = None,
    ) -> bytes:
        """A signed ``saml2:Assertion`` (SAML core §2.3.3) as UTF-8 XML bytes."""
        issued, expires = _iso(now), _iso(now + self._lifetime)
        nsmap = {"saml2": SAML}
        a = etree.Element(_q(SAML, "Assertion"), nsmap=nsmap)
        a.set("ID", "_" + secrets.token_hex(16))
        a.set("IssueInstant", issued)
        a.set("Version", "2.0")
        etree.SubElement(a, _q(SAML, "Issuer")).text = self._issuer
        placeholder = etree.SubElement(a, _q(DS, "Signature"), nsmap={"ds": DS})
        placeholder.set("Id", "placeholder")
        subject = etree.SubElement(a, _q(SAML, "Subject"))
        nid = etree.SubElement(subject, _q(SAML, "NameID"), Format=self._format)
        nid.text = name_id
        conf = etree.SubElement(subject, _q(SAML, "SubjectConfirmation"), Method=CM_BEARER)
        data = etree.SubElement(conf, _q(SAML, "SubjectConfirmationData"))
        if in_response_to:
            data.set("InResponseTo", in_response_to)
        data.set("NotOnOrAfter", expires)
        data.set("Recipient", recipient)
        cond = etree.SubElement(a, _q(SAML, "Conditions"), NotBefore=issued, NotOnOrAfter=expires)
        restriction = etree.SubElement(cond, _q(SAML, "AudienceRestriction"))
        etree.SubElement(restriction, _q(SAML, "Audience")).text = audience
        authn = etree.SubElement(a, _q(SAML, "AuthnStatement"))
        authn.set("AuthnInstant", _iso(now if authn_instant is None else authn_instant))
        authn.set("SessionIndex", session_index or "_" + secrets.token_hex(8))
        ctx = etree.SubElement(authn, _q(SAML, "AuthnContext"))
        etree.SubElement(ctx, _q(SAML, "AuthnContextClassRef")).text = authn_context_class_ref
        attrs = {ATTR_EMAIL: [email] if email else [], ATTR_GROUPS: list(groups)}
        if any(attrs.values()):
            statement = etree.SubElement(a, _q(SAML, "AttributeStatement"))
            for name, values in attrs.items():
                if values:
                    attr = etree.SubElement(statement, _q(SAML, "Attribute"), Name=name)
                    for value in values:
                        etree.SubElement(attr, _q(SAML, "AttributeValue")).text = value
        signed = XMLSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        ).sign(
            a,
            key=self._key,
            cert=[self._cert],
            reference_uri=f"#{a.get('ID')}",
            id_attribute="ID",
        )
        return bytes(etree.tostring(signed, encoding="UTF-8", xml_declaration=False))

    def response(self, assertion_xml: bytes, *, destination: str, now: float) -> bytes:
        """A ``samlp:Response`` carrying one signed assertion, for the HTTP-POST binding.

        The Response itself is unsigned; the assertion's own signature is what the
        IdP's token endpoint later verifies.
        """
        root = etree.Element(_q(SAMLP, "Response"), nsmap={"samlp": SAMLP, "saml2": SAML})
        root.set("ID", "_" + secrets.token_hex(16))
        root.set("Version", "2.0")
        root.set("IssueInstant", _iso(now))
        root.set("Destination", destination)
        etree.SubElement(root, _q(SAML, "Issuer")).text = self._issuer
        status = etree.SubElement(root, _q(SAMLP, "Status"))
        etree.SubElement(status, _q(SAMLP, "StatusCode"), Value=STATUS_SUCCESS)
        root.append(etree.fromstring(assertion_xml, parser=_parser()))
        return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=False))

    def metadata(self, *, sso_url: str, name_id_formats: Sequence[str] = ()) -> bytes:
        """IdP metadata (SAML metadata §2.4.3): signing certificate and HTTP-POST SSO."""
        root = etree.Element(_q(MD, "EntityDescriptor"), nsmap={"md": MD, "ds": DS})
        root.set("entityID", self._issuer)
        idp = etree.SubElement(root, _q(MD, "IDPSSODescriptor"))
        idp.set("WantAuthnRequestsSigned", "false")
        idp.set("protocolSupportEnumeration", SAMLP)
        kd = etree.SubElement(idp, _q(MD, "KeyDescriptor"), use="signing")
        x509_data = etree.SubElement(etree.SubElement(kd, _q(DS, "KeyInfo")), _q(DS, "X509Data"))
        der = self._cert.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, _q(DS, "X509Certificate")).text = base64.b64encode(der).decode()
        for fmt in name_id_formats or (self._format,):
            etree.SubElement(idp, _q(MD, "NameIDFormat")).text = fmt
        etree.SubElement(
            idp, _q(MD, "SingleSignOnService"), Binding=BINDING_HTTP_POST, Location=sso_url
        )
        return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_signing_credentials(
    common_name: str, *, now: float, days: int = 365, key_size: int = 2048
) -> tuple[str, str]:
    """A fresh RSA key and self-signed certificate, as ``(key_pem, cert_pem)``, for tests/demos."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.fromtimestamp(now, tz=UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()
