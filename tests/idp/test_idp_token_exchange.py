"""Draft §4.3.3: the IdP token exchange, each defect alone on the happy path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.idp.idp_support import ALIAS, API, AS, IDP, NOW, Idp
from xaa import (
    AccessTokenClaims,
    Actor,
    HttpResponse,
    IdJagClaims,
    InvalidDpopProof,
    JwkSet,
    RegisteredClient,
    SigningKey,
    basic_header,
    encode_form,
    issue_access_token,
    issue_id_jag,
    make_client_assertion,
    spec,
    verify_id_jag,
)
from xaa._keys import b64url
from xaa.actors import ActorDecision, ValidatedActor
from xaa.idp import GrantLimits, RefreshGrant, TokenExchangeEndpoint, hash_refresh_token


def body(resp: HttpResponse) -> dict[str, Any]:
    return json.loads(resp.body)  # type: ignore[no-any-return]


def assert_error(idp: Idp, resp: HttpResponse, code: str, status: int = 400) -> dict[str, Any]:
    data = body(resp)
    assert resp.status == status, data
    assert data["error"] == code, data
    assert resp.headers["cache-control"] == "no-store"
    assert "access_token" not in data
    last = idp.audit.events[-1]
    assert last.decision == "denied" and last.reason == code and last.jti is None
    return data


def id_jag(idp: Idp, resp: HttpResponse, client_id: str = "wiki-at-chat") -> IdJagClaims:
    data = body(resp)
    assert resp.status == 200, data
    verified = verify_id_jag(
        data["access_token"],
        keys=JwkSet([idp.key.verification_key()]),
        issuer=IDP,
        audience=AS,
        client_id=client_id,
        now=NOW,
        allow_cnf=True,
    )
    assert verified.header["typ"] == spec.TYP_ID_JAG
    return verified.claims


def test_happy_path_issues_an_id_jag_exactly_per_draft_4_3_4(idp: Idp) -> None:
    resp = idp.post()
    data = body(resp)
    assert resp.headers["cache-control"] == "no-store"
    assert data["issued_token_type"] == spec.TOKEN_TYPE_ID_JAG
    assert data["token_type"] == "N_A"
    assert data["expires_in"] == 300
    assert "refresh_token" not in data and "scope" not in data  # granted == requested
    claims = id_jag(idp, resp)
    assert claims.aud == AS and claims.client_id == "wiki-at-chat" and claims.sub == "alice"
    assert claims.scope == "chat.history chat.read" and claims.resource == API
    assert claims.exp - claims.iat == 300 and claims.iat == NOW
    assert (claims.auth_time, claims.acr, claims.amr) == (NOW - 120, "urn:acr:pwd", ["pwd"])
    assert claims.email == "alice@acme.example"
    event = idp.audit.events[-1]
    assert event.decision == "issued" and event.jti == claims.jti
    assert (event.subject, event.client_id, event.audience) == ("alice", "wiki", AS)
    assert event.requested_scope == "chat.read chat.history"
    assert event.granted_scope == "chat.history chat.read"
    assert event.requested_resource == [API] and event.granted_resource == [API]
    assert data["access_token"] not in event.model_dump_json()


def test_every_issue_has_a_fresh_jti(idp: Idp) -> None:
    assert id_jag(idp, idp.post()).jti != id_jag(idp, idp.post()).jti


@pytest.mark.parametrize(
    "missing", ["requested_token_type", "audience", "subject_token", "subject_token_type"]
)
def test_missing_parameter_is_invalid_request(idp: Idp, missing: str) -> None:
    assert_error(idp, idp.post(idp.form(**{missing: None})), "invalid_request")


@pytest.mark.parametrize(
    "token_type",
    [
        spec.TOKEN_TYPE_JWT,
        spec.TOKEN_TYPE_ACCESS_TOKEN,
        spec.TOKEN_TYPE_ID_JAG,
        spec.TOKEN_TYPE_SAML2,  # no SAML validator registered here
        "urn:example:unknown",
    ],
)
def test_unsupported_subject_token_type_is_invalid_request(idp: Idp, token_type: str) -> None:
    assert_error(idp, idp.post(idp.form(subject_token_type=token_type)), "invalid_request")


@pytest.mark.parametrize(
    "requested", [spec.TOKEN_TYPE_ACCESS_TOKEN, spec.TOKEN_TYPE_ID_TOKEN, spec.TOKEN_TYPE_JWT]
)
def test_wrong_requested_token_type_is_invalid_request(idp: Idp, requested: str) -> None:
    assert_error(idp, idp.post(idp.form(requested_token_type=requested)), "invalid_request")


def test_other_grant_type_is_unsupported(idp: Idp) -> None:
    form = idp.form(grant_type=spec.GRANT_JWT_BEARER)
    assert_error(idp, idp.post(form), "unsupported_grant_type")


def test_repeated_parameter_is_invalid_request(idp: Idp) -> None:
    raw = encode_form(idp.form()) + b"&scope=chat.read"
    hdrs = {"authorization": _basic()}
    assert_error(idp, idp.endpoint.handle(hdrs, raw, now=NOW), "invalid_request")


def _basic() -> str:
    return basic_header("wiki", "wiki-secret")


# -- audience, client mapping, resource: invalid_target ------------------------------------


def test_alias_resolves_to_the_as_issuer(idp: Idp) -> None:
    assert id_jag(idp, idp.post(idp.form(audience=ALIAS))).aud == AS


@pytest.mark.parametrize(
    "audience", ["https://unknown.example", AS + "/", "https://CHAT.example", "urn:xaa:test"]
)
def test_unknown_audience_is_invalid_target(idp: Idp, audience: str) -> None:
    assert_error(idp, idp.post(idp.form(audience=audience)), "invalid_target")


def test_no_client_mapping_is_invalid_target(idp: Idp) -> None:
    form = idp.form(audience="https://other.example", resource=None, scope=None)
    assert_error(idp, idp.post(form), "invalid_target")


def test_two_audiences_is_invalid_target(idp: Idp) -> None:
    assert_error(idp, idp.post(idp.form(audience=[AS, ALIAS])), "invalid_target")


@pytest.mark.parametrize(
    "resource", ["https://other.example/api", "https://chat.example/admin", API + "/"]
)
def test_resource_not_granted_is_invalid_target(idp: Idp, resource: str) -> None:
    assert_error(idp, idp.post(idp.form(resource=resource)), "invalid_target")


# -- scope and authorization_details --------------------------------------------------------


def test_scope_is_narrowed_and_returned(idp: Idp) -> None:
    resp = idp.post(idp.form(subject_token=idp.id_token(sub="bob")))
    assert body(resp)["scope"] == "chat.read"
    assert id_jag(idp, resp).scope == "chat.read"


def test_scope_entirely_beyond_policy_is_invalid_scope(idp: Idp) -> None:
    form = idp.form(subject_token=idp.id_token(sub="bob"), scope="chat.write")
    assert_error(idp, idp.post(form), "invalid_scope")


def test_malformed_scope_is_invalid_scope(idp: Idp) -> None:
    assert_error(idp, idp.post(idp.form(scope='chat.read "x"')), "invalid_scope")


def test_reject_mode_refuses_excess_scope(idp: Idp) -> None:
    form = idp.form(scope="chat.read chat.write", resource=None)
    form.update(subject_token=idp.id_token(aud="agent"))
    resp = _agent_post(idp, form)
    assert_error(idp, resp, "invalid_scope", 400)


def test_authorization_details_within_policy_are_granted(idp: Idp) -> None:
    details = [{"type": "chat_read", "actions": ["read"]}]
    resp = idp.post(idp.form(authorization_details=json.dumps(details)))
    assert "authorization_details" not in body(resp)
    claims = id_jag(idp, resp)
    assert [d.model_dump() for d in claims.authorization_details or []] == details


def test_authorization_details_are_narrowed_and_returned(idp: Idp) -> None:
    details = [{"type": "chat_read"}, {"type": "chat_admin"}]
    resp = idp.post(idp.form(authorization_details=json.dumps(details)))
    assert body(resp)["authorization_details"] == [{"type": "chat_read"}]
    assert [d.type for d in id_jag(idp, resp).authorization_details or []] == ["chat_read"]


@pytest.mark.parametrize(
    "raw",
    ["not json", "{}", '[{"actions":[]}]', '[{"type":""}]', '["chat_read"]', "[" * 15000],
)
def test_malformed_authorization_details(idp: Idp, raw: str) -> None:
    resp = idp.post(idp.form(authorization_details=raw))
    assert_error(idp, resp, "invalid_authorization_details")


def test_authorization_details_beyond_policy(idp: Idp) -> None:
    resp = idp.post(idp.form(authorization_details='[{"type":"chat_admin"}]'))
    assert_error(idp, resp, "invalid_authorization_details")


# -- the subject ID token: invalid_request --------------------------------------------------


def _resign(token: str, key: SigningKey, header: dict[str, Any]) -> str:
    _h, p, _ = token.split(".")
    new_h = b64url(json.dumps(header).encode())
    return f"{new_h}.{p}.{b64url(key.sign(f'{new_h}.{p}'.encode()))}"


def test_id_token_signed_by_another_key_with_our_kid(idp: Idp) -> None:
    other = SigningKey.generate("ES256", kid="idp-1")
    form = idp.form(subject_token=idp.id_token(key=other))
    assert_error(idp, idp.post(form), "invalid_request")


def test_id_token_alg_none(idp: Idp) -> None:
    _h, p, _ = idp.id_token().split(".")
    none = b64url(json.dumps({"alg": "none", "kid": "idp-1"}).encode())
    assert_error(idp, idp.post(idp.form(subject_token=f"{none}.{p}.")), "invalid_request")
    assert_error(idp, idp.post(idp.form(subject_token=f"{none}.{p}.AAAA")), "invalid_request")


def test_id_token_hmac_with_the_public_key(idp: Idp) -> None:
    import hashlib
    import hmac

    _, p, _ = idp.id_token().split(".")
    h = b64url(json.dumps({"alg": "HS256", "kid": "idp-1", "typ": "JWT"}).encode())
    secret = json.dumps(idp.key.public_jwk()).encode()
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    form = idp.form(subject_token=f"{h}.{p}.{b64url(sig)}")
    assert_error(idp, idp.post(form), "invalid_request")


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": NOW - 31, "iat": NOW - 600},
        {"iss": "https://evil.example"},
        {"iss": IDP + "/"},
        {"aud": "agent"},
        {"aud": ["agent", "wiki"], "azp": "agent"},
        {"aud": ["agent", "wiki"]},
        {"iat": NOW + 600, "exp": NOW + 900},
    ],
    ids=["expired", "other-iss", "iss-slash", "aud", "azp", "multi-aud-no-azp", "future"],
)
def test_id_token_claim_defects(idp: Idp, changes: dict[str, Any]) -> None:
    form = idp.form(subject_token=idp.id_token(**changes))
    assert_error(idp, idp.post(form), "invalid_request")


def test_id_token_with_azp_and_several_audiences_is_accepted(idp: Idp) -> None:
    form = idp.form(subject_token=idp.id_token(aud=["wiki", "other"], azp="wiki"))
    assert id_jag(idp, idp.post(form)).sub == "alice"


@pytest.mark.parametrize("typ", ["at+jwt", "oauth-id-jag+jwt", "dpop+jwt", "logout+jwt"])
def test_token_type_confusion_by_typ(idp: Idp, typ: str) -> None:
    token = _resign(idp.id_token(), idp.key, {"typ": typ, "alg": "ES256", "kid": "idp-1"})
    assert_error(idp, idp.post(idp.form(subject_token=token)), "invalid_request")


def test_access_token_labelled_id_token(idp: Idp) -> None:
    at = AccessTokenClaims(
        iss=IDP, sub="alice", aud="wiki", client_id="wiki", jti="j", exp=NOW + 60, iat=NOW
    )
    form = idp.form(subject_token=issue_access_token(at, idp.key))
    assert_error(idp, idp.post(form), "invalid_request")


def test_own_id_jag_labelled_id_token(idp: Idp) -> None:
    claims = IdJagClaims.new(
        issuer=IDP, subject="alice", audience="wiki", client_id="wiki", now=NOW
    )
    form = idp.form(subject_token=issue_id_jag(claims, idp.key))
    assert_error(idp, idp.post(form), "invalid_request")


def test_unknown_subject_is_invalid_request(idp: Idp) -> None:
    form = idp.form(subject_token=idp.id_token(sub="mallory"))
    assert_error(idp, idp.post(form), "invalid_request")


def test_current_profile_wins_over_the_id_token(idp: Idp) -> None:
    form = idp.form(subject_token=idp.id_token(email="old@acme.example"))
    assert id_jag(idp, idp.post(form)).email == "alice@acme.example"


# -- refresh token subject ------------------------------------------------------------------


def _refresh(idp: Idp, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "client_id": "wiki",
        "sub": "alice",
        "expires_at": NOW + 3600,
        "auth_time": NOW - 100,
        "acr": "urn:acr:pwd",
        "amr": ("pwd",),
    }
    values.update(changes)
    token = idp.refresh.add(f"rt-{len(idp.refresh.grants)}", RefreshGrant(**values))
    return idp.form(subject_token=token, subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)


def test_refresh_token_subject_issues(idp: Idp) -> None:
    claims = id_jag(idp, idp.post(_refresh(idp)))
    assert claims.sub == "alice" and claims.email == "alice@acme.example"
    assert claims.auth_time == NOW - 100


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "poster"},
        {"revoked": True},
        {"expires_at": NOW},
        {"limits": GrantLimits(audiences=frozenset({"https://other.example"}))},
        {"limits": GrantLimits(scopes=frozenset({"chat.read"}))},
    ],
    ids=["other-client", "revoked", "expired", "audience-beyond", "scope-beyond"],
)
def test_refresh_token_defects(idp: Idp, changes: dict[str, Any]) -> None:
    assert_error(idp, idp.post(_refresh(idp, **changes)), "invalid_request")


def test_rotated_refresh_token_subject_revokes_its_family(idp: Idp) -> None:
    form = _refresh(idp, revoked=True, rotated=True)
    assert_error(idp, idp.post(form), "invalid_request")
    assert idp.refresh.revoked_families == [hash_refresh_token(form["subject_token"])]
    assert idp.audit.events[-1].decision == "denied"


def test_revoked_refresh_token_subject_revokes_nothing_more(idp: Idp) -> None:
    assert_error(idp, idp.post(_refresh(idp, revoked=True)), "invalid_request")
    assert idp.refresh.revoked_families == []


def test_refresh_token_within_limits(idp: Idp) -> None:
    limits = GrantLimits(audiences=frozenset({AS}), scopes=frozenset({"chat.read", "chat.history"}))
    assert id_jag(idp, idp.post(_refresh(idp, limits=limits))).scope == "chat.history chat.read"


def test_unknown_refresh_token(idp: Idp) -> None:
    form = idp.form(subject_token="nope", subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)
    assert_error(idp, idp.post(form), "invalid_request")


# -- authentication context ----------------------------------------------------------------


def _strict(idp: Idp, **changes: Any) -> dict[str, Any]:
    return idp.form(
        audience="https://strict.example",
        resource=None,
        scope="s.read",
        subject_token=idp.id_token(**changes),
    )


def test_auth_context_below_policy(idp: Idp) -> None:
    data = assert_error(idp, idp.post(_strict(idp)), "insufficient_user_authentication")
    assert data["max_age"] == 600 and data["acr_values"] == "urn:acr:mfa"


@pytest.mark.parametrize(
    "changes",
    [
        {"acr": "urn:acr:mfa", "amr": ["pwd"]},
        {"acr": "urn:acr:mfa", "amr": ["mfa"], "auth_time": NOW - 601},
        {"acr": "urn:acr:mfa", "amr": ["mfa"], "auth_time": None},
        {"acr": None, "amr": ["mfa"]},
    ],
    ids=["amr", "too-old", "no-auth-time", "no-acr"],
)
def test_auth_context_each_shortfall(idp: Idp, changes: dict[str, Any]) -> None:
    resp = idp.post(_strict(idp, **changes))
    assert_error(idp, resp, "insufficient_user_authentication")


def test_auth_context_met(idp: Idp) -> None:
    form = _strict(idp, acr="urn:acr:mfa", amr=["mfa", "hwk"], auth_time=NOW - 600)
    data = body(idp.post(form))
    assert data["token_type"] == "N_A"


# -- client authentication: invalid_client (401) --------------------------------------------


def test_no_client_authentication(idp: Idp) -> None:
    assert_error(idp, idp.post(client="none"), "invalid_client", 401)


def test_public_client_with_client_id_only(idp: Idp) -> None:
    resp = idp.post(idp.form(client_id="wiki"), client="none")
    assert_error(idp, resp, "invalid_client", 401)


def test_wrong_secret_with_basic_challenge(idp: Idp) -> None:
    resp = idp.post(headers={"authorization": basic_header("wiki", "nope")})
    assert_error(idp, resp, "invalid_client", 401)
    assert resp.headers["www-authenticate"].startswith("Basic")


def test_two_client_authentication_methods(idp: Idp) -> None:
    resp = idp.post(idp.form(client_id="wiki", client_secret="wiki-secret"))
    assert_error(idp, resp, "invalid_client", 401)


def test_suspended_client_is_denied_at_once(idp: Idp) -> None:
    assert idp.post().status == 200
    idp.clients.by_id["wiki"] = RegisteredClient.with_secret("wiki", "wiki-secret", active=False)
    assert_error(idp, idp.post(), "invalid_client", 401)


def test_client_secret_post(idp: Idp) -> None:
    form = idp.form(subject_token=idp.id_token(aud="poster"), resource=None, scope="chat.read")
    assert id_jag(idp, idp.post(form, client="poster"), "poster-at-chat").scope == "chat.read"


def _agent_post(
    idp: Idp, form: dict[str, Any], assertion: str | None = None, now: float = NOW
) -> HttpResponse:
    form = dict(form)
    form["client_assertion_type"] = spec.CLIENT_ASSERTION_TYPE_JWT_BEARER
    form["client_assertion"] = assertion or make_client_assertion(
        "agent", idp.agent_key, audience=IDP, now=now
    )
    return idp.post(form, client="none", now=now)


def _agent_form(idp: Idp) -> dict[str, Any]:
    return idp.form(subject_token=idp.id_token(aud="agent"), resource=None, scope="chat.read")


def test_private_key_jwt(idp: Idp) -> None:
    claims = id_jag(idp, _agent_post(idp, _agent_form(idp)), "agent-at-chat")
    assert claims.client_id == "agent-at-chat" and claims.scope == "chat.read"


@pytest.mark.parametrize(
    "audience",
    [IDP + "/token", IDP + "/", "https://chat.example"],
    ids=["token-url", "slash", "as"],
)
def test_private_key_jwt_audience_must_be_the_issuer(idp: Idp, audience: str) -> None:
    assertion = make_client_assertion("agent", idp.agent_key, audience=audience, now=NOW)
    resp = _agent_post(idp, _agent_form(idp), assertion)
    assert_error(idp, resp, "invalid_client", 401)


def test_private_key_jwt_replayed_jti(idp: Idp) -> None:
    assertion = make_client_assertion("agent", idp.agent_key, audience=IDP, now=NOW)
    assert _agent_post(idp, _agent_form(idp), assertion).status == 200
    assert_error(idp, _agent_post(idp, _agent_form(idp), assertion), "invalid_client", 401)


def test_private_key_jwt_expired(idp: Idp) -> None:
    assertion = make_client_assertion("agent", idp.agent_key, audience=IDP, now=NOW - 200)
    assert_error(idp, _agent_post(idp, _agent_form(idp), assertion), "invalid_client", 401)


def test_id_jag_as_client_assertion(idp: Idp) -> None:
    claims = IdJagClaims.new(issuer="agent", subject="agent", audience=IDP, client_id="a", now=NOW)
    assertion = issue_id_jag(claims, idp.agent_key)
    assert_error(idp, _agent_post(idp, _agent_form(idp), assertion), "invalid_client", 401)


def test_id_token_as_client_assertion(idp: Idp) -> None:
    assertion = idp.id_token()
    assert_error(idp, _agent_post(idp, _agent_form(idp), assertion), "invalid_client", 401)


# -- seams: DPoP and actor_token are rejected, never ignored --------------------------------


def test_dpop_header_without_verifier_is_rejected(idp: Idp) -> None:
    resp = idp.post(headers={"dpop": "eyJ.x.y", "authorization": _basic()})
    assert_error(idp, resp, "invalid_dpop_proof")


class _Dpop:
    algs = ("ES256",)

    def verify(self, proof: Any, *, method: str, url: str, now: float, **_: Any) -> str:
        if proof != "good":
            raise InvalidDpopProof(detail="bad proof")
        assert (method, url) == ("POST", IDP + "/token")
        return "jkt-of-the-proof-key"


class _Actors:
    def validate_actor(self, token: str, token_type: str, **_: Any) -> ActorDecision:
        actor = ValidatedActor(token, "https://agents.example", token_type, None, None)
        return ActorDecision(actor, Actor(sub=token, iss="https://agents.example"), None)


def _with(idp: Idp, **hooks: Any) -> TokenExchangeEndpoint:
    e = idp.endpoint
    return TokenExchangeEndpoint(
        issuer=e.issuer,
        keys=e.keys,
        clients=e.clients,
        replay=e.replay,
        policy=e.policy,
        audit=e.audit,
        **{"directory": e.directory, **hooks},
    )


def test_dpop_seam_binds_cnf_jkt(idp: Idp) -> None:
    idp.endpoint = _with(idp, dpop=_Dpop())
    claims = id_jag(idp, idp.post(headers={"dpop": "good", "authorization": _basic()}))
    assert claims.cnf is not None and claims.cnf.jkt == "jkt-of-the-proof-key"
    resp = idp.post(headers={"dpop": "bad", "authorization": _basic()})
    assert_error(idp, resp, "invalid_dpop_proof")


def test_actor_token_without_validator_is_rejected(idp: Idp) -> None:
    form = idp.form(actor_token="agent-token", actor_token_type=spec.TOKEN_TYPE_JWT)
    assert_error(idp, idp.post(form), "invalid_request")


def test_actor_token_without_its_type_is_rejected(idp: Idp) -> None:
    assert_error(idp, idp.post(idp.form(actor_token="agent-token")), "invalid_request")


def test_actor_seam_adds_act(idp: Idp) -> None:
    idp.endpoint = _with(idp, actors=_Actors())
    form = idp.form(actor_token="agent-7", actor_token_type=spec.TOKEN_TYPE_JWT)
    claims = id_jag(idp, idp.post(form))
    assert claims.act is not None and claims.act.sub == "agent-7"
    assert idp.audit.events[-1].actors == ["agent-7"]


def test_saml_hook_takes_the_saml2_type(idp: Idp) -> None:
    from xaa.idp import Subject

    class _Saml:
        def validate_subject_token(self, token: str, **_: Any) -> Subject:
            return Subject(sub="alice", token_type=spec.TOKEN_TYPE_SAML2)

    idp.endpoint = _with(idp, subject_validators={spec.TOKEN_TYPE_SAML2: _Saml()})
    form = idp.form(subject_token="PHNhbWw+", subject_token_type=spec.TOKEN_TYPE_SAML2)
    assert id_jag(idp, idp.post(form)).sub == "alice"


def test_lifetime_beyond_maximum_refuses_to_start(idp: Idp) -> None:
    with pytest.raises(ValueError):
        _with(idp, lifetime=600)
    assert _with(idp, lifetime=120).lifetime == 120


def test_without_a_directory_the_id_token_profile_is_used(idp: Idp) -> None:
    idp.endpoint = _with(idp, directory=None)
    form = idp.form(subject_token=idp.id_token(email="token@acme.example"), scope="chat.read")
    claims = id_jag(idp, idp.post(form))
    assert claims.email == "token@acme.example" and claims.scope == "chat.read"


def test_suspended_client_refusal_names_the_attempted_client_in_the_audit(idp: Idp) -> None:
    idp.clients.by_id["wiki"] = RegisteredClient.with_secret("wiki", "wiki-secret", active=False)
    assert_error(idp, idp.post(), "invalid_client", 401)
    event = idp.audit.events[-1]
    assert event.client_id is None  # not authenticated
    assert event.extra["attempted_client_id"] == "wiki"
    assert "wiki-secret" not in event.model_dump_json()


def test_attempted_client_id_of_a_client_assertion_is_audited(idp: Idp) -> None:
    assertion = make_client_assertion("agent", idp.agent_key, audience=IDP, now=NOW - 200)
    assert_error(idp, _agent_post(idp, _agent_form(idp), assertion), "invalid_client", 401)
    assert idp.audit.events[-1].extra["attempted_client_id"] == "agent"


def test_attempted_client_id_is_bounded_and_escaped(idp: Idp) -> None:
    forged = "evil\n2026-01-01 issued client=wiki\x1b[2J" + "x" * 5000
    resp = idp.post(headers={"authorization": basic_header(forged, "nope")})
    assert_error(idp, resp, "invalid_client", 401)
    audited = idp.audit.events[-1].extra["attempted_client_id"]
    assert audited.startswith("evil\\x0a2026-01-01 issued client=wiki\\x1b[2J")
    assert audited.endswith("...") and len(audited) < 200
    assert not any(ord(c) < 0x20 for c in audited)
