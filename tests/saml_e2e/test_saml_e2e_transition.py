"""Draft §4.5 at the token endpoint: SAML -> refresh token, its request rules, the audience
to client mapping MUST, and the refresh token's use as ``subject_token`` for ID-JAGs."""

from __future__ import annotations

import pytest

from tests.saml.saml_kit import CRM_ACS, CRM_SP
from tests.saml_e2e.saml_stack import KitIdp
from xaa import spec
from xaa.adapters.saml import encode_subject_token

pytestmark = pytest.mark.e2e

CHAT = "http://127.0.0.1:9500"


def fresh(idp: KitIdp, **overrides: object) -> str:
    return encode_subject_token(idp.kit.assertion(**overrides))


def refused(response: object, error: str) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == (401 if error == "invalid_client" else 400), response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert "access_token" not in body


def id_jag_request(refresh_token: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
        "audience": CHAT,
        "resource": CHAT + "/api",
        "scope": "chat.read",
        "subject_token": refresh_token,
        "subject_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
        **extra,
    }


def test_response_is_the_draft_example_shape(idp: KitIdp) -> None:
    response = idp.refresh_exchange(fresh(idp), scope="openid offline_access email")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "issued_token_type", "token_type", "scope", "expires_in"}
    assert body["issued_token_type"] == spec.TOKEN_TYPE_REFRESH_TOKEN
    assert body["token_type"] == "N_A"
    assert set(body["scope"].split()) == {"openid", "offline_access", "email"}
    assert body["expires_in"] == 86400  # the demo configuration's refresh token lifetime


def test_refresh_token_yields_id_jags_for_the_assertion_user(idp: KitIdp) -> None:
    refresh = idp.refresh_exchange(fresh(idp)).json()["access_token"]
    for scope in ("chat.read", "chat.read chat.history"):
        response = idp.token(id_jag_request(refresh, scope=scope))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["issued_token_type"] == spec.TOKEN_TYPE_ID_JAG
    # the subject is alice (NameID = her email, mapped to the IdP's user)
    events = [e for e in idp.store.audit_events() if e.event == "token_exchange.id_jag"]
    assert events[-1].subject == "alice" and events[-1].decision == "issued"


def test_audience_mapped_to_the_authenticated_client(idp: KitIdp) -> None:
    """Draft §4.5 MUST: the CRM SP's assertion is the crm client's, not the wiki's."""
    for_crm = fresh(idp, audience=CRM_SP, recipient=CRM_ACS)
    refused(idp.refresh_exchange(for_crm, client="wiki"), "invalid_request")
    assert idp.refresh_exchange(for_crm, client="crm").status_code == 200


def test_wiki_assertion_presented_by_crm(idp: KitIdp) -> None:
    refused(idp.refresh_exchange(fresh(idp), client="crm"), "invalid_request")


def test_refresh_token_of_another_client_is_refused(idp: KitIdp) -> None:
    refresh = idp.refresh_exchange(fresh(idp)).json()["access_token"]
    refused(idp.token(id_jag_request(refresh), client="crm"), "invalid_request")


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        ("openid", "invalid_scope"),
        ("offline_access", "invalid_scope"),
        ("", "invalid_scope"),
        ("openid offline_access chat.read", "invalid_scope"),
    ],
)
def test_scope_rules(idp: KitIdp, scope: str, error: str) -> None:
    response = idp.token(
        {
            "grant_type": spec.GRANT_TOKEN_EXCHANGE,
            "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
            "subject_token": fresh(idp),
            "subject_token_type": spec.TOKEN_TYPE_SAML2,
            **({"scope": scope} if scope else {}),
        }
    )
    refused(response, error)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"audience": CHAT}, "invalid_target"),
        ({"resource": CHAT + "/api"}, "invalid_target"),
        ({"actor_token": "x", "actor_token_type": spec.TOKEN_TYPE_JWT}, "invalid_request"),
        ({"authorization_details": "[]"}, "invalid_request"),
        ({"subject_token_type": spec.TOKEN_TYPE_ID_TOKEN}, "invalid_request"),
        ({"subject_token": ""}, "invalid_request"),
    ],
)
def test_refresh_token_request_rules(idp: KitIdp, extra: dict[str, str], error: str) -> None:
    form = {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
        "scope": "openid offline_access",
        "subject_token": fresh(idp),
        "subject_token_type": spec.TOKEN_TYPE_SAML2,
        **extra,
    }
    before = idp.issued()
    refused(idp.token({k: v for k, v in form.items() if v}), error)
    assert idp.issued() == before


def test_requested_token_type_other_than_id_jag_or_refresh_token(idp: KitIdp) -> None:
    response = idp.refresh_exchange(fresh(idp), requested_token_type=spec.TOKEN_TYPE_ACCESS_TOKEN)
    refused(response, "invalid_request")


def test_unauthenticated_client_is_invalid_client(idp: KitIdp) -> None:
    import httpx

    from xaa import encode_form

    form = {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
        "scope": "openid offline_access",
        "subject_token": fresh(idp),
        "subject_token_type": spec.TOKEN_TYPE_SAML2,
        "client_id": "wiki",
    }
    response = httpx.post(
        idp.url + "/token",
        headers={"content-type": spec.MEDIA_TYPE_FORM},
        content=encode_form(form),
    )
    refused(response, "invalid_client")


def test_unknown_name_id_is_invalid_request(idp: KitIdp) -> None:
    refused(idp.refresh_exchange(fresh(idp, name_id="mallory@acme.example")), "invalid_request")


def test_saml_assertion_straight_for_an_id_jag(idp: KitIdp) -> None:
    """An identity assertion is also accepted directly (draft §4.3)."""
    form = id_jag_request(fresh(idp), subject_token_type=spec.TOKEN_TYPE_SAML2)
    response = idp.token(form)
    assert response.status_code == 200, response.text
    assert response.json()["issued_token_type"] == spec.TOKEN_TYPE_ID_JAG


def test_metadata_lists_saml2(idp: KitIdp) -> None:
    import httpx

    meta = httpx.get(idp.url + spec.WELL_KNOWN_OAUTH_AS).json()
    assert spec.TOKEN_TYPE_SAML2 in meta["subject_token_types_supported"]
