"""IdP cases for a refresh token as subject token (draft §4.3.3): it must be validated as
the ``refresh_token`` grant would, bound to the authenticated client and not revoked.

They need ``--login`` (the sign-in yields the refresh token) and an IdP that accepts
refresh tokens as subject tokens (a MAY); otherwise they are skipped with the reason.
"""

from __future__ import annotations

from .._checks import post_form
from .._registry import CaseFailed, CaseSkipped
from .context import IDP, MUST, IdpContext

REVOCATION_ENDPOINT = "revocation_endpoint"  # RFC 8414 §2


@IDP.case(
    "idp-rejects-revoked-refresh-token",
    section="§4.3.3, RFC 7009 §2.2",
    level=MUST,
    tags=("negative", "subject-token", "refresh"),
    risk="a refresh token the client (or the user) revoked still buys ID-JAGs",
)
def _revoked(ctx: IdpContext) -> None:
    endpoint = ctx.metadata.get(REVOCATION_ENDPOINT)
    if not isinstance(endpoint, str):
        raise CaseSkipped("the IdP metadata advertises no revocation_endpoint")
    token = ctx.refresh_token()
    form = {"token": token, "token_type_hint": "refresh_token"}
    revoked = post_form(ctx.http, endpoint, form, client_auth=ctx.client_auth)
    if revoked.status != 200:
        raise CaseFailed(f"the revocation of the refresh token answered HTTP {revoked.status}")
    ctx.reject(ctx.refresh_params(token), error="invalid_request")


@IDP.case(
    "idp-rejects-refresh-token-of-another-client",
    section="§4.3.3, RFC 6749 §6",
    level=MUST,
    tags=("negative", "subject-token", "refresh", "client"),
    risk="any client of the IdP turns another app's refresh token into ID-JAGs for itself",
)
def _other_client(ctx: IdpContext) -> None:
    other = ctx.target.other_client_refresh_token
    if other is None:
        raise CaseSkipped("needs --other-client-refresh-token FILE")
    ctx.refresh_token()  # the IdP takes refresh tokens: the client binding is what is tested
    ctx.reject(ctx.refresh_params(other), error="invalid_request")
