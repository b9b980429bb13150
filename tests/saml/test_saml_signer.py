"""The reference IdP side: signed assertions, the HTTP-POST Response, IdP metadata, keys."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.signer import XMLSigner

from tests.saml.saml_kit import ALICE, DS, IDP, NOW, WIKI_ACS, WIKI_SP, SamlKit, cert_der, q
from xaa import ConfigurationError, ProtocolViolation
from xaa.adapters.saml import (
    BINDING_HTTP_POST,
    MD,
    NAMEID_PERSISTENT,
    SAMLP,
    assertion_from_response,
    encode_subject_token,
)
from xaa.adapters.saml_signer import SamlAssertionSigner, generate_signing_credentials


def test_assertion_is_rsa_sha256_exclusive_c14n_enveloped_after_issuer(kit: SamlKit) -> None:
    root = etree.fromstring(kit.assertion())
    assert [etree.QName(c).localname for c in root][:3] == ["Issuer", "Signature", "Subject"]
    sig = root.find(q("Signature", DS))
    info = sig.find(q("SignedInfo", DS))
    assert info.find(q("SignatureMethod", DS)).get("Algorithm").endswith("#rsa-sha256")
    assert info.find(q("CanonicalizationMethod", DS)).get("Algorithm").endswith("xml-exc-c14n#")
    assert info.find(q("Reference", DS)).get("URI") == "#" + root.get("ID")


def test_name_id_format_is_configurable(kit: SamlKit) -> None:
    signer = SamlAssertionSigner(
        idp_entity_id=IDP,
        private_key_pem=kit.key_pem,
        certificate_pem=kit.cert_pem,
        name_id_format=NAMEID_PERSISTENT,
    )
    xml = signer.sign_assertion(name_id="u-123", audience=WIKI_SP, recipient=WIKI_ACS, now=NOW)
    subject = kit.validator.validate(encode_subject_token(xml), client_id="wiki", now=NOW + 1)
    assert (subject.name_id, subject.name_id_format) == ("u-123", NAMEID_PERSISTENT)
    assert subject.email is None and subject.groups == ()


def test_each_assertion_has_a_fresh_id(kit: SamlKit) -> None:
    ids = {etree.fromstring(kit.assertion()).get("ID") for _ in range(5)}
    assert len(ids) == 5


def test_http_post_response_wraps_one_signed_assertion(kit: SamlKit) -> None:
    xml = kit.signer.response(kit.assertion(), destination=WIKI_ACS, now=NOW)
    root = etree.fromstring(xml)
    assert root.tag == q("Response", SAMLP) and root.get("Destination") == WIKI_ACS
    status = root.find(f"{q('Status', SAMLP)}/{q('StatusCode', SAMLP)}").get("Value")
    assert status.endswith(":Success")
    (assertion,) = root.findall(q("Assertion"))
    standalone = etree.tostring(assertion)
    subject = kit.validator.validate(encode_subject_token(standalone), client_id="wiki", now=NOW)
    assert subject.name_id == ALICE


def test_metadata_publishes_the_signing_certificate_and_post_sso(kit: SamlKit) -> None:
    sso = "https://idp.acme.example/saml/sso"
    root = etree.fromstring(kit.signer.metadata(sso_url=sso))
    assert root.tag == q("EntityDescriptor", MD) and root.get("entityID") == IDP
    (idp,) = root.findall(q("IDPSSODescriptor", MD))
    assert "urn:oasis:names:tc:SAML:2.0:protocol" in idp.get("protocolSupportEnumeration")
    (descriptor,) = idp.findall(q("KeyDescriptor", MD))
    assert descriptor.get("use") == "signing"
    cert = descriptor.find(f".//{q('X509Certificate', DS)}").text
    assert base64.b64decode(cert) == cert_der(kit.cert_pem)
    (service,) = idp.findall(q("SingleSignOnService", MD))
    assert (service.get("Binding"), service.get("Location")) == (BINDING_HTTP_POST, sso)


def test_signer_refuses_a_certificate_of_another_key(kit: SamlKit) -> None:
    _, other_cert = generate_signing_credentials("other", now=NOW)
    with pytest.raises(ConfigurationError):
        SamlAssertionSigner(
            idp_entity_id=IDP, private_key_pem=kit.key_pem, certificate_pem=other_cert
        )


def test_weak_rsa_certificate_refused_by_validator_and_signer(kit: SamlKit) -> None:
    key, cert = generate_signing_credentials("weak", now=NOW, key_size=1024)
    with pytest.raises(ConfigurationError):
        kit.make_validator(certificate_pem=cert)
    with pytest.raises(ConfigurationError):
        SamlAssertionSigner(idp_entity_id=IDP, private_key_pem=key, certificate_pem=cert)


def test_expired_pinned_certificate_refuses_signatures(kit: SamlKit) -> None:
    later = NOW + 400 * 86400
    signer_key, signer_cert = kit.key_pem, kit.cert_pem
    signer = SamlAssertionSigner(
        idp_entity_id=IDP, private_key_pem=signer_key, certificate_pem=signer_cert
    )
    xml = signer.sign_assertion(name_id=ALICE, audience=WIKI_SP, recipient=WIKI_ACS, now=later)
    exc = kit.reject(encode_subject_token(xml), now=later + 1)
    assert "pinned certificate not valid now" in exc.detail


def ec_credentials() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp-ec")])
    start = datetime.fromtimestamp(NOW, tz=UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_ecdsa_p256_pinned_key_signs_ecdsa_sha256_only(kit: SamlKit) -> None:
    key, cert = ec_credentials()
    root = etree.fromstring(kit.assertion())
    sig = root.find(q("Signature", DS))
    for child in list(sig):
        sig.remove(child)
    sig.set("Id", "placeholder")
    signed = XMLSigner(
        signature_algorithm="ecdsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    ).sign(root, key=key, cert=cert, reference_uri="#" + root.get("ID"), id_attribute="ID")
    ec_token = encode_subject_token(etree.tostring(signed))
    validator = kit.make_validator(certificate_pem=cert)
    assert validator.validate(ec_token, client_id="wiki", now=NOW + 1).name_id == ALICE
    kit.validator = kit.make_validator(certificate_pem=cert)
    exc = kit.reject(encode_subject_token(kit.assertion()))  # RSA-SHA256 under an EC pin
    assert "signature method not allowed" in exc.detail


def test_client_extracts_the_assertion_from_an_http_post_response(kit: SamlKit) -> None:
    xml = kit.signer.response(kit.assertion(), destination=WIKI_ACS, now=NOW)
    saml_response = base64.b64encode(xml).decode()  # the HTTP-POST form field
    assertion = assertion_from_response(saml_response)
    subject = kit.validator.validate(encode_subject_token(assertion), client_id="wiki", now=NOW)
    assert subject.name_id == ALICE


@pytest.mark.parametrize("defect", ["status", "two", "bare", "doctype"])
def test_client_refuses_a_malformed_response(kit: SamlKit, defect: str) -> None:
    xml = kit.signer.response(kit.assertion(), destination=WIKI_ACS, now=NOW)
    if defect == "status":
        xml = xml.replace(b":status:Success", b":status:Requester")
    elif defect == "two":
        root = etree.fromstring(xml)
        root.append(etree.fromstring(kit.assertion()))
        xml = etree.tostring(root)
    elif defect == "bare":
        xml = kit.assertion()
    else:
        xml = b"<!DOCTYPE x>" + xml
    with pytest.raises(ProtocolViolation):
        assertion_from_response(base64.b64encode(xml).decode())
