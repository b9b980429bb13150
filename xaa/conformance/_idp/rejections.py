"""IdP cases that must be refused: request defects, forged or mislabelled subject tokens,
bad client authentication, the IdP's own ID-JAG presented back (draft §4.3.3, §8.1, §8.3)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from xaa import InvalidGrant, SigningKey, spec
from xaa._jose import parse_compact

from .._checks import Answer, expect_basic_challenge, expect_error, expect_token
from .._credentials import wrong_basic
from .._forge import compact, hmac_compact
from .._registry import CaseFailed, CaseSkipped, Level
from .context import IDP, MUST, SHOULD, IdpContext, add_rejection

# -- request defects ---------------------------------------------------------------------------

for _param, _level in (
    (spec.P_REQUESTED_TOKEN_TYPE, SHOULD),
    (spec.P_AUDIENCE, MUST),
    (spec.P_SUBJECT_TOKEN, MUST),
    (spec.P_SUBJECT_TOKEN_TYPE, MUST),
):
    add_rejection(
        f"idp-rejects-missing-{_param.replace('_', '-')}",
        lambda ctx, p=_param: {p: None},
        section="§4.3, RFC 8693 §2.1",
        level=_level,
        risk=f"without {_param} the IdP guesses, and issues something the client did not ask for",
        tags=("request",),
    )
add_rejection(
    "idp-rejects-unknown-subject-token-type",
    lambda ctx: {spec.P_SUBJECT_TOKEN_TYPE: "urn:xaa:conformance:unknown-token-type"},
    section="§4.3.3, RFC 8693 §2.2.2",
    risk="a token is validated by guessing its type: token-type confusion",
    tags=("request", "confusion"),
)
add_rejection(
    "idp-rejects-unknown-requested-token-type",
    lambda ctx: {spec.P_REQUESTED_TOKEN_TYPE: "urn:xaa:conformance:unknown-token-type"},
    section="§4.3, RFC 8693 §2.2.2",
    risk="the IdP issues a token type the client did not ask for",
    tags=("request",),
    error=("invalid_request", "invalid_target"),
)
add_rejection(
    "idp-rejects-unknown-audience",
    lambda ctx: {spec.P_AUDIENCE: "https://unknown-as.xaa.example"},
    section="§4.3.3, RFC 8693 §2.2.2",
    risk="ID-JAGs are minted for any AS an attacker names",
    tags=("request", "aud"),
    error="invalid_target",
)
add_rejection(
    "idp-rejects-two-audiences",
    lambda ctx: {spec.P_AUDIENCE: [ctx.target.audience, "https://unknown-as.xaa.example"]},
    section="§4.3, §3.1",
    risk="one ID-JAG valid at several ASes: one AS can replay it at another",
    tags=("request", "aud"),
    error=("invalid_target", "invalid_request"),
)
add_rejection(
    "idp-rejects-duplicated-subject-token",
    lambda ctx: {spec.P_SUBJECT_TOKEN: [ctx.id_token, ctx.id_token]},
    section="RFC 6749 §3.2",
    risk="parameter pollution: the validated and the used subject token may differ",
    tags=("request",),
)


@IDP.case(
    "idp-rejects-scope-beyond-policy",
    section="§4.3.3, RFC 6749 §3.3",
    level=MUST,
    tags=("negative", "scope"),
    risk="the client obtains any scope it asks for, whatever the IdP's policy",
)
def _scope_beyond(ctx: IdpContext) -> None:
    extra = "xaa.conformance.never-granted"
    scope = " ".join([*(ctx.target.scope or "").split(), extra])
    answer = ctx.post(ctx.params(scope=scope))
    if answer.status == 200:
        token = (answer.json() or {}).get(spec.R_ACCESS_TOKEN)
        claims = parse_compact(token, error=InvalidGrant, max_bytes=65536).payload
        if extra in str(claims.get("scope", "")).split():
            raise CaseFailed("a scope outside any policy was granted in the ID-JAG")
        return
    expect_error(answer, error="invalid_scope")


# -- subject token defects -------------------------------------------------------------------


def _strip_signature(token: str) -> str:
    return token.rpartition(".")[0] + "."


def _flip_signature(token: str) -> str:
    data, _, sig = token.rpartition(".")
    return f"{data}.{sig[::-1]}"


def _alg_none(ctx: IdpContext) -> dict[str, Any]:
    jws = parse_compact(ctx.id_token, error=InvalidGrant)
    forged = compact({**jws.header, "alg": "none"}, jws.payload, None, b"")
    return {spec.P_SUBJECT_TOKEN: forged}


def _hs256(encoding: str) -> Any:
    def make(ctx: IdpContext) -> dict[str, Any]:
        key = ctx.id_token_key()
        secret = (
            key.key.as_pem(private=False)
            if encoding == "pem"
            else json.dumps(key.public_jwk(), separators=(",", ":")).encode()
        )
        jws = parse_compact(ctx.id_token, error=InvalidGrant)
        return {
            spec.P_SUBJECT_TOKEN: hmac_compact({**jws.header, "alg": "HS256"}, jws.payload, secret)
        }

    return make


add_rejection(
    "idp-rejects-id-token-with-bad-signature",
    lambda ctx: {spec.P_SUBJECT_TOKEN: _flip_signature(ctx.id_token)},
    section="§4.3.3, OpenID Connect Core §3.1.3.7",
    risk="a forged ID token buys an ID-JAG for any user",
    tags=("subject-token", "signature"),
)
add_rejection(
    "idp-rejects-id-token-with-signature-stripped",
    lambda ctx: {spec.P_SUBJECT_TOKEN: _strip_signature(ctx.id_token)},
    section="§4.3.3, RFC 7515 §5.2",
    risk="an unsigned ID token buys an ID-JAG for any user",
    tags=("subject-token", "signature"),
)
add_rejection(
    "idp-rejects-id-token-alg-none",
    _alg_none,
    section="§4.3.3, RFC 8725 §3.1",
    risk="an ID token with alg none buys an ID-JAG for any user",
    tags=("subject-token", "alg"),
)
for _enc in ("pem", "jwk"):
    add_rejection(
        f"idp-rejects-id-token-hs256-keyed-with-public-key-{_enc}",
        _hs256(_enc),
        section="§4.3.3, RFC 8725 §2.1",
        risk="algorithm confusion: anyone with the IdP's public key mints subject tokens",
        tags=("subject-token", "alg"),
    )


def _id_jag_as_subject(ctx: IdpContext) -> dict[str, Any]:
    return {spec.P_SUBJECT_TOKEN: ctx.exchange().token}


add_rejection(
    "idp-rejects-id-jag-as-subject-token",
    _id_jag_as_subject,
    section="§4.3.3, RFC 8725 §2.8",
    risk="an ID-JAG (audience: another AS) is re-exchanged as if it were the user's ID token",
    tags=("subject-token", "confusion"),
)
for _label, _type in (
    ("saml2", spec.TOKEN_TYPE_SAML2),
    ("refresh-token", spec.TOKEN_TYPE_REFRESH_TOKEN),
):
    add_rejection(
        f"idp-rejects-id-token-labelled-{_label}",
        lambda ctx, t=_type: {spec.P_SUBJECT_TOKEN_TYPE: t},
        section="§4.3.3, RFC 8693 §3",
        risk="the declared token type is not what is validated: token-type confusion",
        tags=("subject-token", "confusion"),
    )


@IDP.case(
    "idp-rejects-id-token-of-another-client",
    section="§4.3.3",
    level=MUST,
    tags=("negative", "subject-token", "client"),
    risk="any client of the IdP turns another app's ID token into an ID-JAG for itself",
)
def _other_client_token(ctx: IdpContext) -> None:
    if ctx.target.other_client_id_token is None:
        raise CaseSkipped("needs --other-client-id-token FILE")
    ctx.reject(ctx.params(subject_token=ctx.target.other_client_id_token), error="invalid_request")


# -- client authentication -------------------------------------------------------------------


@IDP.case(
    "idp-rejects-unauthenticated-client",
    section="§8.1, RFC 6749 §2.3",
    level=MUST,
    tags=("negative", "client"),
    risk="whoever holds an ID token obtains ID-JAGs without being the client",
)
def _no_auth(ctx: IdpContext) -> None:
    ctx.reject(
        ctx.params(client_id=ctx.target.client.client_id),
        error="invalid_client",
        status=401,
        authenticate=False,
    )


def _reject_wrong_secret(ctx: IdpContext) -> Answer:
    """Basic authentication with a wrong secret (RFC 6749 §2.3.1): 401 ``invalid_client``."""
    header = wrong_basic(ctx.target.client.client_id)
    return ctx.reject(
        ctx.params(), error="invalid_client", status=401, authenticate=False, headers=header
    )


@IDP.case(
    "idp-rejects-wrong-client-secret",
    section="RFC 6749 §2.3.1, §5.2",
    level=MUST,
    tags=("negative", "client"),
    risk="client authentication does not authenticate",
)
def _wrong_secret(ctx: IdpContext) -> None:
    _reject_wrong_secret(ctx)


@IDP.case(
    "idp-sends-basic-challenge-on-invalid-client",
    section="RFC 6749 §5.2",
    level=MUST,
    tags=("negative", "client"),
    risk="Basic clients get a 401 without WWW-Authenticate: HTTP stacks mishandle the failure",
)
def _challenge(ctx: IdpContext) -> None:
    expect_basic_challenge(_reject_wrong_secret(ctx))


@IDP.case(
    "idp-rejects-two-client-authentication-methods",
    section="RFC 6749 §2.3",
    level=MUST,
    tags=("negative", "client"),
    risk="with two credentials the checked client and the bound client may differ",
)
def _two_methods(ctx: IdpContext) -> None:
    form = ctx.params()
    headers = ctx.target.client.apply_two_methods(form, ctx.target.issuer)
    ctx.reject(
        form,
        error=("invalid_client", "invalid_request"),
        status=(400, 401),
        authenticate=False,
        headers=headers,
    )


def _assertion(ctx: IdpContext, *, foreign_key: bool = False, **changes: Any) -> dict[str, Any]:
    client = ctx.target.client
    if client.auth_method != spec.AUTH_PRIVATE_KEY_JWT or client.key is None:
        raise CaseSkipped("the client does not use private_key_jwt")
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": ctx.target.issuer,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 60,
        **changes,
    }
    signer = SigningKey.generate(client.key.alg, kid=client.key.kid) if foreign_key else client.key
    header = {"typ": spec.TYP_CLIENT_ASSERTION, "alg": signer.alg, "kid": signer.kid}
    return {
        "client_assertion_type": spec.CLIENT_ASSERTION_TYPE_JWT_BEARER,
        "client_assertion": compact(header, claims, signer),
    }


def _client_assertion_case(
    case_id: str, make: Any, *, section: str, risk: str, level: Level = MUST
) -> None:
    def check(ctx: IdpContext) -> None:
        ctx.reject(
            {**ctx.params(), **make(ctx)}, error="invalid_client", status=401, authenticate=False
        )

    IDP.add(
        case_id,
        check,
        section=section,
        level=level,
        risk=risk,
        tags=("negative", "client", "private-key-jwt"),
    )


_client_assertion_case(
    "idp-rejects-client-assertion-signed-by-unregistered-key",
    lambda ctx: _assertion(ctx, foreign_key=True),
    section="RFC 7523 §3",
    risk="anyone can authenticate as the client",
)
_client_assertion_case(
    "idp-rejects-expired-client-assertion",
    lambda ctx: _assertion(ctx, iat=int(time.time()) - 900, exp=int(time.time()) - 600),
    section="RFC 7523 §3",
    risk="a leaked client assertion works forever",
)
_client_assertion_case(
    "idp-rejects-client-assertion-for-another-audience",
    lambda ctx: _assertion(ctx, aud="https://other-as.xaa.example"),
    section="RFC 7523 §3, RFC 7523bis",
    risk="an assertion made for another server authenticates the client here",
)
_client_assertion_case(
    "idp-rejects-client-assertion-with-iss-not-sub",
    lambda ctx: _assertion(ctx, sub="xaa-conformance-someone-else"),
    section="RFC 7523 §3",
    risk="the authenticated client is ambiguous",
)


@IDP.case(
    "idp-rejects-reused-client-assertion",
    section="RFC 7523 §3 (jti)",
    level=SHOULD,
    tags=("negative", "client", "private-key-jwt", "replay"),
    risk="a captured client assertion is replayed to authenticate as the client",
)
def _reused_assertion(ctx: IdpContext) -> None:
    auth = _assertion(ctx)
    expect_token(ctx.post({**ctx.params(), **auth}, authenticate=False))
    ctx.reject({**ctx.params(), **auth}, error="invalid_client", status=401, authenticate=False)


@IDP.case(
    "idp-rejects-id-jag-as-client-assertion",
    section="RFC 7523 §3, RFC 8725 §2.8",
    level=MUST,
    tags=("negative", "client", "confusion"),
    risk="an ID-JAG (signed by the IdP) authenticates as a client",
)
def _id_jag_assertion(ctx: IdpContext) -> None:
    form = ctx.params()
    form.update(
        client_assertion_type=spec.CLIENT_ASSERTION_TYPE_JWT_BEARER,
        client_assertion=ctx.exchange().token,
    )
    ctx.reject(form, error="invalid_client", status=401, authenticate=False)


# -- cross-domain ------------------------------------------------------------------------------


@IDP.case(
    "idp-never-issues-access-token-for-own-id-jag",
    section="§8.3",
    level=MUST,
    tags=("negative", "confusion"),
    risk="the IdP redeems its own cross-domain grant: the ID-JAG becomes a key to the IdP",
)
def _own_id_jag(ctx: IdpContext) -> None:
    token = ctx.exchange().token
    answer = ctx.post({spec.P_GRANT_TYPE: spec.GRANT_JWT_BEARER, spec.P_ASSERTION: token})
    expect_error(
        answer,
        error=("unsupported_grant_type", "invalid_grant", "unauthorized_client", "invalid_request"),
        secrets=[token],
    )
