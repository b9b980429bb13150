"""Claim checks on a correctly signed assertion: each test carries exactly one defect,
re-signed with the IdP key (draft §4.5; SAML core §2.5, §2.4.1; SAML profiles §4.1.4.2)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from tests.saml.saml_kit import (
    CRM_ACS,
    CRM_SP,
    IDP,
    NOW,
    SKEW,
    WIKI_ACS,
    WIKI_SP,
    SamlKit,
    find,
    q,
)
from xaa import ConfigurationError, ReplayStoreUnavailable, TemporarilyUnavailable
from xaa.adapters.saml import SamlServiceProvider, encode_subject_token

LATER = "2027-01-15T09:00:00Z"  # NOW + 1 h
EARLIER = "2027-01-15T07:00:00Z"  # NOW - 1 h


def setter(element: str, attribute: str, value: str) -> Any:
    return lambda root: find(root, element).set(attribute, value)


def test_happy_path_reads_every_claim(kit: SamlKit) -> None:
    xml = kit.assertion(session_index="_s1")
    subject = kit.validator.validate(encode_subject_token(xml), client_id="wiki", now=NOW + 5)
    assert subject.issuer == IDP
    assert subject.name_id == "alice@acme.example"
    assert subject.name_id_format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert subject.email == "alice@acme.example"
    assert subject.groups == ("engineering", "staff")
    assert subject.audience == (WIKI_SP,)
    assert subject.recipient == WIKI_ACS
    assert subject.session_index == "_s1"
    assert subject.authn_instant == NOW
    assert subject.authn_context_class_ref and subject.authn_context_class_ref.endswith(
        "PasswordProtectedTransport"
    )
    assert subject.not_on_or_after == NOW + 300
    assert subject.assertion_id.startswith("_")
    assert kit.claimed() == 1


def test_resign_helper_keeps_an_untouched_assertion_valid(kit: SamlKit) -> None:
    """The fixtures below are meaningful only if a re-signed clean assertion passes."""
    forged = kit.forge(lambda root: None)
    assert kit.validator.validate(forged, client_id="wiki", now=NOW + 5).name_id


def test_conditions_expired(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("Conditions", "NotOnOrAfter", EARLIER)))
    assert "Conditions expired" in exc.detail


def test_conditions_expired_at_the_skew_boundary(kit: SamlKit) -> None:
    token = kit.assertion()
    exc = kit.reject(encode_subject_token(token), now=NOW + 300 + SKEW)
    assert "expired" in exc.detail


def test_conditions_not_before_in_the_future(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("Conditions", "NotBefore", LATER)))
    assert "NotBefore in the future" in exc.detail


def test_conditions_not_on_or_after_missing(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(lambda root: find(root, "Conditions").attrib.pop("NotOnOrAfter")))
    assert "missing" in exc.detail


def test_conditions_timestamp_with_offset_is_refused(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("Conditions", "NotOnOrAfter", "2027-01-15T10:00:00+01:00")))
    assert "UTC" in exc.detail


def test_unknown_condition_is_refused(kit: SamlKit) -> None:
    exc = kit.reject(
        kit.forge(lambda root: etree.SubElement(find(root, "Conditions"), q("ProxyRestriction")))
    )
    assert "nothing unknown" in exc.detail


def test_audience_of_another_sp(kit: SamlKit) -> None:
    """Draft §4.5: an assertion for the CRM SP, presented by the wiki client."""
    xml = kit.assertion(audience=CRM_SP, recipient=CRM_ACS)
    exc = kit.reject(encode_subject_token(xml), client_id="wiki")
    assert "not an SP mapped to the authenticated client" in exc.detail


def test_audience_list_naming_another_sp_too(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        etree.SubElement(find(root, "AudienceRestriction"), q("Audience")).text = CRM_SP

    exc = kit.reject(kit.forge(mutate))
    assert "Audience" in exc.detail


def test_audience_unknown_sp(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(lambda root: setattr(find(root, "Audience"), "text", WIKI_SP + "/")))
    assert "Audience" in exc.detail


def test_two_audience_restrictions(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        extra = etree.SubElement(find(root, "Conditions"), q("AudienceRestriction"))
        etree.SubElement(extra, q("Audience")).text = WIKI_SP

    kit.reject(kit.forge(mutate))


def test_client_without_saml_sp(kit: SamlKit) -> None:
    exc = kit.reject(encode_subject_token(kit.assertion()), client_id="chat")
    assert "no SAML service provider" in exc.detail


def test_wrong_recipient(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("SubjectConfirmationData", "Recipient", CRM_ACS)))
    assert "Recipient" in exc.detail


def test_recipient_missing(kit: SamlKit) -> None:
    exc = kit.reject(
        kit.forge(lambda root: find(root, "SubjectConfirmationData").attrib.pop("Recipient"))
    )
    assert "Recipient" in exc.detail


def test_subject_confirmation_data_expired(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("SubjectConfirmationData", "NotOnOrAfter", EARLIER)))
    assert "SubjectConfirmationData expired" in exc.detail


def test_subject_confirmation_data_with_not_before(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("SubjectConfirmationData", "NotBefore", EARLIER)))
    assert "NotBefore" in exc.detail


def test_subject_confirmation_not_bearer(kit: SamlKit) -> None:
    method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
    exc = kit.reject(kit.forge(setter("SubjectConfirmation", "Method", method)))
    assert "bearer" in exc.detail


def test_wrong_issuer(kit: SamlKit) -> None:
    exc = kit.reject(
        kit.forge(lambda root: setattr(find(root, "Issuer"), "text", "https://idp.evil.example"))
    )
    assert "Issuer is not the configured IdP" in exc.detail


def test_issuer_with_trailing_space(kit: SamlKit) -> None:
    kit.reject(kit.forge(lambda root: setattr(find(root, "Issuer"), "text", IDP + " ")))


def test_issue_instant_in_the_future(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(lambda root: root.set("IssueInstant", LATER)))
    assert "IssueInstant" in exc.detail


def test_authn_instant_in_the_future(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("AuthnStatement", "AuthnInstant", LATER)))
    assert "AuthnInstant" in exc.detail


def test_session_not_on_or_after_passed(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(setter("AuthnStatement", "SessionNotOnOrAfter", EARLIER)))
    assert "session expired" in exc.detail


def test_version_not_2_0(kit: SamlKit) -> None:
    exc = kit.reject(kit.forge(lambda root: root.set("Version", "1.1")))
    assert "Version" in exc.detail


def test_two_name_ids(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        subject = find(root, "Subject")
        extra = etree.Element(q("NameID"))
        extra.text = "admin@acme.example"
        subject.insert(0, extra)

    exc = kit.reject(kit.forge(mutate))
    assert "one NameID" in exc.detail


def test_name_id_with_child_element(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        etree.SubElement(find(root, "NameID"), q("Extra")).tail = ".evil.example"

    kit.reject(kit.forge(mutate))


def test_repeated_attribute(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        statement = find(root, "AttributeStatement")
        attr = etree.SubElement(statement, q("Attribute"), Name="email")
        etree.SubElement(attr, q("AttributeValue")).text = "admin@acme.example"

    exc = kit.reject(kit.forge(mutate))
    assert "repeated Attribute" in exc.detail


def test_two_email_values(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        attr = find(root, "AttributeStatement")[0]
        etree.SubElement(attr, q("AttributeValue")).text = "admin@acme.example"

    exc = kit.reject(kit.forge(mutate))
    assert "email" in exc.detail


def test_replayed_assertion_id(kit: SamlKit) -> None:
    token = encode_subject_token(kit.assertion())
    kit.validator.validate(token, client_id="wiki", now=NOW + 5)
    exc = kit.reject(token, now=NOW + 6)
    assert "already used" in exc.detail


def test_replay_is_shared_across_validator_instances(kit: SamlKit) -> None:
    """Two IdP workers with one store: the second still refuses the ID."""
    token = encode_subject_token(kit.assertion())
    kit.make_validator().validate(token, client_id="wiki", now=NOW + 5)
    kit.reject(token, now=NOW + 6)


def test_rejected_assertion_does_not_burn_its_id(kit: SamlKit) -> None:
    token = encode_subject_token(kit.assertion())
    kit.reject(token, client_id="crm")
    assert kit.validator.validate(token, client_id="wiki", now=NOW + 5)


def test_replay_store_down_fails_closed_with_503(kit: SamlKit) -> None:
    class Down:
        def claim(self, *args: Any, **kwargs: Any) -> str | None:
            raise ReplayStoreUnavailable("down")

    validator = kit.make_validator(replay=Down())
    with pytest.raises(TemporarilyUnavailable) as caught:
        validator.validate(encode_subject_token(kit.assertion()), client_id="wiki", now=NOW + 5)
    assert caught.value.to_response().status == 503


def test_replay_entry_expires_with_the_assertion(kit: SamlKit) -> None:
    token = encode_subject_token(kit.assertion())
    kit.validator.validate(token, client_id="wiki", now=NOW + 5)
    ((key, (holder, expires_at)),) = kit.replay._entries.items()
    assert key[1] == IDP and holder == "wiki"
    assert expires_at == NOW + 300 + SKEW


def test_one_client_with_two_sps(kit: SamlKit) -> None:
    validator = kit.make_validator(
        service_providers=[
            SamlServiceProvider(WIKI_SP, "wiki", frozenset({WIKI_ACS})),
            SamlServiceProvider(CRM_SP, "wiki", frozenset({CRM_ACS})),
        ]
    )
    xml = kit.assertion(audience=CRM_SP, recipient=CRM_ACS)
    assert validator.validate(encode_subject_token(xml), client_id="wiki", now=NOW + 5)


@pytest.mark.parametrize(
    "overrides",
    [
        {"idp_entity_id": ""},
        {"clock_skew": -1},
        {"clock_skew": 3600},
        {"service_providers": [SamlServiceProvider(WIKI_SP, "wiki", frozenset())]},
        {
            "service_providers": [
                SamlServiceProvider(WIKI_SP, "wiki", frozenset({WIKI_ACS})),
                SamlServiceProvider(WIKI_SP, "crm", frozenset({CRM_ACS})),
            ]
        },
    ],
)
def test_validator_refuses_to_start_misconfigured(kit: SamlKit, overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        kit.make_validator(**overrides)


def test_bearer_subject_confirmation_data_with_content(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        etree.SubElement(find(root, "SubjectConfirmationData"), "{urn:x}KeyInfo")

    exc = kit.reject(kit.forge(mutate))
    assert "must be empty" in exc.detail


def test_empty_audience_restriction(kit: SamlKit) -> None:
    def mutate(root: Any) -> None:
        restriction = find(root, "AudienceRestriction")
        restriction.remove(restriction[0])

    exc = kit.reject(kit.forge(mutate))
    assert "only Audience" in exc.detail


def test_name_id_in_wrong_namespace(kit: SamlKit) -> None:
    kit.reject(kit.forge(lambda root: setattr(find(root, "NameID"), "tag", "{urn:x}NameID")))
