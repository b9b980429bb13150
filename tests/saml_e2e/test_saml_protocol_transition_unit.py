"""The library alone (sans-I/O, no reference IdP): ``SamlSubjectValidator`` and
``ProtocolTransition`` wired into ``TokenExchangeEndpoint`` (draft §4.5)."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.idp.idp_support import API, AS, POLICY, Clients, Directory, RefreshTokens
from tests.saml.saml_kit import ALICE, NOW, SamlKit
from xaa import (
    KeyRing,
    MemoryAuditSink,
    OAuthError,
    RegisteredClient,
    ReplayStoreUnavailable,
    SigningKey,
    basic_header,
    encode_form,
    parse_form,
    spec,
)
from xaa.adapters.saml import encode_subject_token
from xaa.idp import (
    ExchangePolicy,
    IssuedRefreshToken,
    NameIdMap,
    ProtocolTransition,
    RefreshGrant,
    SamlSubjectValidator,
    Subject,
    TokenExchangeEndpoint,
)
from xaa.idp._protocol_transition import OIDC_SCOPES, REQUIRED_SCOPES
from xaa.stores import MemoryReplayStore

IDP = "https://idp.example"
NAME_ID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


class Issuer:
    """A ``RefreshTokenIssuer`` over the in-memory ``RefreshTokenStore`` of the idp tests."""

    def __init__(self, store: RefreshTokens) -> None:
        self.store = store

    def issue_refresh_token(
        self, *, client_id: str, subject: Subject, scopes: frozenset[str], now: float
    ) -> IssuedRefreshToken:
        grant = RefreshGrant(
            client_id, subject.sub, now + 3600, auth_time=subject.auth_time, acr=subject.acr
        )
        return IssuedRefreshToken(self.store.add(secrets.token_urlsafe(16), grant), 3600)


def endpoint(kit: SamlKit, *, transition: bool = True, replay: Any = None) -> TokenExchangeEndpoint:
    refresh = RefreshTokens()
    verifier = kit.validator if replay is None else kit.make_validator(replay=replay)
    saml = SamlSubjectValidator(verifier, NameIdMap({ALICE: "alice"}, NAME_ID_EMAIL))
    return TokenExchangeEndpoint(
        issuer=IDP,
        keys=KeyRing.single(SigningKey.generate("ES256", kid="idp-1")),
        clients=Clients([RegisteredClient.with_secret("wiki", "wiki-secret")]),
        replay=MemoryReplayStore(),
        policy=ExchangePolicy.from_config(POLICY),
        audit=MemoryAuditSink(),
        directory=Directory(),
        refresh_tokens=refresh,
        subject_validators={spec.TOKEN_TYPE_SAML2: saml},
        token_issuers=(
            {spec.TOKEN_TYPE_REFRESH_TOKEN: ProtocolTransition(Issuer(refresh))}
            if transition
            else {}
        ),
    )


def post(ep: TokenExchangeEndpoint, form: dict[str, str], **headers: str) -> Any:
    hdrs = {"authorization": basic_header("wiki", "wiki-secret"), **headers}
    return ep.handle(hdrs, encode_form(form), now=NOW + 5)


def saml_form(kit: SamlKit, scope: str = "openid offline_access") -> dict[str, str]:
    return {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
        "scope": scope,
        "subject_token": encode_subject_token(kit.assertion()),
        "subject_token_type": spec.TOKEN_TYPE_SAML2,
    }


@pytest.fixture(scope="module")
def kit() -> SamlKit:
    return SamlKit()


def test_saml_refresh_token_then_id_jag(kit: SamlKit) -> None:
    ep = endpoint(kit)
    status, headers, body = post(ep, saml_form(kit))
    assert status == 200 and headers["cache-control"] == "no-store"
    refresh = json.loads(body)
    assert refresh["issued_token_type"] == spec.TOKEN_TYPE_REFRESH_TOKEN
    form = {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
        "audience": AS,
        "resource": API,
        "scope": "chat.read",
        "subject_token": refresh["access_token"],
        "subject_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
    }
    status, _, body = post(ep, form)
    assert status == 200, body
    from xaa.client import decode_id_jag

    claims = decode_id_jag(json.loads(body)["access_token"], idp_issuer=IDP, now=NOW + 5)
    assert claims.sub == "alice" and claims.auth_time == int(NOW)
    assert claims.acr == "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    events = [e for e in ep.audit.events if e.decision == "issued"]  # type: ignore[attr-defined]
    assert [e.event for e in events] == ["token_exchange.refresh_token", "token_exchange.id_jag"]


def test_without_the_transition_a_refresh_token_is_not_offered(kit: SamlKit) -> None:
    status, _, body = post(endpoint(kit, transition=False), saml_form(kit))
    assert status == 400 and json.loads(body)["error"] == "invalid_request"


def test_dpop_header_without_a_verifier_is_rejected_not_ignored(kit: SamlKit) -> None:
    status, _, body = post(endpoint(kit), saml_form(kit), dpop="eyJ.eyJ.sig")
    assert status == 400 and json.loads(body)["error"] == "invalid_dpop_proof"


def test_replay_store_down_is_503(kit: SamlKit) -> None:
    class Down:
        def claim(self, *args: object, **kwargs: object) -> str | None:
            raise ReplayStoreUnavailable("down")

    status, headers, body = post(endpoint(kit, replay=Down()), saml_form(kit))
    assert status == 503 and headers["cache-control"] == "no-store"
    assert json.loads(body)["error"] == "temporarily_unavailable"


UNIVERSE = sorted(OIDC_SCOPES | {"chat.read", "admin"})


@given(st.sets(st.sampled_from(UNIVERSE)))
def test_scope_rule_property(scopes: set[str]) -> None:
    """Accepted iff ``openid offline_access`` <= scope <= the OIDC scopes (draft §4.5)."""
    transition = ProtocolTransition(Issuer(RefreshTokens()))
    form = parse_form(
        encode_form(
            {
                "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
                "subject_token": "x",
                "subject_token_type": spec.TOKEN_TYPE_SAML2,
                **({"scope": " ".join(sorted(scopes))} if scopes else {}),
            }
        )
    )
    ok = REQUIRED_SCOPES <= scopes <= OIDC_SCOPES
    try:
        request = transition.check_request(form)
    except OAuthError as exc:
        assert not ok and exc.error == "invalid_scope"
    else:
        assert ok and request.scopes == frozenset(scopes)
