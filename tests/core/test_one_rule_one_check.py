"""One rule, one check: the client's ID-JAG processor and the resource AS's verifier agree
on ``typ``, ``aud`` and ``client_id`` because both call the checks of ``xaa._tokens.ID_JAG``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client.client_support import AS, AS_CLIENT, IDP, IDP_KEY, NOW, id_jag
from xaa import InvalidGrant, JwkSet, ProtocolViolation, verify_id_jag
from xaa.client import check_id_jag_target, decode_id_jag

KEYS = JwkSet([IDP_KEY.verification_key()])


def _server_accepts(token: str) -> bool:
    try:
        verify_id_jag(token, keys=KEYS, issuer=IDP, audience=AS, client_id=AS_CLIENT, now=NOW)
    except InvalidGrant:
        return False
    return True


def _client_accepts(token: str) -> bool:
    try:
        claims = decode_id_jag(token, idp_issuer=IDP, now=NOW)
        check_id_jag_target(claims, audience=AS, client_id=AS_CLIENT)
    except ProtocolViolation:
        return False
    return True


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({}, {}),
        ({"typ": "application/oauth-id-jag+jwt"}, {}),
        ({"typ": "OAUTH-ID-JAG+JWT"}, {}),
        ({"typ": "JWT"}, {}),
        ({"typ": "at+jwt"}, {}),
        ({}, {"aud": [AS]}),
        ({}, {"aud": [AS, "https://other.example"]}),
        ({}, {"aud": AS + "/"}),
        ({}, {"aud": []}),
        ({}, {"client_id": "someone-else"}),
        ({}, {"client_id": AS_CLIENT.upper()}),
    ],
)
def test_client_and_server_apply_the_same_id_jag_claim_checks(
    header: dict[str, Any], claims: dict[str, Any]
) -> None:
    token = id_jag(NOW, header=header or None, **claims)
    assert _client_accepts(token) == _server_accepts(token)
