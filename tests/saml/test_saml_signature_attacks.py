"""SAML (draft §4.5): unsigned, signature wrapping, comments, foreign keys, weak algorithms.

Each fixture starts from a valid assertion signed by the IdP. Where a shape is
stopped by more than one layer, a second test disables the first layer and
proves the next one still rejects it.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from lxml import etree

from tests.saml.saml_kit import (
    ALICE,
    CRM_SP,
    DIGEST_SHA1,
    DS,
    HMAC_SHA1,
    HMAC_SHA256,
    NOW,
    RSA_SHA1,
    SAML,
    SamlKit,
    attacker_certificate,
    find,
    parse,
    q,
    serialize,
)
from xaa.adapters import saml
from xaa.adapters.saml import SAMLP, encode_subject_token

EVIL = "admin@acme.example"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"


def signed(kit: SamlKit) -> Any:
    return parse(kit.assertion())


def evil_twin(original: Any, *, keep_id: bool = False, keep_signature: bool = False) -> Any:
    """A copy of the assertion naming someone else, without the original's protection."""
    evil = copy.deepcopy(original)
    find(evil, "NameID").text = EVIL
    if not keep_id:
        evil.set("ID", "_evil")
    if not keep_signature:
        evil.remove(evil.find(q("Signature", DS)))
    return evil


def unsigned_copy(original: Any) -> Any:
    inner = copy.deepcopy(original)
    inner.remove(inner.find(q("Signature", DS)))
    return inner


def insert_after(parent: Any, name: str, element: Any) -> None:
    anchor = parent.find(q(name))
    parent.insert(list(parent).index(anchor) + 1, element)


def token(root: Any) -> str:
    return encode_subject_token(serialize(root))


def test_happy_path_baseline(kit: SamlKit) -> None:
    subject = kit.validator.validate(token(signed(kit)), client_id="wiki", now=NOW + 5)
    assert subject.name_id == ALICE
    assert kit.claimed() == 1


def test_unsigned_assertion(kit: SamlKit) -> None:
    exc = kit.reject(token(unsigned_copy(signed(kit))))
    assert "out of order or missing" in exc.detail


def test_signature_value_stripped(kit: SamlKit) -> None:
    root = signed(kit)
    find(root, "SignatureValue", DS).text = ""
    kit.reject(token(root))


# --- signature wrapping (XSW) -------------------------------------------------------------


def test_xsw_evil_root_signed_original_in_advice(kit: SamlKit) -> None:
    original = signed(kit)
    evil = evil_twin(original)
    advice = etree.Element(q("Advice"))
    advice.append(original)
    insert_after(evil, "Conditions", advice)
    kit.reject(token(evil))


def test_xsw_evil_root_carries_signature_original_in_advice(kit: SamlKit) -> None:
    original = signed(kit)
    evil = evil_twin(original, keep_signature=True)
    advice = etree.Element(q("Advice"))
    advice.append(unsigned_copy(original))
    insert_after(evil, "Conditions", advice)
    exc = kit.reject(token(evil))
    assert "Advice" in exc.detail or "Assertion" in exc.detail


def test_xsw_original_hidden_in_signature_object(kit: SamlKit) -> None:
    original = signed(kit)
    evil = evil_twin(original, keep_signature=True)
    obj = etree.SubElement(evil.find(q("Signature", DS)), q("Object", DS))
    obj.append(unsigned_copy(original))
    exc = kit.reject(token(evil))
    assert "more than one Assertion" in exc.detail


def test_xsw_original_hidden_in_subject_confirmation_data(kit: SamlKit) -> None:
    """SubjectConfirmationData admits any content: the classic hiding place."""
    original = signed(kit)
    evil = evil_twin(original, keep_signature=True)
    find(evil, "SubjectConfirmationData").append(unsigned_copy(original))
    exc = kit.reject(token(evil))
    assert "more than one Assertion" in exc.detail


def test_xsw_duplicate_assertion_with_same_id(kit: SamlKit) -> None:
    original = signed(kit)
    evil = evil_twin(original, keep_id=True, keep_signature=True)
    find(evil, "SubjectConfirmationData").append(unsigned_copy(original))
    kit.reject(token(evil))


def test_xsw_duplicate_same_id_stopped_by_id_uniqueness_alone(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the 'one Assertion' rule off, the same-ID twin still fails (ambiguous ID)."""
    original = signed(kit)
    evil = evil_twin(original, keep_id=True, keep_signature=True)
    twin = unsigned_copy(original)
    twin.tag = q("Evidence")  # not an Assertion any more, same ID and content
    find(evil, "SubjectConfirmationData").append(twin)
    exc = kit.reject(token(evil))
    assert "not unique" in exc.detail


def test_xsw_signed_assertion_nested_in_unsigned_one(kit: SamlKit) -> None:
    original = signed(kit)
    evil = evil_twin(original)
    insert_after(evil, "Conditions", original)
    kit.reject(token(evil))


def test_xsw_response_wrapping_evil_and_signed_assertions(kit: SamlKit) -> None:
    original = signed(kit)
    response = etree.Element(q("Response", SAMLP), nsmap={"samlp": SAMLP})
    response.append(evil_twin(original))
    response.append(original)
    exc = kit.reject(token(response))
    assert "not a saml2:Assertion" in exc.detail


def test_bare_response_with_one_signed_assertion_is_not_accepted(kit: SamlKit) -> None:
    """Only a bare Assertion is a subject_token; a Response wrapper is refused."""
    xml = kit.signer.response(kit.assertion(), destination="https://wiki.example/acs", now=NOW)
    kit.reject(encode_subject_token(xml))


def test_xsw_reference_uri_points_at_another_element(kit: SamlKit) -> None:
    """A valid IdP signature over Conditions only must not vouch for the Subject."""

    def mutate(root: Any) -> None:
        find(root, "NameID").text = EVIL
        find(root, "Conditions").set("ID", "_conditions")
        find(root, "Reference", DS).set("URI", "#_conditions")

    exc = kit.reject(kit.forge(mutate))
    assert "Reference URI" in exc.detail


def test_reference_to_another_element_stopped_after_signxml_too(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saml, "_check_signed_info", lambda *args: None)

    def mutate(root: Any) -> None:
        find(root, "NameID").text = EVIL
        find(root, "Conditions").set("ID", "_conditions")
        find(root, "Reference", DS).set("URI", "#_conditions")

    exc = kit.reject(kit.forge(mutate))
    assert "signed element is not the Assertion" in exc.detail


def test_reference_uri_empty_is_refused(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(lambda root: find(root, "Reference", DS).set("URI", "")))
    assert "Reference URI" in exc.detail


def test_two_signatures_side_by_side(kit: SamlKit) -> None:
    root = signed(kit)
    sig = root.find(q("Signature", DS))
    root.insert(list(root).index(sig) + 1, copy.deepcopy(sig))
    kit.reject(token(root))


def test_second_signature_hidden_deeper(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        find(root, "SubjectConfirmationData").append(copy.deepcopy(root.find(q("Signature", DS))))

    exc = kit.reject(kit.forge(mutate))
    assert "exactly one ds:Signature" in exc.detail


@pytest.mark.parametrize(
    "attribute", ["ID", "Id", "id", "{http://www.w3.org/XML/1998/namespace}id", "{urn:x}ID"]
)
def test_id_attribute_collision(kit: SamlKit, attribute: str) -> None:
    def mutate(root: Any) -> None:
        evidence = etree.SubElement(find(root, "SubjectConfirmationData"), "{urn:x}Evidence")
        evidence.set(attribute, root.get("ID"))

    exc = kit.reject(kit.forge(mutate))
    assert "not unique" in exc.detail


def test_signature_outside_the_assertion_children(kit: SamlKit) -> None:
    """A correctly signed assertion whose Signature is not the second child."""

    def mutate(root: Any) -> None:
        sig = root.find(q("Signature", DS))
        root.remove(sig)
        root.append(sig)

    exc = kit.reject(kit.forge(mutate))
    assert "out of order" in exc.detail


# --- comments inside NameID -----------------------------------------------------------------

REGISTERED = "alice@acme.example.evil.example"


def comment_split_token(kit: SamlKit) -> str:
    """The IdP signs for an attacker-registered name; a comment is spliced in afterwards.

    Exclusive c14n without comments ignores the comment, so the signature stays valid.
    """
    xml = kit.assertion(name_id=REGISTERED, email=REGISTERED)
    spliced = xml.replace(
        f">{REGISTERED}</saml2:NameID>".encode(),
        b">alice@acme.example<!---->.evil.example</saml2:NameID>",
    )
    assert spliced != xml
    return encode_subject_token(spliced)


def test_comment_inside_name_id_is_refused(kit: SamlKit) -> None:
    exc = kit.reject(comment_split_token(kit))
    assert "comment" in exc.detail


def test_comment_inside_name_id_never_truncates_even_without_the_comment_ban(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: claims come from signxml's signed element, never the raw tree."""
    raw = base64.urlsafe_b64decode(comment_split_token(kit) + "==")
    assert parse(raw).find(f".//{q('NameID')}").text == "alice@acme.example"  # the trap is real
    monkeypatch.setattr(saml, "_check_markup", lambda raw: None)
    monkeypatch.setattr(saml, "_parse", lambda raw: etree.fromstring(raw, parser=saml._parser()))
    subject = kit.validator.validate(comment_split_token(kit), client_id="wiki", now=NOW + 5)
    assert subject.name_id == REGISTERED


# --- keys -------------------------------------------------------------------------------------


def attacker_signed(kit: SamlKit, *, key_info: str) -> str:
    attacker_key, attacker_cert = attacker_certificate()
    pem_body = "".join(attacker_cert.strip().splitlines()[1:-1])
    root = parse(kit.assertion())
    find(root, "NameID").text = EVIL
    x509_data = find(root, "X509Data", DS)
    if key_info == "replace":
        find(root, "X509Certificate", DS).text = pem_body
    elif key_info == "append":
        etree.SubElement(x509_data, q("X509Certificate", DS)).text = pem_body
    elif key_info == "none":
        sig = root.find(q("Signature", DS))
        sig.remove(sig.find(q("KeyInfo", DS)))
    return token(kit.resign(root, key_pem=attacker_key))


def test_attacker_signed_with_own_certificate_in_key_info(kit: SamlKit) -> None:
    exc = kit.reject(attacker_signed(kit, key_info="replace"))
    assert "not the pinned certificate" in exc.detail


def test_attacker_certificate_appended_next_to_the_pinned_one(kit: SamlKit) -> None:
    exc = kit.reject(attacker_signed(kit, key_info="append"))
    assert "not the pinned certificate" in exc.detail


def test_attacker_signed_without_key_info(kit: SamlKit) -> None:
    exc = kit.reject(attacker_signed(kit, key_info="none"))
    assert "InvalidSignature" in exc.detail


def test_attacker_certificate_ignored_by_signxml_too(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saml, "_check_signed_info", lambda *args: None)
    exc = kit.reject(attacker_signed(kit, key_info="replace"))
    assert "InvalidSignature" in exc.detail


def test_key_info_key_value_is_refused(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        key_info = find(root, "KeyInfo", DS)
        etree.SubElement(key_info, q("KeyValue", DS))

    kit.reject(kit.forge(mutate))


# --- algorithms -------------------------------------------------------------------------------


def hmac_signed(kit: SamlKit, method: str) -> str:
    """HMAC keyed with the public certificate: the XML twin of the JWT alg confusion."""
    root = parse(kit.assertion())
    find(root, "NameID").text = EVIL
    return token(kit.resign(root, signature_method=method, hmac_key=kit.cert_pem.encode()))


@pytest.mark.parametrize("method", [HMAC_SHA256, HMAC_SHA1])
def test_hmac_signature_method(kit: SamlKit, method: str) -> None:
    exc = kit.reject(hmac_signed(kit, method))
    assert "signature method not allowed" in exc.detail


def test_rsa_sha1_signature_method(kit: SamlKit) -> None:
    root = kit.resign(parse(kit.assertion()), signature_method=RSA_SHA1, digest_method=DIGEST_SHA1)
    exc = kit.reject(token(root))
    assert "signature method not allowed" in exc.detail


def test_sha1_digest_under_rsa_sha256(kit: SamlKit) -> None:
    root = kit.resign(parse(kit.assertion()), digest_method=DIGEST_SHA1)
    exc = kit.reject(token(root))
    assert "digest method is not SHA-256" in exc.detail


@pytest.mark.parametrize("case", ["hmac", "rsa-sha1", "sha1-digest"])
def test_weak_algorithms_refused_by_signxml_config_too(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setattr(saml, "_check_signed_info", lambda *args: None)
    if case == "hmac":
        forged = hmac_signed(kit, HMAC_SHA256)
    elif case == "rsa-sha1":
        forged = token(
            kit.resign(parse(kit.assertion()), signature_method=RSA_SHA1, digest_method=DIGEST_SHA1)
        )
    else:
        forged = token(kit.resign(parse(kit.assertion()), digest_method=DIGEST_SHA1))
    exc = kit.reject(forged)
    assert "InvalidInput" in exc.detail


def test_inclusive_canonicalization_is_refused(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        find(root, "CanonicalizationMethod", DS).set("Algorithm", C14N_11)

    exc = kit.reject(kit.forge(mutate))
    assert "exclusive c14n" in exc.detail


def test_extra_xpath_transform_is_refused(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        transforms = find(root, "Transforms", DS)
        xpath = etree.SubElement(transforms, q("Transform", DS))
        xpath.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")

    exc = kit.reject(kit.forge(mutate))
    assert "transforms" in exc.detail


def test_assertion_for_another_sp_is_still_a_valid_signature(kit: SamlKit) -> None:
    """Sanity for the audience suite: the CRM assertion verifies for the CRM client."""
    xml = kit.assertion(audience=CRM_SP, recipient="https://crm.example/saml/acs")
    assert kit.validator.validate(encode_subject_token(xml), client_id="crm", now=NOW + 5)
    assert SAML in xml.decode()
