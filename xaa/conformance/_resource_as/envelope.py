"""Resource-AS cases about the request and the JWS: happy path, parameters, typ, alg,
signatures and keys (RFC 7515, RFC 7518, RFC 8725, draft §3, §4.4)."""

from __future__ import annotations

import base64
import json
import secrets

from xaa import spec
from xaa._keys import b64url

from .._checks import expect_error, expect_token
from .._forge import DROP, der_ecdsa, self_signed_certificate
from .._registry import CaseFailed, CaseSkipped
from .context import (
    BCP,
    MUST,
    RESOURCE_AS,
    SHOULD,
    ResourceAsContext,
    add_rejection,
    extra_key,
    hmac_with_public_key,
    with_header,
)

# -- the happy path ---------------------------------------------------------------------------


@RESOURCE_AS.case(
    "ras-accepts-valid-id-jag",
    section="§4.4, RFC 7523 §2.1",
    level=MUST,
    tags=("happy",),
    risk="a conforming ID-JAG is refused: the grant does not work at all",
)
def _accepts_valid(ctx: ResourceAsContext) -> None:
    body = ctx.happy()
    if str(body.get("token_type", "")).lower() not in ("bearer", "dpop"):
        raise CaseFailed("token_type is neither Bearer nor DPoP")


@RESOURCE_AS.case(
    "ras-issues-no-refresh-token",
    section="§4.4.3",
    level=SHOULD,
    tags=("happy", "refresh"),
    risk="a refresh token outlives the IdP's decision: revoking the user at the IdP no longer "
    "cuts access",
)
def _no_refresh(ctx: ResourceAsContext) -> None:
    if spec.R_REFRESH_TOKEN in ctx.happy():
        raise CaseFailed("a refresh token was issued for an ID-JAG")


@RESOURCE_AS.case(
    "ras-accepts-aud-array-with-one-value",
    section="§4.4.1",
    level=MUST,
    tags=("happy", "aud"),
    risk="a one-element aud array, which the draft allows, is refused: interop breaks",
)
def _aud_array_one(ctx: ResourceAsContext) -> None:
    expect_token(ctx.redeem(ctx.jag(aud=[ctx.target.issuer])))


@RESOURCE_AS.case(
    "ras-response-reflects-granted-scope",
    section="§4.4.1, RFC 6749 §5.1",
    level=MUST,
    tags=("happy", "scope"),
    risk="the client cannot tell which scopes it got and calls APIs it may not call",
)
def _reflects_scope(ctx: ResourceAsContext) -> None:
    scopes = (ctx.target.scope or "").split()
    if len(scopes) < 2:
        raise CaseSkipped("needs --scope with at least two scopes")
    body = expect_token(ctx.redeem(ctx.jag(), scope=scopes[0]))
    granted = set(str(body.get("scope", scopes[0])).split())
    if granted - {scopes[0]}:
        raise CaseFailed(f"asked for {scopes[0]!r}, the response grants more")


# -- the request ------------------------------------------------------------------------------


@RESOURCE_AS.case(
    "ras-rejects-missing-assertion",
    section="RFC 7521 §4.1, RFC 6749 §5.2",
    level=MUST,
    tags=("negative", "request"),
    risk="a request without a grant is answered with something other than invalid_request",
)
def _missing_assertion(ctx: ResourceAsContext) -> None:
    answer = ctx.post({"grant_type": spec.GRANT_JWT_BEARER})
    expect_error(answer, error="invalid_request")


@RESOURCE_AS.case(
    "ras-rejects-duplicated-assertion",
    section="RFC 6749 §3.2",
    level=MUST,
    tags=("negative", "request"),
    risk="with two assertions the checked one and the used one may differ",
)
def _dup_assertion(ctx: ResourceAsContext) -> None:
    good, other = ctx.jag(), ctx.jag()
    answer = ctx.post({"grant_type": spec.GRANT_JWT_BEARER, "assertion": [good, other]})
    expect_error(answer, error="invalid_request", secrets=[good, other])


@RESOURCE_AS.case(
    "ras-rejects-duplicated-grant-type",
    section="RFC 6749 §3.2",
    level=MUST,
    tags=("negative", "request"),
    risk="parameter pollution: two grant types let one check pass and another grant run",
)
def _dup_grant_type(ctx: ResourceAsContext) -> None:
    jag = ctx.jag()
    grant = [spec.GRANT_JWT_BEARER, spec.GRANT_JWT_BEARER]
    answer = ctx.post({"grant_type": grant, "assertion": jag})
    expect_error(answer, error="invalid_request", secrets=[jag])


@RESOURCE_AS.case(
    "ras-rejects-unknown-grant-type",
    section="RFC 6749 §5.2",
    level=SHOULD,
    tags=("negative", "request"),
    risk="an unknown grant type is processed as some other grant",
)
def _unknown_grant(ctx: ResourceAsContext) -> None:
    answer = ctx.post({"grant_type": "urn:xaa:conformance:no-such-grant", "assertion": ctx.jag()})
    expect_error(answer, error="unsupported_grant_type")


add_rejection(
    "ras-rejects-assertion-that-is-not-a-jwt",
    lambda ctx: "not-a-jwt-" + secrets.token_urlsafe(24),
    section="RFC 7523 §3, RFC 7521 §5.2",
    risk="garbage reaches code that assumes a parsed JWT",
    tags=("parse",),
)
add_rejection(
    "ras-rejects-jwe-shaped-assertion",
    lambda ctx: ctx.jag() + "." + b64url(b"x") + "." + b64url(b"y"),
    section="RFC 7515 §7.1, RFC 8725 §3.1",
    risk="a five-part token takes a JWE or JSON-serialization code path that skips checks",
    tags=("parse",),
)
add_rejection(
    "ras-rejects-oversized-assertion",
    lambda ctx: ctx.jag(padding="A" * 65536),
    section="RFC 8725 §3.1 (resource exhaustion)",
    level=BCP,
    risk="unbounded tokens let anyone make the AS parse and hash megabytes per request",
    tags=("parse",),
    error=("invalid_grant", "invalid_request"),
    status=(400, 413),  # RFC 9110 §15.5.14: a body over the cap may be refused before parsing
)

# -- typ ---------------------------------------------------------------------------------------

for _typ, _name in (
    (DROP, "missing"),
    ("JWT", "jwt"),
    ("at+jwt", "at-jwt"),
    ("dpop+jwt", "dpop-jwt"),
    ("client-authentication+jwt", "client-authentication-jwt"),
):
    add_rejection(
        f"ras-rejects-typ-{_name}",
        with_header({"typ": _typ}),
        section="§3, §4.4.1, RFC 8725 §3.11",
        risk="another kind of JWT signed by the IdP (ID token, access token, proof) is "
        "redeemed as an ID-JAG",
        tags=("typ",),
    )

# -- algorithms ------------------------------------------------------------------------------

for _alg, _spelling in (
    ("none", ""),
    ("None", "-capitalized"),
    ("NONE", "-uppercase"),
    ("nOnE", "-mixed-case"),
):
    add_rejection(
        f"ras-rejects-alg-none{_spelling}",
        with_header({"alg": _alg}, signature=b""),
        section="RFC 8725 §3.1, RFC 7518 §3.6",
        risk="an unsigned token is accepted: anyone can mint ID-JAGs for any user",
        tags=("alg",),
    )
add_rejection(
    "ras-rejects-empty-signature",
    lambda ctx: ctx.jag(signature=b""),
    section="RFC 7515 §5.2",
    risk="a token with its signature stripped is accepted",
    tags=("alg", "signature"),
)
for _enc in ("pem", "der", "jwk"):
    add_rejection(
        f"ras-rejects-hs256-keyed-with-public-key-{_enc}",
        hmac_with_public_key(_enc),
        section="RFC 8725 §2.1, §3.1",
        risk="algorithm confusion: anyone holding the IdP's public key mints valid ID-JAGs",
        tags=("alg",),
    )
add_rejection(
    "ras-rejects-alg-header-not-matching-key",
    lambda ctx: ctx.jag({"alg": "RS256"}),
    section="RFC 8725 §3.1",
    risk="the token picks the algorithm instead of the key: the door to algorithm confusion",
    tags=("alg",),
)
add_rejection(
    "ras-rejects-alg-not-pinned-for-issuer",
    lambda ctx: ctx.jag(signer=extra_key("eddsa_key")(ctx)),
    section="RFC 8725 §3.1",
    level=BCP,
    risk="any algorithm of any published key is accepted instead of the one agreed with the IdP",
    tags=("alg", "extra-keys"),
)
add_rejection(
    "ras-rejects-rsa-key-below-2048-bits",
    lambda ctx: ctx.jag(signer=extra_key("weak_rsa_key")(ctx)),
    section="RFC 7518 §3.3, RFC 8725 §3.2",
    risk="a 1024-bit RSA key can be factored: forged ID-JAGs",
    tags=("alg", "keys", "extra-keys"),
)

# -- signatures ------------------------------------------------------------------------------


def _tampered(ctx: ResourceAsContext) -> str:
    head, payload, sig = ctx.jag().split(".")
    other = ctx.jag(sub="someone-else").split(".")[1]
    del payload
    return f"{head}.{other}.{sig}"


add_rejection(
    "ras-rejects-tampered-payload",
    _tampered,
    section="RFC 7515 §5.2",
    risk="claims changed after signing (another user) are accepted",
    tags=("signature",),
)
add_rejection(
    "ras-rejects-ecdsa-zero-signature",
    lambda ctx: ctx.jag(signature=b"\x00" * 64),
    section="RFC 7518 §3.4 (CVE-2022-21449)",
    risk="the 'psychic signature' r = s = 0 verifies any token on a broken ECDSA verifier",
    tags=("signature",),
)
add_rejection(
    "ras-rejects-ecdsa-signature-with-wrong-length",
    lambda ctx: ctx.jag(signature=ctx.idp.key.sign(b"x") + b"\x00"),
    section="RFC 7518 §3.4",
    risk="lenient signature decoding opens malleability and confusion bugs",
    tags=("signature",),
)


def _der_signed(ctx: ResourceAsContext) -> str:
    token = ctx.jag()
    data, _, _ = token.rpartition(".")
    return f"{data}.{b64url(der_ecdsa(ctx.idp.key.sign(data.encode())))}"


add_rejection(
    "ras-rejects-der-encoded-ecdsa-signature",
    _der_signed,
    section="RFC 7518 §3.4",
    level=SHOULD,
    risk="accepting two encodings of one signature makes tokens malleable (replay keys differ)",
    tags=("signature",),
)

# -- keys --------------------------------------------------------------------------------------


def _embedded_jwk(ctx: ResourceAsContext) -> str:
    evil = ctx.idp.attacker_key
    return ctx.jag({"jwk": evil.public_jwk(), "kid": DROP}, signer=evil)


def _jku(ctx: ResourceAsContext) -> str:
    return ctx.jag({"jku": ctx.idp.attacker_jwks_uri}, signer=ctx.idp.attacker_key)


def _x5u(ctx: ResourceAsContext) -> str:
    return ctx.jag({"x5u": ctx.idp.attacker_jwks_uri}, signer=ctx.idp.attacker_key)


def _x5c(ctx: ResourceAsContext) -> str:
    cert = base64.b64encode(self_signed_certificate(ctx.idp.attacker_key)).decode()
    return ctx.jag({"x5c": [cert], "kid": DROP}, signer=ctx.idp.attacker_key)


for _name, _make, _risk in (
    ("embedded-jwk-header", _embedded_jwk, "the token carries its own key: anyone can sign"),
    ("jku-header", _jku, "the token says where to fetch its key: anyone can sign (and SSRF)"),
    ("x5u-header", _x5u, "the token says where to fetch its certificate: anyone can sign"),
    ("x5c-header", _x5c, "a self-signed certificate in the token is trusted: anyone can sign"),
):
    add_rejection(
        f"ras-ignores-{_name}",
        _make,
        section="RFC 8725 §3.10, RFC 7515 §4.1",
        risk=_risk,
        tags=("keys",),
    )


@RESOURCE_AS.case(
    "ras-never-fetches-jku-url-from-token",
    section="RFC 8725 §3.10",
    level=MUST,
    tags=("keys",),
    risk="the AS fetches URLs named by an unauthenticated token: server-side request forgery",
)
def _jku_fetched(ctx: ResourceAsContext) -> None:
    before = ctx.idp.fetches("/attacker/jwks.json")  # this run's fetches only
    ctx.redeem(_jku(ctx))
    ctx.redeem(_x5u(ctx))
    if ctx.idp.fetches("/attacker/jwks.json") > before:
        raise CaseFailed("the AS fetched the jku/x5u URL named in the token")


add_rejection(
    "ras-rejects-unknown-kid",
    lambda ctx: ctx.jag(
        {"kid": "xaa-conformance-unknown-" + secrets.token_hex(4)}, signer=ctx.idp.attacker_key
    ),
    section="RFC 7515 §4.1.4, RFC 8725 §3.10",
    risk="a key the IdP never published verifies tokens",
    tags=("keys",),
)
add_rejection(
    "ras-rejects-right-kid-wrong-key",
    lambda ctx: ctx.jag({"kid": ctx.idp.key.kid}, signer=ctx.idp.attacker_key),
    section="RFC 7515 §5.2",
    risk="the kid is trusted instead of the key: anyone can sign",
    tags=("keys",),
)
add_rejection(
    "ras-rejects-signature-of-another-published-key",
    lambda ctx: ctx.jag({"kid": ctx.idp.key.kid}, signer=ctx.idp.other_key),
    section="RFC 7515 §5.2",
    level=SHOULD,
    risk="any published key verifies any kid: key separation and rotation lose their meaning",
    tags=("keys",),
)


@RESOURCE_AS.case(
    "ras-rate-limits-jwks-refresh-on-unknown-kid",
    section="RFC 8725 §3.10 (resource exhaustion), OpenID Connect Core §10.1.1",
    level=BCP,
    tags=("negative", "keys"),
    risk="each token with a new kid makes the AS hit the IdP: an amplification DoS",
)
def _jwks_rate_limit(ctx: ResourceAsContext) -> None:
    before = ctx.idp.fetches("/jwks.json")
    for _ in range(3):
        kid = "xaa-conformance-unknown-" + secrets.token_hex(4)
        ctx.reject(ctx.jag({"kid": kid}, signer=ctx.idp.attacker_key))
    fetched = ctx.idp.fetches("/jwks.json") - before
    if fetched > 1:
        raise CaseFailed(f"three unknown kids caused {fetched} JWKS fetches (at most 1)")


add_rejection(
    "ras-rejects-unknown-crit-header",
    with_header({"crit": ["xaa-conformance-ext"], "xaa-conformance-ext": True}),
    section="RFC 7515 §4.1.11",
    risk="an extension the AS does not understand changes what the signature means",
    tags=("keys",),
)
add_rejection(
    "ras-rejects-kid-that-is-not-a-string",
    lambda ctx: ctx.jag({"kid": 1}),
    section="RFC 7515 §4.1.4",
    level=SHOULD,
    risk="type confusion in key selection picks an unexpected key",
    tags=("keys",),
)


def _duplicate_member(ctx: ResourceAsContext) -> str:
    key = ctx.idp.key
    header = b64url(json.dumps({"typ": spec.TYP_ID_JAG, "alg": key.alg, "kid": key.kid}).encode())
    claims = json.dumps(ctx.claims())
    raw = claims[:-1] + ', "sub": "xaa-conformance-someone-else"}'
    data = f"{header}.{b64url(raw.encode())}"
    return f"{data}.{b64url(key.sign(data.encode()))}"


add_rejection(
    "ras-rejects-duplicate-claim-member",
    _duplicate_member,
    section="RFC 7515 §5.2, RFC 8725 §3.1",
    level=BCP,
    risk="two parsers read two different subjects from one signed token",
    tags=("parse", "claims"),
)
add_rejection(
    "ras-rejects-padded-base64url-signature",
    lambda ctx: ctx.jag() + "==",
    section="RFC 7515 §2, §7.1",
    level=SHOULD,
    risk="several spellings of one token defeat replay detection keyed on the token",
    tags=("parse", "signature"),
)
