"""IdP cases about the metadata, the token exchange response and the issued ID-JAG
(draft §3, §4.3.4, §7.1; RFC 8414, RFC 8693 §2.2.1)."""

from __future__ import annotations

from xaa import InvalidGrant, JwkSet, spec
from xaa._jose import verify_compact
from xaa._tokens import normalize_typ

from .._checks import expect_issuer, expect_listed, expect_no_store, expect_public_jwks
from .._registry import CaseFailed, CaseSkipped
from .context import BCP, IDP, MAX_SHORT_LIFETIME, MUST, SHOULD, IdpContext

# -- metadata ----------------------------------------------------------------------------------


@IDP.case(
    "idp-metadata-issuer-matches",
    section="RFC 8414 §3.3",
    level=MUST,
    tags=("metadata",),
    risk="clients cannot bind the metadata to the IdP: mix-up attacks",
)
def _issuer(ctx: IdpContext) -> None:
    expect_issuer(ctx.metadata, ctx.target.issuer)


@IDP.case(
    "idp-metadata-advertises-id-jag-token-type",
    section="§7.1",
    level=SHOULD,
    tags=("metadata",),
    risk="clients cannot discover that the IdP issues ID-JAGs",
)
def _advertises(ctx: IdpContext) -> None:
    expect_listed(
        ctx.metadata, spec.M_IDENTITY_CHAINING_TOKEN_TYPES, spec.TOKEN_TYPE_ID_JAG, "id-jag"
    )


@IDP.case(
    "idp-metadata-lists-token-exchange-grant",
    section="RFC 8414 §2, RFC 8693 §2.1",
    level=SHOULD,
    tags=("metadata",),
    risk="clients cannot discover the grant type they must use",
)
def _lists_grant(ctx: IdpContext) -> None:
    expect_listed(
        ctx.metadata, spec.M_GRANT_TYPES_SUPPORTED, spec.GRANT_TOKEN_EXCHANGE, "token-exchange"
    )


@IDP.case(
    "idp-jwks-has-public-asymmetric-keys-only",
    section="RFC 7517 §4, OpenID Connect Discovery §3 (jwks_uri)",
    level=MUST,
    tags=("metadata", "keys"),
    risk="published private or symmetric keys let anyone mint ID-JAGs",
)
def _jwks(ctx: IdpContext) -> None:
    expect_public_jwks(ctx.jwks)


# -- the issued ID-JAG and the response ----------------------------------------------------------


@IDP.case(
    "idp-issues-id-jag",
    section="§4.3",
    level=MUST,
    tags=("happy",),
    risk="a conforming token exchange is refused: the grant does not work at all",
)
def _issues(ctx: IdpContext) -> None:
    ctx.exchange()


@IDP.case(
    "idp-response-issued-token-type-is-id-jag",
    section="§4.3.4, RFC 8693 §2.2.1",
    level=MUST,
    tags=("happy", "response"),
    risk="clients cannot tell what they received and may send it to the wrong place",
)
def _issued_type(ctx: IdpContext) -> None:
    if ctx.issued.response.get(spec.R_ISSUED_TOKEN_TYPE) != spec.TOKEN_TYPE_ID_JAG:
        raise CaseFailed("issued_token_type is not urn:ietf:params:oauth:token-type:id-jag")


@IDP.case(
    "idp-response-token-type-is-n-a",
    section="§4.3.4, RFC 8693 §2.2.1",
    level=MUST,
    tags=("happy", "response"),
    risk="an ID-JAG labelled Bearer invites clients to send it to APIs as an access token",
)
def _token_type(ctx: IdpContext) -> None:
    if ctx.issued.response.get(spec.R_TOKEN_TYPE) != spec.TOKEN_TYPE_N_A:
        raise CaseFailed("token_type is not N_A")


@IDP.case(
    "idp-response-has-no-refresh-token",
    section="§4.3.4",
    level=SHOULD,
    tags=("happy", "response"),
    risk="a refresh token for an ID-JAG extends a short-lived cross-domain grant indefinitely",
)
def _no_refresh(ctx: IdpContext) -> None:
    if spec.R_REFRESH_TOKEN in ctx.issued.response:
        raise CaseFailed("the token exchange response carries a refresh token")


@IDP.case(
    "idp-response-has-expires-in",
    section="§4.3.4",
    level=SHOULD,
    tags=("happy", "response"),
    risk="clients cannot tell when to request a new ID-JAG",
)
def _expires_in(ctx: IdpContext) -> None:
    if not isinstance(ctx.issued.response.get(spec.R_EXPIRES_IN), int):
        raise CaseFailed("expires_in is missing (RECOMMENDED)")


@IDP.case(
    "idp-id-jag-typ-is-oauth-id-jag-jwt",
    section="§3",
    level=MUST,
    tags=("happy", "id-jag"),
    risk="resource ASes that check typ refuse it; those that do not confuse it with other JWTs",
)
def _typ(ctx: IdpContext) -> None:
    if normalize_typ(ctx.issued.jws.header.get("typ")) != spec.TYP_ID_JAG:
        raise CaseFailed("the ID-JAG's typ is not oauth-id-jag+jwt")


@IDP.case(
    "idp-id-jag-signature-verifies-with-published-key",
    section="§3, RFC 7515 §5.2, RFC 8725 §3.1",
    level=MUST,
    tags=("happy", "id-jag", "keys"),
    risk="resource ASes cannot verify the ID-JAG with the keys the IdP publishes",
)
def _signature(ctx: IdpContext) -> None:
    try:
        verify_compact(ctx.issued.jws, JwkSet.from_jwks(ctx.jwks), error=InvalidGrant)
    except InvalidGrant as exc:
        raise CaseFailed(f"the ID-JAG does not verify: {exc.detail}") from None


@IDP.case(
    "idp-id-jag-has-required-claims",
    section="§3.1",
    level=MUST,
    tags=("happy", "id-jag"),
    risk="resource ASes must reject the ID-JAG, or worse skip the check the claim feeds",
)
def _required(ctx: IdpContext) -> None:
    missing = [c for c in spec.ID_JAG_REQUIRED_CLAIMS if c not in ctx.issued.claims]
    if missing:
        raise CaseFailed(f"claims missing: {', '.join(missing)}")


@IDP.case(
    "idp-id-jag-iss-is-idp-issuer",
    section="§3.1",
    level=MUST,
    tags=("happy", "id-jag"),
    risk="resource ASes cannot find the IdP's keys, or trust the wrong issuer",
)
def _iss(ctx: IdpContext) -> None:
    if ctx.issued.claims.get("iss") != ctx.target.issuer:
        raise CaseFailed("iss is not the IdP's issuer identifier")


@IDP.case(
    "idp-id-jag-aud-is-single-resource-as",
    section="§3.1, §4.4.1",
    level=MUST,
    tags=("happy", "id-jag", "aud"),
    risk="an ID-JAG for several audiences can be replayed by one AS at another",
)
def _aud(ctx: IdpContext) -> None:
    aud = ctx.issued.claims.get("aud")
    if isinstance(aud, list):
        if len(aud) != 1:
            raise CaseFailed("aud is an array with more than one element")
        aud = aud[0]
    if not isinstance(aud, str) or not aud:
        raise CaseFailed("aud is not a single issuer identifier")
    if not ctx.target.audience.startswith("urn:") and aud != ctx.target.audience:
        raise CaseFailed("aud is not the requested resource AS issuer")


@IDP.case(
    "idp-id-jag-client-id-is-client-at-resource-as",
    section="§3.1, §5",
    level=MUST,
    tags=("happy", "id-jag", "client"),
    risk="the resource AS binds the grant to the wrong client, or cannot bind it at all",
)
def _client_id(ctx: IdpContext) -> None:
    expected = ctx.target.expect_client_id
    if expected is None:
        raise CaseSkipped("needs --expect-client-id")
    if ctx.issued.claims.get("client_id") != expected:
        raise CaseFailed("client_id is not the client's id at the resource AS")


@IDP.case(
    "idp-id-jag-is-short-lived",
    section="§3.1, §8.3",
    level=BCP,
    tags=("happy", "id-jag", "time"),
    risk="a long-lived ID-JAG is a bearer credential that outlives the user's session",
)
def _short(ctx: IdpContext) -> None:
    exp, iat = ctx.issued.claims.get("exp"), ctx.issued.claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise CaseFailed("exp or iat is not an integer")
    if exp - iat > MAX_SHORT_LIFETIME or exp <= iat:
        raise CaseFailed(f"lifetime {exp - iat}s (at most {MAX_SHORT_LIFETIME}s)")


@IDP.case(
    "idp-id-jag-jti-is-fresh",
    section="§3.1, RFC 7519 §4.1.7",
    level=MUST,
    tags=("happy", "id-jag", "replay"),
    risk="two ID-JAGs share a jti: replay detection at the resource AS refuses the second",
)
def _fresh_jti(ctx: IdpContext) -> None:
    first, second = ctx.issued.claims.get("jti"), ctx.exchange().claims.get("jti")
    if not isinstance(first, str) or first == second:
        raise CaseFailed("two exchanges produced the same (or no) jti")


@IDP.case(
    "idp-id-jag-scope-matches-response",
    section="§4.3.3, §4.3.4",
    level=MUST,
    tags=("happy", "id-jag", "scope"),
    risk="the client believes it holds a grant the ID-JAG does not carry (or the reverse)",
)
def _scope(ctx: IdpContext) -> None:
    issued = ctx.issued
    granted = set(str(issued.claims.get("scope", "")).split())
    if spec.R_SCOPE in issued.response and set(str(issued.response["scope"]).split()) != granted:
        raise CaseFailed("the response scope differs from the ID-JAG's scope")
    requested = set((ctx.target.scope or "").split())
    if requested and spec.R_SCOPE not in issued.response and granted != requested:
        raise CaseFailed("scope was narrowed but the response does not say so")


@IDP.case(
    "idp-id-jag-has-no-cnf-without-dpop",
    section="§8.6",
    level=SHOULD,
    tags=("happy", "id-jag", "dpop"),
    risk="an ID-JAG bound to a key the client never proved is unusable or mis-bound",
)
def _no_cnf(ctx: IdpContext) -> None:
    if "cnf" in ctx.issued.claims:
        raise CaseFailed("cnf present although no DPoP proof was sent")


@IDP.case(
    "idp-response-is-no-store",
    section="RFC 8693 §2.2.1, RFC 6749 §5.1",
    level=MUST,
    tags=("happy", "response"),
    risk="a cache keeps the ID-JAG: it leaks to the next user of the cache",
)
def _no_store(ctx: IdpContext) -> None:
    expect_no_store(ctx.post(ctx.params()))
