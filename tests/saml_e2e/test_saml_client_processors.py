"""RFC 8693 §2.2.1 for the SAML leg of the client: the refresh-token exchange response."""

from __future__ import annotations

import json
from typing import Any

import pytest

from xaa import HttpResponse, InvalidRequest, ProtocolViolation, parse_form, spec
from xaa.client import (
    ClientCredentials,
    process_refresh_token_response,
    saml_refresh_token_request,
    saml_session,
)

GOOD = {
    "access_token": "rt-123",
    "issued_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
    "token_type": "N_A",
    "scope": "openid offline_access",
    "expires_in": 86400,
}


def response(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())


def test_request_is_the_draft_example() -> None:
    request = saml_refresh_token_request(
        "https://idp.example/token",
        ClientCredentials.secret_basic("wiki", "s"),
        idp_issuer="https://idp.example",
        subject_token="PHNhbWw-",
        now=0.0,
    )
    form = parse_form(request.body)
    assert form["grant_type"] == spec.GRANT_TOKEN_EXCHANGE
    assert form["requested_token_type"] == spec.TOKEN_TYPE_REFRESH_TOKEN
    assert form["subject_token_type"] == spec.TOKEN_TYPE_SAML2
    assert set(form["scope"].split()) == {"openid", "offline_access"}
    assert "audience" not in form and request.headers["authorization"].startswith("Basic ")


def test_good_response() -> None:
    assert process_refresh_token_response(response(GOOD)) == "rt-123"


@pytest.mark.parametrize(
    "defect",
    [
        {"issued_token_type": spec.TOKEN_TYPE_ID_JAG},
        {"issued_token_type": None},
        {"token_type": "Bearer"},
        {"token_type": "n_a"},
        {"access_token": ""},
        {"access_token": None},
        {"error": "invalid_request"},
    ],
)
def test_bad_response_is_a_protocol_violation(defect: dict[str, Any]) -> None:
    body = {k: v for k, v in {**GOOD, **defect}.items() if v is not None}
    with pytest.raises(ProtocolViolation):
        process_refresh_token_response(response(body))


def test_error_response_is_raised() -> None:
    with pytest.raises(InvalidRequest):
        process_refresh_token_response(response({"error": "invalid_request"}, 400))


def test_saml_session_names_a_subject_without_reading_the_assertion() -> None:
    session = saml_session("PHNhbWw-")
    assert session.subject and session.subject.startswith("saml ")
    assert session.subject_token_type == spec.TOKEN_TYPE_SAML2
    assert "PHNhbWw-" not in repr(session)
