"""SAML subject tokens (draft §4.5) at the real token endpoint over loopback HTTP.

Every fixture comes from the attack suite's generators (``tests/saml``), built from a
valid assertion signed by the IdP's own key and re-signed so that exactly one defect
is left; each must yield 400 ``invalid_request``, ``no-store``, no token, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.saml.saml_kit import (
    CRM_ACS,
    CRM_SP,
    DIGEST_SHA1,
    HMAC_SHA1,
    HMAC_SHA256,
    NOW,
    RSA_SHA1,
    SamlKit,
    find,
    parse,
)
from tests.saml.test_saml_parser_attacks import CASES, with_prolog
from tests.saml.test_saml_signature_attacks import (
    EVIL,
    attacker_signed,
    comment_split_token,
    evil_twin,
    hmac_signed,
    insert_after,
    signed,
    token,
    unsigned_copy,
)
from tests.saml_e2e.saml_stack import KitIdp
from xaa.adapters.saml import DS, SAML, SAMLP, encode_subject_token

pytestmark = pytest.mark.e2e


def _advice(kit: SamlKit) -> str:
    from lxml import etree

    original = signed(kit)
    evil = evil_twin(original)
    advice = etree.Element(f"{{{SAML}}}Advice")
    advice.append(original)
    insert_after(evil, "Conditions", advice)
    return token(evil)


def _object(kit: SamlKit) -> str:
    from lxml import etree

    original = signed(kit)
    evil = evil_twin(original, keep_signature=True)
    etree.SubElement(evil.find(f"{{{DS}}}Signature"), f"{{{DS}}}Object").append(
        unsigned_copy(original)
    )
    return token(evil)


def _in_confirmation(kit: SamlKit) -> str:
    original = signed(kit)
    evil = evil_twin(original, keep_signature=True)
    find(evil, "SubjectConfirmationData").append(unsigned_copy(original))
    return token(evil)


def _same_id(kit: SamlKit) -> str:
    original = signed(kit)
    evil = evil_twin(original, keep_id=True, keep_signature=True)
    find(evil, "SubjectConfirmationData").append(unsigned_copy(original))
    return token(evil)


def _nested(kit: SamlKit) -> str:
    original = signed(kit)
    evil = evil_twin(original)
    insert_after(evil, "Conditions", original)
    return token(evil)


def _response_wrapper(kit: SamlKit) -> str:
    from lxml import etree

    original = signed(kit)
    response = etree.Element(f"{{{SAMLP}}}Response", nsmap={"samlp": SAMLP})
    response.append(evil_twin(original))
    response.append(original)
    return token(response)


def _reference_elsewhere(kit: SamlKit) -> str:
    def mutate(root: object) -> None:
        find(root, "NameID").text = EVIL
        find(root, "Conditions").set("ID", "_conditions")
        find(root, "Reference", DS).set("URI", "#_conditions")

    return kit.forge(mutate)


FIXTURES: dict[str, Callable[[SamlKit], str]] = {
    "unsigned": lambda kit: token(unsigned_copy(signed(kit))),
    "xsw-evil-root-original-in-advice": _advice,
    "xsw-original-in-signature-object": _object,
    "xsw-original-in-subject-confirmation-data": _in_confirmation,
    "xsw-duplicate-same-id": _same_id,
    "xsw-signed-nested-in-unsigned": _nested,
    "xsw-response-wrapping": _response_wrapper,
    "xsw-reference-to-another-element": _reference_elsewhere,
    "comment-inside-name-id": comment_split_token,
    "key-info-certificate-not-configured": lambda kit: attacker_signed(kit, key_info="replace"),
    "key-info-certificate-appended": lambda kit: attacker_signed(kit, key_info="append"),
    "hmac-sha256": lambda kit: hmac_signed(kit, HMAC_SHA256),
    "hmac-sha1": lambda kit: hmac_signed(kit, HMAC_SHA1),
    "rsa-sha1": lambda kit: token(
        kit.resign(parse(kit.assertion()), signature_method=RSA_SHA1, digest_method=DIGEST_SHA1)
    ),
    "sha1-digest": lambda kit: token(kit.resign(parse(kit.assertion()), digest_method=DIGEST_SHA1)),
    "expired-conditions": lambda kit: encode_subject_token(kit.assertion(now=NOW - 3600)),
    "audience-of-another-sp": lambda kit: encode_subject_token(
        kit.assertion(audience=CRM_SP, recipient=CRM_ACS)
    ),
    **{
        f"doctype-{name}": (lambda kit, c=case: encode_subject_token(with_prolog(kit, *c)))
        for name, case in CASES.items()
    },
}


def assert_invalid_request(idp: KitIdp, response: object, subject_token: str) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "access_token" not in body and "refresh_token" not in body
    assert subject_token[:40] not in response.text


def test_happy_path_yields_a_refresh_token(idp: KitIdp) -> None:
    before = idp.issued()
    response = idp.refresh_exchange(encode_subject_token(idp.kit.assertion()))
    assert response.status_code == 200, response.text
    assert response.json()["issued_token_type"] == "urn:ietf:params:oauth:token-type:refresh_token"
    assert idp.issued() == before + 1


@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_saml_attack_is_invalid_request(idp: KitIdp, case: str) -> None:
    forged = FIXTURES[case](idp.kit)
    before = idp.issued()
    assert_invalid_request(idp, idp.refresh_exchange(forged), forged)
    assert idp.issued() == before


@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_saml_attack_is_invalid_request_for_an_id_jag_too(idp: KitIdp, case: str) -> None:
    """The same fixtures sent straight for an ID-JAG (draft §4.3 identity assertion)."""
    forged = FIXTURES[case](idp.kit)
    response = idp.token(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
            "audience": "http://127.0.0.1:9500",
            "subject_token": forged,
            "subject_token_type": "urn:ietf:params:oauth:token-type:saml2",
        }
    )
    assert_invalid_request(idp, response, forged)


def test_replayed_assertion_id(idp: KitIdp) -> None:
    subject_token = encode_subject_token(idp.kit.assertion())
    assert idp.refresh_exchange(subject_token).status_code == 200
    before = idp.issued()
    assert_invalid_request(idp, idp.refresh_exchange(subject_token), subject_token)
    assert idp.issued() == before


def test_fixtures_are_valid_apart_from_their_one_defect(idp: KitIdp) -> None:
    """The re-signer keeps an untouched assertion valid at the endpoint."""
    response = idp.refresh_exchange(idp.kit.forge(lambda root: None))
    assert response.status_code == 200, response.text
