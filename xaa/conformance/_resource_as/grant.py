"""Resource-AS cases about the claims and the grant: iss, aud, time, replay, client
binding, scope, resource, cnf, token-type confusion and metadata (draft §3.1, §4.4.1, §7.2, §8)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from xaa import SigningKey, spec
from xaa._forms import basic_header
from xaa._keys import b64url

from .._checks import (
    expect_basic_challenge,
    expect_error,
    expect_issuer,
    expect_listed,
    expect_no_store,
    expect_public_jwks,
    expect_token,
    fetch_json,
)
from .._credentials import wrong_basic
from .._forge import DROP, compact
from .._registry import CaseFailed, CaseSkipped
from .context import (
    BCP,
    MUST,
    RESOURCE_AS,
    SHOULD,
    Make,
    ResourceAsContext,
    add_rejection,
    with_claim,
)

# -- claims ----------------------------------------------------------------------------------

for _name in spec.ID_JAG_REQUIRED_CLAIMS:
    add_rejection(
        f"ras-rejects-missing-{_name.replace('_', '-')}",
        with_claim(_name, lambda ctx: DROP),
        section="§3.1, RFC 7523 §3",
        risk=f"an ID-JAG without {_name} is accepted: a check that depends on it is skipped",
        tags=("claims",),
    )
_MISTYPED: list[tuple[str, Callable[[ResourceAsContext], Any], str]] = [
    ("exp", lambda ctx: str(int(time.time()) + 60), "exp-as-string"),
    ("iat", lambda ctx: str(int(time.time())), "iat-as-string"),
    ("sub", lambda ctx: 12345, "sub-as-number"),
    ("client_id", lambda ctx: [ctx.target.client_id], "client-id-as-array"),
    ("iss", lambda ctx: [ctx.idp.url], "iss-as-array"),
    ("jti", lambda ctx: "", "empty-jti"),
]
for _name, _value, _desc in _MISTYPED:
    add_rejection(
        f"ras-rejects-{_desc}",
        with_claim(_name, _value),
        section="§3.1, RFC 7519 §4.1",
        level=SHOULD,
        risk="type confusion in claims lets a check compare the wrong thing",
        tags=("claims",),
    )

# -- iss -----------------------------------------------------------------------------------------

_NEAR_ISSUERS: list[tuple[str, Callable[[ResourceAsContext], Any]]] = [
    ("untrusted-iss", lambda ctx: "https://untrusted-idp.xaa.example"),
    ("iss-with-trailing-slash", lambda ctx: ctx.idp.url + "/"),
    ("iss-with-extra-path", lambda ctx: ctx.idp.url + "/evil"),
    ("iss-in-upper-case", lambda ctx: ctx.idp.url.upper()),
]
for _name, _iss in _NEAR_ISSUERS:
    add_rejection(
        f"ras-rejects-{_name}",
        with_claim("iss", _iss),
        section="§4.4.1, RFC 7523 §3, RFC 8414 §2",
        risk="an issuer that is only similar to a trusted IdP is trusted",
        tags=("iss",),
    )

# -- aud -----------------------------------------------------------------------------------------

_AUDIENCES: list[tuple[str, Callable[[ResourceAsContext], Any], str]] = [
    (
        "aud-of-another-as",
        lambda ctx: "https://other-as.xaa.example",
        "an ID-JAG minted for another AS is redeemed here",
    ),
    (
        "aud-array-with-two-values",
        lambda ctx: [ctx.target.issuer, "https://other-as.xaa.example"],
        "one ID-JAG is redeemable at two ASes: the other AS can replay it here",
    ),
    (
        "aud-token-endpoint-url",
        lambda ctx: ctx.token_endpoint,
        "aud is not compared exactly with the issuer identifier",
    ),
    (
        "aud-with-trailing-slash",
        lambda ctx: ctx.target.issuer + "/",
        "aud is normalised before comparison: near-miss audiences are accepted",
    ),
    ("empty-aud-array", lambda ctx: [], "an empty aud binds the token to no AS"),
]
for _name, _aud, _risk in _AUDIENCES:
    add_rejection(
        f"ras-rejects-{_name}",
        with_claim("aud", _aud),
        section="§4.4.1, RFC 7523 §3",
        risk=_risk,
        tags=("aud",),
    )

# -- time ---------------------------------------------------------------------------------------


def _at(**offsets: int) -> Make:
    def make(ctx: ResourceAsContext) -> str:
        now = int(time.time())
        return ctx.jag(claims={name: now + delta for name, delta in offsets.items()})

    return make


add_rejection(
    "ras-rejects-expired-id-jag",
    _at(iat=-900, exp=-600),
    section="RFC 7523 §3, RFC 7519 §4.1.4",
    risk="a leaked ID-JAG stays usable after it expired",
    tags=("time",),
)
add_rejection(
    "ras-rejects-nbf-in-the-future",
    _at(nbf=600, exp=900),
    section="RFC 7519 §4.1.5",
    risk="a token not yet valid is accepted",
    tags=("time",),
)
add_rejection(
    "ras-rejects-iat-in-the-future",
    _at(iat=600, exp=900),
    section="RFC 7523 §3",
    level=SHOULD,
    risk="tokens dated in the future extend their own usable life",
    tags=("time",),
)
add_rejection(
    "ras-rejects-exp-before-iat",
    _at(iat=60, exp=-1),
    section="RFC 7523 §3",
    level=SHOULD,
    risk="inconsistent time claims are not noticed",
    tags=("time",),
)
add_rejection(
    "ras-rejects-lifetime-of-a-day",
    _at(iat=0, exp=86400),
    section="§3.1 (short-lived), RFC 7523 §3",
    level=BCP,
    risk="a long-lived ID-JAG is a bearer credential that outlives the IdP's decision",
    tags=("time",),
)

# -- replay and client binding ---------------------------------------------------------------


@RESOURCE_AS.case(
    "ras-rejects-replayed-id-jag",
    section="RFC 7523 §3 (jti), RFC 7521 §5.2",
    level=SHOULD,
    tags=("negative", "replay"),
    risk="a captured ID-JAG is redeemed again for a fresh access token",
)
def _replay(ctx: ResourceAsContext) -> None:
    jag = ctx.jag()
    expect_token(ctx.redeem(jag))
    answer = ctx.redeem(jag)
    if answer.status == 200:
        raise CaseFailed("the same ID-JAG was redeemed twice")
    expect_error(answer, error="invalid_grant", secrets=[jag])


@RESOURCE_AS.case(
    "ras-rejects-request-without-client-authentication",
    section="§8.1, RFC 6749 §3.2.1",
    level=MUST,
    tags=("negative", "client"),
    risk="a stolen ID-JAG is redeemed by whoever holds it",
)
def _no_client_auth(ctx: ResourceAsContext) -> None:
    jag = ctx.jag()
    answer = ctx.post({"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag}, authenticate=False)
    expect_error(answer, error="invalid_client", status=401, secrets=[jag])


@RESOURCE_AS.case(
    "ras-rejects-wrong-client-secret",
    section="RFC 6749 §2.3.1, §5.2",
    level=MUST,
    tags=("negative", "client"),
    risk="client authentication does not authenticate",
)
def _wrong_secret(ctx: ResourceAsContext) -> None:
    if ctx.target.client.auth_method == spec.AUTH_PRIVATE_KEY_JWT:
        raise CaseSkipped("the client uses private_key_jwt")
    jag = ctx.jag()
    wrong = "wrong-" + secrets.token_urlsafe(12)
    form = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag}
    if ctx.target.client.auth_method == spec.AUTH_CLIENT_SECRET_POST:
        form.update(client_id=ctx.target.client_id, client_secret=wrong)
        answer = ctx.post(form, authenticate=False)
    else:
        header = {"authorization": basic_header(ctx.target.client_id, wrong)}
        answer = ctx.post(form, authenticate=False, headers=header)
    expect_error(answer, error="invalid_client", status=401, secrets=[jag, wrong])


@RESOURCE_AS.case(
    "ras-sends-basic-challenge-on-invalid-client",
    section="RFC 6749 §5.2",
    level=MUST,
    tags=("negative", "client"),
    risk="Basic clients get a 401 without WWW-Authenticate: HTTP stacks mishandle the failure",
)
def _basic_challenge(ctx: ResourceAsContext) -> None:
    form = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": ctx.jag()}
    answer = ctx.post(form, authenticate=False, headers=wrong_basic(ctx.target.client_id))
    expect_error(answer, error="invalid_client", status=401)
    expect_basic_challenge(answer)


@RESOURCE_AS.case(
    "ras-rejects-two-client-authentication-methods",
    section="RFC 6749 §2.3",
    level=MUST,
    tags=("negative", "client"),
    risk="with two credentials the checked client and the bound client may differ",
)
def _two_methods(ctx: ResourceAsContext) -> None:
    jag = ctx.jag()
    form: dict[str, str | list[str]] = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag}
    headers = ctx.target.client.apply_two_methods(form, ctx.target.issuer)
    answer = ctx.post(form, authenticate=False, headers=headers)
    expect_error(
        answer, error=("invalid_client", "invalid_request"), status=(400, 401), secrets=[jag]
    )


add_rejection(
    "ras-rejects-client-id-claim-of-another-client",
    lambda ctx: ctx.jag(client_id="xaa-conformance-other-client"),
    section="§4.4.1",
    risk="client A redeems an ID-JAG issued to client B: the IdP's client decision is bypassed",
    tags=("client",),
)

# -- scope, resource, cnf -----------------------------------------------------------------------


NEVER_GRANTED = "xaa.conformance.never-granted"


@RESOURCE_AS.case(
    "ras-rejects-scope-beyond-id-jag",
    section="§4.4.1, RFC 6749 §3.3",
    level=MUST,
    tags=("negative", "scope"),
    risk="the client escalates beyond what the IdP granted by asking the AS directly",
)
def _scope_beyond(ctx: ResourceAsContext) -> None:
    # With two configured scopes the extra one is served here, so only the subset check
    # (not "unknown scope") can refuse it; else a scope nobody serves.
    scopes = (ctx.target.scope or "").split()
    granted, extra = (scopes[0], scopes[1]) if len(scopes) > 1 else (None, NEVER_GRANTED)
    jag = ctx.jag(scope=granted) if granted else ctx.jag()
    answer = ctx.redeem(jag, scope=extra)
    if answer.status == 200:
        if extra in str((answer.json() or {}).get("scope", "")).split():
            raise CaseFailed("a scope absent from the ID-JAG was granted")
        raise CaseFailed("a scope absent from the ID-JAG was requested and a token issued")
    expect_error(answer, error="invalid_scope", secrets=[jag])


add_rejection(
    "ras-rejects-resource-not-served",
    lambda ctx: ctx.jag(resource="https://unserved.xaa.example/api"),
    section="§4.4.1, RFC 8707 §2",
    level=SHOULD,
    risk="a token is issued for a resource this AS does not protect",
    tags=("resource",),
    error=("invalid_target", "invalid_grant"),
)


@RESOURCE_AS.case(
    "ras-rejects-requested-resource-not-in-id-jag",
    section="§4.4.1, RFC 8707 §2.2",
    level=MUST,
    tags=("negative", "resource"),
    risk="the client widens the audience of its token beyond what the IdP granted",
)
def _resource_param(ctx: ResourceAsContext) -> None:
    jag = ctx.jag()
    answer = ctx.redeem(jag, resource="https://unserved.xaa.example/api")
    expect_error(answer, error="invalid_target", secrets=[jag])


add_rejection(
    "ras-rejects-cnf-without-dpop-proof",
    lambda ctx: ctx.jag(cnf={"jkt": b64url(secrets.token_bytes(32))}),
    section="§8.6.1.2",
    risk="a sender-constrained ID-JAG is redeemed by a thief without the key",
    tags=("dpop",),
)


@RESOURCE_AS.case(
    "ras-rejects-cnf-with-dpop-proof-of-another-key",
    section="§8.6.1.2, RFC 9449 §4.3",
    level=MUST,
    tags=("negative", "dpop"),
    risk="a thief with its own DPoP key redeems an ID-JAG bound to the client's key",
)
def _cnf_other_key(ctx: ResourceAsContext) -> None:
    bound, thief = SigningKey.generate(), SigningKey.generate()
    jag = ctx.jag(cnf={"jkt": bound.thumbprint()})
    header = {"typ": spec.TYP_DPOP, "alg": thief.alg, "jwk": thief.public_jwk()}
    claims = {"jti": secrets.token_urlsafe(12), "htm": "POST", "htu": ctx.token_endpoint,
              "iat": int(time.time())}  # fmt: skip
    proof = compact(header, claims, thief)
    form = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag}
    answer = ctx.post(form, headers={"dpop": proof})
    expect_error(answer, error=("invalid_grant", "invalid_dpop_proof"), secrets=[jag])


# -- token-type confusion ----------------------------------------------------------------------


def _id_token(ctx: ResourceAsContext) -> str:
    claims = ctx.claims(aud=ctx.target.client_id, client_id=DROP, azp=ctx.target.client_id)
    key = ctx.idp.key
    return compact({"typ": "JWT", "alg": key.alg, "kid": key.kid}, claims, key)


def _access_token(ctx: ResourceAsContext) -> str:
    key = ctx.idp.key
    claims = ctx.claims(aud=ctx.target.resource or ctx.target.issuer)
    return compact({"typ": "at+jwt", "alg": key.alg, "kid": key.kid}, claims, key)


add_rejection(
    "ras-rejects-id-token-as-assertion",
    _id_token,
    section="§3, RFC 8725 §2.8, §3.11",
    risk="an SSO ID token (which every RP holds) is redeemed as a grant",
    tags=("typ", "confusion"),
)
add_rejection(
    "ras-rejects-access-token-as-assertion",
    _access_token,
    section="§3, RFC 8725 §2.8, §3.11",
    risk="an access token of the IdP is redeemed as a grant",
    tags=("typ", "confusion"),
)

# -- metadata ----------------------------------------------------------------------------------


@RESOURCE_AS.case(
    "ras-metadata-issuer-matches",
    section="RFC 8414 §3.3",
    level=MUST,
    tags=("metadata",),
    risk="clients cannot bind the metadata to the AS: mix-up attacks",
)
def _metadata_issuer(ctx: ResourceAsContext) -> None:
    expect_issuer(ctx.metadata, ctx.target.issuer)


@RESOURCE_AS.case(
    "ras-metadata-id-jag-profile-lists-jwt-bearer",
    section="§7.2",
    level=MUST,
    tags=("metadata",),
    risk="clients are told to use a grant the token endpoint does not accept",
)
def _profile_needs_grant(ctx: ResourceAsContext) -> None:
    profiles = ctx.metadata.get(spec.M_AUTHORIZATION_GRANT_PROFILES_SUPPORTED) or []
    grants = ctx.metadata.get(spec.M_GRANT_TYPES_SUPPORTED) or []
    if spec.GRANT_PROFILE_ID_JAG in profiles and spec.GRANT_JWT_BEARER not in grants:
        raise CaseFailed("id-jag profile advertised without the jwt-bearer grant type")


@RESOURCE_AS.case(
    "ras-metadata-advertises-id-jag-profile",
    section="§7.2",
    level=SHOULD,
    tags=("metadata",),
    risk="clients cannot discover that this AS accepts ID-JAGs",
)
def _profile_advertised(ctx: ResourceAsContext) -> None:
    member, profile = spec.M_AUTHORIZATION_GRANT_PROFILES_SUPPORTED, spec.GRANT_PROFILE_ID_JAG
    expect_listed(ctx.metadata, member, profile, "the id-jag profile")


@RESOURCE_AS.case(
    "ras-metadata-hides-trusted-issuers",
    section="§8.4",
    level=MUST,
    tags=("metadata",),
    risk="the allow list of trusted IdPs is published: reconnaissance for attackers",
)
def _metadata_disclosure(ctx: ResourceAsContext) -> None:
    if ctx.idp.url in json.dumps(ctx.metadata):
        raise CaseFailed("the metadata names the trusted test IdP")


@RESOURCE_AS.case(
    "ras-jwks-has-public-asymmetric-keys-only",
    section="RFC 7517 §4, OpenID Connect Discovery §3 (jwks_uri)",
    level=MUST,
    tags=("metadata", "keys"),
    risk="published private or symmetric keys let anyone sign tokens of this AS",
)
def _jwks(ctx: ResourceAsContext) -> None:
    uri = ctx.metadata.get(spec.M_JWKS_URI)
    if not isinstance(uri, str):
        raise CaseSkipped("the metadata has no jwks_uri")
    expect_public_jwks(fetch_json(ctx.http, uri))


@RESOURCE_AS.case(
    "ras-error-response-is-no-store",
    section="RFC 6749 §5.1, §5.2",
    level=MUST,
    tags=("negative", "response"),
    risk="a cache keeps token responses: tokens leak to the next user of the cache",
)
def _error_no_store(ctx: ResourceAsContext) -> None:
    expect_no_store(ctx.redeem("not-a-jwt"))
