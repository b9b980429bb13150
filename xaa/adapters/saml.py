"""SAML 2.0 assertions as token-exchange subject tokens (draft §4.5), hardened.

- :class:`SamlAssertionValidator`: the IdP side of ``subject_token_type=
  urn:ietf:params:oauth:token-type:saml2``. Decodes the token, parses it with
  no DTD, entities, comments or processing instructions, verifies the XML
  signature with the one pinned certificate, then reads every claim from the
  element signxml returns as signed. Every failure is ``invalid_request``.
- :func:`encode_subject_token` / :func:`assertion_from_response`: helpers.

Signing assertions and writing IdP metadata (an IdP's job, not a validator's) is
:mod:`xaa.adapters.saml_signer`.

See ``docs/saml.md`` for every check and the attack it stops.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._errors import ConfigurationError
from ._extras import missing_extra

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from lxml import etree
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.exceptions import SignXMLException
    from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

    from .. import rules, spec
    from .._errors import InvalidRequest, OAuthError, ProtocolViolation, XaaError
    from .._replay import NS_SAML, ReplayStore, claim_once
    from ..idp._saml_subject import SamlSubject
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "saml", exc) from None

# Short names of the spec.py identifiers, for XML paths.
SAML = spec.SAML_NS_ASSERTION
SAMLP = spec.SAML_NS_PROTOCOL
MD = spec.SAML_NS_METADATA
DS = spec.XMLDSIG_NS
CM_BEARER = spec.SAML_CM_BEARER
NAMEID_EMAIL = spec.SAML_NAMEID_EMAIL
NAMEID_UNSPECIFIED = spec.SAML_NAMEID_UNSPECIFIED
NAMEID_PERSISTENT = spec.SAML_NAMEID_PERSISTENT
NAMEID_ENTITY = spec.SAML_NAMEID_ENTITY
BINDING_HTTP_POST = spec.SAML_BINDING_HTTP_POST
AC_PASSWORD_PROTECTED = spec.SAML_AC_PASSWORD_PROTECTED
STATUS_SUCCESS = spec.SAML_STATUS_SUCCESS
ATTR_EMAIL = "email"
ATTR_GROUPS = "groups"

ALG_EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value
ALG_ENVELOPED = spec.XMLDSIG_ENVELOPED
ALG_SHA256 = DigestAlgorithm.SHA256.value

DEFAULT_MAX_BYTES = 64 * 1024
MAX_SKEW = 300.0
_GENERIC = "The SAML assertion is invalid."

_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_B64STD = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_XML_DECL = re.compile(
    r"""<\?xml\s+version=(["'])1\.0\1(\s+encoding=(["'])(?i:utf-8)\3)?"""
    r"""(\s+standalone=(["'])(yes|no)\5)?\s*\?>"""
)
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z")
_SIGNXML_REASONS = {
    "InvalidSignature": "does not verify with the pinned certificate",
    "InvalidDigest": "signed content was altered",
    "InvalidCertificate": "pinned certificate not valid now",
}
_ID_NAMES = ("ID", "Id", "id")  # in any namespace, as signxml resolves them (xml:id too)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


class _Reject(XaaError):
    """Internal: one named check failed; becomes ``invalid_request`` at the boundary."""


@dataclass(frozen=True)
class SamlServiceProvider:
    """A SAML SP registration: its entity ID, the OAuth client it is, its ACS URLs."""

    entity_id: str
    client_id: str
    recipients: frozenset[str]


def encode_subject_token(assertion_xml: bytes) -> str:
    """The ``subject_token`` for an assertion: base64url without padding (RFC 8693 §3)."""
    return base64.urlsafe_b64encode(assertion_xml).rstrip(b"=").decode("ascii")


def decode_subject_token(encoded: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Decode a saml2 ``subject_token``; raises ``InvalidRequest``.

    Accepted: base64url (RFC 4648 §5) or standard base64 (§4, the draft §4.5
    example), one alphabet only, padding optional but exact when present, no
    whitespace, canonical (unused trailing bits zero), at most ``max_bytes``.
    """
    try:
        return _decode(encoded, max_bytes)
    except _Reject as exc:
        raise InvalidRequest(_GENERIC, detail=f"saml subject_token: {exc}") from None


def _decode(encoded: str, max_bytes: int) -> bytes:
    if len(encoded) > (max_bytes + 2) // 3 * 4:
        raise _Reject("over the size cap")
    if _B64URL.fullmatch(encoded):
        alphabet = b"-_"
    elif _B64STD.fullmatch(encoded):
        alphabet = b"+/"
    else:
        raise _Reject("not base64url")
    body = encoded.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    if len(body) % 4 == 1 or (body != encoded and padded != encoded):
        raise _Reject("bad base64 padding")
    try:
        raw = base64.b64decode(padded, altchars=alphabet, validate=True)
    except binascii.Error:
        raise _Reject("not base64url") from None
    if base64.b64encode(raw, altchars=alphabet).decode("ascii").rstrip("=") != body:
        raise _Reject("non-canonical base64")
    if len(raw) > max_bytes:
        raise _Reject("over the size cap")
    return raw


def _parser() -> Any:
    """A fresh hardened parser (lxml parsers are not thread-safe)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
    )


def _check_markup(raw: bytes) -> None:
    """Lexical gate before any parser sees the bytes.

    UTF-8 only (so the scan below cannot be dodged with UTF-16); an optional
    XML declaration; no ``<!`` at all (DOCTYPE, ENTITY, comments, CDATA) and
    no processing instruction.
    """
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _Reject("not UTF-8") from None
    decl = _XML_DECL.match(text)
    rest = text[decl.end() :] if decl else text
    if "<!" in rest:
        raise _Reject("markup declaration, comment or CDATA")
    if "<?" in rest:
        raise _Reject("processing instruction")


def _parse(raw: bytes) -> Any:
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.LxmlError:
        raise _Reject("not well-formed XML") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise _Reject("DOCTYPE")
    for node in root.iter():
        if not isinstance(node.tag, str):
            raise _Reject("comment, processing instruction or entity node")
    return root


def _text(el: Any, what: str, *, strip: bool = False) -> str:
    if len(el):
        raise _Reject(f"{what} has child elements")
    value = el.text or ""
    value = value.strip() if strip else value
    if not value:
        raise _Reject(f"{what} is empty")
    return str(value)


def _children(el: Any) -> list[Any]:
    if (el.text or "").strip() or any((c.tail or "").strip() for c in el):
        raise _Reject(f"mixed content in {etree.QName(el).localname}")
    return list(el)


def _one(parent: Any, ns: str, name: str, *, required: bool = True) -> Any:
    found = [c for c in parent if c.tag == _q(ns, name)]
    if len(found) > 1 or (required and not found):
        raise _Reject(f"expected exactly one {name}, found {len(found)}")
    return found[0] if found else None


def _instant(value: str | None, what: str) -> float:
    if value is None:
        raise _Reject(f"{what} missing")
    m = _INSTANT.fullmatch(value)
    if not m:
        raise _Reject(f"{what} is not an xs:dateTime in UTC")
    try:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
        dt = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
    except ValueError:
        raise _Reject(f"{what} is not a valid date") from None
    return dt.timestamp() + (float(m.group(7)) if m.group(7) else 0.0)


def _check_assertion_shape(root: Any, *, signed: bool) -> None:
    """The Assertion's children, in schema order, with nothing that can hide a second one.

    ``signed`` is the enveloped-signature view, where ``ds:Signature`` is gone.
    """
    if root.tag != _q(SAML, "Assertion"):
        raise _Reject("document element is not a saml2:Assertion")
    if root.get("Version") != "2.0":
        raise _Reject("Version is not 2.0")
    tags = [child.tag for child in _children(root)]
    head = [_q(SAML, "Issuer"), _q(SAML, "Subject"), _q(SAML, "Conditions")]
    if not signed:
        head.insert(1, _q(DS, "Signature"))
    if tags[: len(head)] != head:
        raise _Reject("Assertion children out of order or missing")
    statements = tags[len(head) :]
    authn, attrs = _q(SAML, "AuthnStatement"), _q(SAML, "AttributeStatement")
    if statements.count(authn) != 1 or statements.count(attrs) > 1:
        raise _Reject("expected one AuthnStatement and at most one AttributeStatement")
    if set(statements) - {authn, attrs}:
        raise _Reject("unexpected Assertion child (Advice, Statement, ...)")


def _check_document(root: Any) -> str:
    """Whole-document rules before the signature: returns the root ID."""
    _check_assertion_shape(root, signed=False)
    if sum(1 for _ in root.iter(_q(SAML, "Assertion"))) != 1:
        raise _Reject("more than one Assertion")
    if sum(1 for _ in root.iter(_q(DS, "Signature"))) != 1:
        raise _Reject("expected exactly one ds:Signature")
    for tag in ("EncryptedAssertion", "EncryptedID", "Advice"):
        if next(root.iter(_q(SAML, tag)), None) is not None:
            raise _Reject(f"{tag} is not accepted")
    if next(root.iter(_q(DS, "Object")), None) is not None:
        raise _Reject("ds:Object is not accepted")
    root_id = root.get("ID")
    if not root_id or not _NCNAME.fullmatch(root_id):
        raise _Reject("Assertion ID missing or not an NCName")
    uses = sum(
        1
        for el in root.iter()
        for name, value in el.attrib.items()
        if value == root_id and etree.QName(name).localname in _ID_NAMES
    )
    if uses != 1:
        raise _Reject("Assertion ID is not unique in the document")
    return str(root_id)


def _check_signed_info(
    root: Any, root_id: str, methods: frozenset[SignatureMethod], cert_der: bytes
) -> None:
    """Pin what the signature may say before signxml runs (xmldsig-bestpractices §2)."""
    sig = _one(root, DS, "Signature")
    info = _one(sig, DS, "SignedInfo")
    if _one(info, DS, "CanonicalizationMethod").get("Algorithm") != ALG_EXC_C14N:
        raise _Reject("SignedInfo canonicalization is not exclusive c14n")
    if _one(info, DS, "SignatureMethod").get("Algorithm") not in {m.value for m in methods}:
        raise _Reject("signature method not allowed for the pinned key")
    ref = _one(info, DS, "Reference")
    if ref.get("URI") != f"#{root_id}":
        raise _Reject("Reference URI is not the Assertion's ID")
    transforms = [t.get("Algorithm") for t in _one(ref, DS, "Transforms")]
    if ALG_ENVELOPED not in transforms or set(transforms) - {ALG_ENVELOPED, ALG_EXC_C14N}:
        raise _Reject("Reference transforms are not enveloped + exclusive c14n")
    if _one(ref, DS, "DigestMethod").get("Algorithm") != ALG_SHA256:
        raise _Reject("digest method is not SHA-256")
    try:
        value = base64.b64decode(
            "".join(_text(_one(sig, DS, "SignatureValue"), "SignatureValue").split()), validate=True
        )
    except binascii.Error:
        raise _Reject("SignatureValue is not base64") from None
    if not value:
        raise _Reject("SignatureValue is empty")
    key_info = _one(sig, DS, "KeyInfo", required=False)
    if key_info is None:
        return
    for data in _children(key_info):
        if data.tag != _q(DS, "X509Data"):
            raise _Reject("KeyInfo holds something other than X509Data")
        for cert in _children(data):
            if cert.tag != _q(DS, "X509Certificate"):
                raise _Reject("X509Data holds something other than X509Certificate")
            try:
                der = base64.b64decode(
                    "".join(_text(cert, "X509Certificate").split()), validate=True
                )
            except binascii.Error:
                raise _Reject("X509Certificate is not base64") from None
            if der != cert_der:
                raise _Reject("KeyInfo certificate is not the pinned certificate")


class SamlAssertionValidator:
    """Validate a saml2 ``subject_token`` for one authenticated client (draft §4.5).

    ``idp_entity_id`` is the only accepted ``Issuer``; ``certificate_pem`` the
    only accepted signing key (RSA >= 2048 signs RSA-SHA256, P-256 ECDSA-SHA256);
    ``service_providers`` map each SP entity ID to its OAuth client and ACS URLs.
    """

    def __init__(
        self,
        *,
        idp_entity_id: str,
        certificate_pem: str,
        service_providers: Iterable[SamlServiceProvider],
        replay: ReplayStore,
        clock_skew: float = 60.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if not idp_entity_id:
            raise ConfigurationError("idp_entity_id is required")
        if not 0 <= clock_skew <= MAX_SKEW:
            raise ConfigurationError(f"clock_skew must be within 0..{MAX_SKEW} seconds")
        cert = x509.load_pem_x509_certificate(certificate_pem.encode())
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size >= spec.MIN_RSA_BITS:
            self._methods = frozenset({SignatureMethod.RSA_SHA256})
        elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
            self._methods = frozenset({SignatureMethod.ECDSA_SHA256})
        else:
            raise ConfigurationError("the SAML signing certificate must be RSA >= 2048 or EC P-256")
        sps = list(service_providers)
        self._sps = {sp.entity_id: sp for sp in sps}
        if len(self._sps) != len(sps) or not all(sp.entity_id and sp.recipients for sp in sps):
            raise ConfigurationError(
                "service providers need unique entity IDs and at least one recipient"
            )
        self._issuer = idp_entity_id
        self._cert = cert
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        self._replay = replay
        self._skew = float(clock_skew)
        self._max_bytes = max_bytes

    def validate(self, encoded: str, *, client_id: str, now: float) -> SamlSubject:
        """Return the verified subject, or raise ``InvalidRequest`` (never anything else
        but ``TemporarilyUnavailable`` when the replay store cannot answer).

        The assertion ID is claimed last, so a rejected assertion is not burnt.
        """
        try:
            subject = self._validate(encoded, client_id=client_id, now=now)
        except OAuthError:
            raise
        except _Reject as exc:
            raise InvalidRequest(_GENERIC, detail=f"saml: {exc}") from None
        except Exception as exc:  # fail closed: a parser/verifier error is a rejection
            raise InvalidRequest(_GENERIC, detail=f"saml: {type(exc).__name__}") from None
        first = claim_once(
            self._replay,
            NS_SAML,
            subject.issuer,
            subject.assertion_id,
            holder=client_id,
            expires_at=subject.not_on_or_after + self._skew,
            now=now,
        )
        if first is not None:
            raise InvalidRequest(_GENERIC, detail="saml: assertion ID already used")
        return subject

    def _validate(self, encoded: str, *, client_id: str, now: float) -> SamlSubject:
        sps = [sp for sp in self._sps.values() if sp.client_id == client_id]
        if not sps:
            raise _Reject("no SAML service provider is mapped to this client")
        raw = _decode(encoded, self._max_bytes)
        _check_markup(raw)
        root = _parse(raw)
        root_id = _check_document(root)
        _check_signed_info(root, root_id, self._methods, self._cert_der)
        signed = self._verify(root, root_id, now)
        return self._claims(signed, root_id, client_id=client_id, now=now)

    def _verify(self, root: Any, root_id: str, now: float) -> Any:
        config = SignatureConfiguration(
            require_x509=True,
            location="./",
            expect_references=1,
            signature_methods=self._methods,
            digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
            verification_time=datetime.fromtimestamp(now, tz=UTC),
        )
        try:
            result = XMLVerifier().verify(
                root,
                x509_cert=self._cert,
                parser=_parser(),
                id_attribute="ID",
                expect_config=config,
            )
        except SignXMLException as exc:
            reason = _SIGNXML_REASONS.get(type(exc).__name__, "refused by the signature policy")
            raise _Reject(f"signature: {reason} ({type(exc).__name__})") from None
        if not isinstance(result, VerifyResult):
            raise _Reject("expected exactly one signed reference")
        signed = result.signed_xml
        if signed is None or signed.tag != _q(SAML, "Assertion") or signed.get("ID") != root_id:
            raise _Reject("the signed element is not the Assertion")
        return signed

    def _claims(self, a: Any, assertion_id: str, *, client_id: str, now: float) -> SamlSubject:
        skew = self._skew
        _check_assertion_shape(a, signed=True)
        if _instant(a.get("IssueInstant"), "IssueInstant") > now + skew:
            raise _Reject("IssueInstant in the future")
        issuer_el = _one(a, SAML, "Issuer")
        if issuer_el.get("Format") not in (None, NAMEID_ENTITY):
            raise _Reject("Issuer Format is not entity")
        if _text(issuer_el, "Issuer") != self._issuer:
            raise _Reject("Issuer is not the configured IdP")

        conditions = _one(a, SAML, "Conditions")
        not_before = conditions.get("NotBefore")
        if not_before is not None and _instant(not_before, "Conditions NotBefore") > now + skew:
            raise _Reject("Conditions NotBefore in the future")
        cond_expiry = _instant(conditions.get("NotOnOrAfter"), "Conditions NotOnOrAfter")
        if now >= cond_expiry + skew:
            raise _Reject("Conditions expired")
        kinds = [c.tag for c in _children(conditions)]
        restriction_tag = _q(SAML, "AudienceRestriction")
        if kinds.count(restriction_tag) != 1 or set(kinds) - {
            restriction_tag,
            _q(SAML, "OneTimeUse"),
        }:
            raise _Reject("Conditions must hold one AudienceRestriction and nothing unknown")
        audiences = _children(_one(conditions, SAML, "AudienceRestriction"))
        if not audiences or any(el.tag != _q(SAML, "Audience") for el in audiences):
            raise _Reject("AudienceRestriction must hold only Audience elements")
        audience = tuple(_text(el, "Audience") for el in audiences)
        sps = [self._sps.get(aud) for aud in audience]
        if any(sp is None or sp.client_id != client_id for sp in sps):
            raise _Reject("Audience is not an SP mapped to the authenticated client")
        recipients = {r for sp in sps if sp is not None for r in sp.recipients}

        subject = _one(a, SAML, "Subject")
        if [c.tag for c in _children(subject)] != [
            _q(SAML, "NameID"),
            _q(SAML, "SubjectConfirmation"),
        ]:
            raise _Reject("Subject must be one NameID and one SubjectConfirmation")
        name_id_el = _one(subject, SAML, "NameID")
        confirmation = _one(subject, SAML, "SubjectConfirmation")
        if confirmation.get("Method") != CM_BEARER:
            raise _Reject("SubjectConfirmation Method is not bearer")
        if [c.tag for c in _children(confirmation)] != [_q(SAML, "SubjectConfirmationData")]:
            raise _Reject("SubjectConfirmation must be one SubjectConfirmationData")
        data = _one(confirmation, SAML, "SubjectConfirmationData")
        if len(data) or (data.text or "").strip():
            raise _Reject("bearer SubjectConfirmationData must be empty")
        if data.get("NotBefore") is not None:
            raise _Reject("bearer SubjectConfirmationData has NotBefore")
        scd_expiry = _instant(data.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter")
        if now >= scd_expiry + skew:
            raise _Reject("SubjectConfirmationData expired")
        recipient = data.get("Recipient")
        if recipient not in recipients:
            raise _Reject("Recipient is not an ACS URL of the audience SP")

        authn = _one(a, SAML, "AuthnStatement")
        authn_instant = _instant(authn.get("AuthnInstant"), "AuthnInstant")
        if authn_instant > now + skew:
            raise _Reject("AuthnInstant in the future")
        session_end = authn.get("SessionNotOnOrAfter")
        if session_end is not None and now >= _instant(session_end, "SessionNotOnOrAfter") + skew:
            raise _Reject("session expired")
        context = _one(authn, SAML, "AuthnContext", required=False)
        class_ref_el = None if context is None else _one(context, SAML, "AuthnContextClassRef")
        class_ref = None if class_ref_el is None else _text(class_ref_el, "ClassRef", strip=True)

        attributes = self._attributes(_one(a, SAML, "AttributeStatement", required=False))
        emails = attributes.get(ATTR_EMAIL, ())
        if len(emails) > 1:
            raise _Reject("more than one email value")
        return SamlSubject(
            issuer=self._issuer,
            name_id=_text(name_id_el, "NameID", strip=True),
            name_id_format=name_id_el.get("Format") or NAMEID_UNSPECIFIED,
            assertion_id=assertion_id,
            audience=audience,
            recipient=str(recipient),
            not_on_or_after=min(cond_expiry, scd_expiry),
            authn_instant=authn_instant,
            authn_context_class_ref=class_ref,
            session_index=authn.get("SessionIndex"),
            email=emails[0] if emails else None,
            groups=attributes.get(ATTR_GROUPS, ()),
            attributes=attributes,
        )

    @staticmethod
    def _attributes(statement: Any) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        if statement is None:
            return out
        for attr in _children(statement):
            name = attr.get("Name")
            if attr.tag != _q(SAML, "Attribute") or not name or name in out:
                raise _Reject("AttributeStatement holds a bad or repeated Attribute")
            values = _children(attr)
            if any(v.tag != _q(SAML, "AttributeValue") for v in values):
                raise _Reject("Attribute holds something other than AttributeValue")
            out[name] = tuple(_text(v, "AttributeValue") for v in values)
        return out


def assertion_from_response(saml_response: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The one Assertion of an HTTP-POST ``SAMLResponse`` (SAML bindings §3.5.4), client side.

    Parses with the same hardening, requires a Success status and exactly one
    ``saml2:Assertion`` child, and returns it standalone for
    :func:`encode_subject_token`. It does not verify the signature: the IdP's
    token endpoint does; an SP that signs users in from it must validate it too.
    Raises :class:`~xaa.ProtocolViolation`.
    """
    try:
        raw = _decode(saml_response, max_bytes)
        _check_markup(raw)
        root = _parse(raw)
        if root.tag != _q(SAMLP, "Response"):
            raise _Reject("document element is not a samlp:Response")
        code = root.find(f"{_q(SAMLP, 'Status')}/{_q(SAMLP, 'StatusCode')}")
        if code is None or code.get("Value") != STATUS_SUCCESS:
            raise _Reject("status is not Success")
        if root.find(f".//{_q(SAML, 'EncryptedAssertion')}") is not None:
            raise _Reject("EncryptedAssertion is not supported")
        found = root.findall(f".//{_q(SAML, 'Assertion')}")
        if len(found) != 1 or found[0].getparent() is not root:
            raise _Reject("expected exactly one Assertion child")
    except _Reject as exc:
        raise ProtocolViolation(rules.SAML_RESPONSE, str(exc)) from None
    return bytes(etree.tostring(found[0], encoding="UTF-8", xml_declaration=False))


__all__ = [
    "SamlAssertionValidator",
    "SamlServiceProvider",
    "SamlSubject",
    "assertion_from_response",
    "decode_subject_token",
    "encode_subject_token",
]
