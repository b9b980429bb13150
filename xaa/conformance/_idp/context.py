"""The IdP suite: token exchange for ID-JAGs (draft §4.3), from outside.

The happy path exchanges the subject's ID token (given, or obtained by signing
in) for an ID-JAG and checks every MUST about the response and the token. The
negative cases are the happy-path request with exactly one defect; afterwards
the happy path must still work. Sections refer to
draft-ietf-oauth-identity-assertion-authz-grant-03 unless an RFC is named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from xaa import ConfigurationError, InvalidGrant, JwkSet, spec
from xaa._jose import CompactJws, parse_compact
from xaa._keys import VerificationKey

from .._checks import Answer, expect_error, expect_token, fetch_json, post_form
from .._checks import metadata_url as as_metadata_url
from .._credentials import ClientCredentials
from .._login import login_tokens
from .._registry import CaseFailed, CaseSkipped, Level, Suite
from .._runner import Report, Result, run_over_http

MUST, SHOULD, BCP = Level.MUST, Level.SHOULD, Level.BEST_PRACTICE
MAX_SHORT_LIFETIME = 300


@dataclass(frozen=True)
class IdpTarget:
    """The IdP under test, the client registered there and the exchange to ask for."""

    issuer: str
    client: ClientCredentials
    audience: str
    id_token: str | None = None
    login: tuple[str, str] | None = None
    redirect_uri: str | None = None
    expect_client_id: str | None = None
    scope: str | None = None
    resource: str | None = None
    other_client_id_token: str | None = None
    other_client_refresh_token: str | None = None

    def __post_init__(self) -> None:
        if (self.id_token is None) == (self.login is None):
            raise ConfigurationError("give exactly one of an ID token or a login")
        if self.login is not None and not self.redirect_uri:
            raise ConfigurationError("--login needs --redirect-uri (registered for the client)")


@dataclass(frozen=True)
class IssuedIdJag:
    """A token exchange response and the ID-JAG it carried."""

    response: dict[str, Any]
    jws: CompactJws
    token: str

    @property
    def claims(self) -> dict[str, Any]:
        """The ID-JAG claims (signature not yet checked)."""
        return self.jws.payload


class IdpContext:
    """What the IdP cases use."""

    def __init__(self, target: IdpTarget, http: httpx.Client) -> None:
        self.target = target
        self.http = http

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata, else OpenID Discovery."""
        try:
            return fetch_json(self.http, as_metadata_url(self.target.issuer))
        except CaseFailed:
            well_known = self.target.issuer.rstrip("/") + spec.WELL_KNOWN_OPENID
            return fetch_json(self.http, well_known)

    @property
    def token_endpoint(self) -> str:
        """The IdP's token endpoint."""
        endpoint = self.metadata.get(spec.M_TOKEN_ENDPOINT)
        if not isinstance(endpoint, str):
            raise CaseFailed("the IdP metadata has no token_endpoint")
        return endpoint

    @cached_property
    def jwks(self) -> dict[str, Any]:
        """The IdP's published JWKS."""
        uri = self.metadata.get(spec.M_JWKS_URI)
        if not isinstance(uri, str):
            raise CaseFailed("the IdP metadata has no jwks_uri")
        return fetch_json(self.http, uri)

    @cached_property
    def id_token(self) -> str:
        """The subject token of the happy path."""
        if self.target.id_token is not None:
            return self.target.id_token
        return str(self._sign_in("openid email")["id_token"])

    def _sign_in(self, scope: str) -> dict[str, Any]:
        """The token response of a sign-in with ``--login`` (authorization code, PKCE)."""
        assert self.target.login is not None and self.target.redirect_uri is not None
        username, password = self.target.login
        return login_tokens(
            self.http,
            self.metadata,
            client_id=self.target.client.client_id,
            client_auth=self.client_auth,
            redirect_uri=self.target.redirect_uri,
            username=username,
            password=password,
            scope=scope,
        )

    def refresh_token(self) -> str:
        """A refresh token of a new sign-in that the IdP accepts as a subject token
        (draft §4.3.3: a MAY), else the case is skipped."""
        if self.target.login is None or self.target.redirect_uri is None:
            raise CaseSkipped("needs --login: a sign-in yields the refresh token")
        supported = self.metadata.get("subject_token_types_supported")
        if isinstance(supported, list) and spec.TOKEN_TYPE_REFRESH_TOKEN not in supported:
            raise CaseSkipped("the IdP does not list refresh tokens as subject tokens")
        token = self._sign_in("openid email offline_access").get(spec.R_REFRESH_TOKEN)
        if not isinstance(token, str) or not token:
            raise CaseSkipped("the sign-in (scope offline_access) yielded no refresh token")
        answer = self.post(self.refresh_params(token))
        if answer.status != 200:
            refused = answer.describe()
            raise CaseSkipped(f"the IdP refuses its refresh token as subject token: {refused}")
        return token

    def refresh_params(self, token: str) -> dict[str, str | list[str]]:
        """The happy-path exchange with ``token`` as a refresh-token subject token."""
        return self.params(subject_token=token, subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)

    def client_auth(self, form: dict[str, str | list[str]]) -> dict[str, str]:
        """Add the client's credentials to ``form``; returns headers."""
        return self.target.client.apply(form, self.target.issuer)

    def params(self, **changes: Any) -> dict[str, str | list[str]]:
        """The happy-path token exchange parameters with ``changes`` (``None`` drops one)."""
        base: dict[str, Any] = {
            spec.P_GRANT_TYPE: spec.GRANT_TOKEN_EXCHANGE,
            spec.P_REQUESTED_TOKEN_TYPE: spec.TOKEN_TYPE_ID_JAG,
            spec.P_AUDIENCE: self.target.audience,
            spec.P_SUBJECT_TOKEN: self.id_token,
            spec.P_SUBJECT_TOKEN_TYPE: spec.TOKEN_TYPE_ID_TOKEN,
            spec.P_SCOPE: self.target.scope,
            spec.P_RESOURCE: self.target.resource,
        }
        base.update(changes)
        return {k: v for k, v in base.items() if v is not None}

    def post(
        self,
        params: dict[str, str | list[str]],
        *,
        authenticate: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """POST a form to the IdP's token endpoint."""
        auth = self.client_auth if authenticate else None
        return post_form(self.http, self.token_endpoint, params, client_auth=auth, headers=headers)

    def exchange(self, **changes: Any) -> IssuedIdJag:
        """A successful exchange, parsed (the ID-JAG is not yet verified)."""
        body = expect_token(self.post(self.params(**changes)))
        token = body[spec.R_ACCESS_TOKEN]
        try:
            jws = parse_compact(token, error=InvalidGrant, max_bytes=65536)
        except InvalidGrant:
            raise CaseFailed("the issued token is not a compact JWS") from None
        return IssuedIdJag(body, jws, token)

    @cached_property
    def issued(self) -> IssuedIdJag:
        """The first happy-path exchange, shared by the cases that inspect it."""
        return self.exchange()

    def happy(self) -> None:
        """The happy path still works."""
        try:
            self.exchange()
        except CaseFailed as exc:
            raise CaseFailed(f"the happy path fails: {exc}") from None

    def reject(
        self,
        params: dict[str, str | list[str]],
        *,
        error: str | Iterable[str],
        status: int | Iterable[int] = 400,
        authenticate: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """POST ``params``; it must be refused with ``error``."""
        answer = self.post(params, authenticate=authenticate, headers=headers)
        tokens = [v for v in params.values() if isinstance(v, str) and v.count(".") == 2]
        expect_error(answer, error=error, status=status, secrets=tokens)
        return answer

    def id_token_key(self) -> VerificationKey:
        """The IdP key that signed the ID token."""
        kid = parse_compact(self.id_token, error=InvalidGrant).header.get("kid")
        key = JwkSet.from_jwks(self.jwks).select(kid if isinstance(kid, str) else None)
        if key is None:
            raise CaseSkipped("the ID token's key is not in the IdP's JWKS")
        return key


IDP: Suite[IdpContext] = Suite("idp")


def happy_path(ctx: IdpContext) -> None:
    """Run after every negative case."""
    ctx.happy()


def add_rejection(
    case_id: str,
    changes: Any,
    *,
    section: str,
    risk: str,
    error: str | Iterable[str] = "invalid_request",
    level: Level = MUST,
    tags: Iterable[str] = (),
) -> None:
    """Register a negative case: the happy request with ``changes(ctx)`` applied."""

    def check(ctx: IdpContext) -> None:
        ctx.reject(ctx.params(**changes(ctx)), error=error)

    IDP.add(case_id, check, section=section, level=level, risk=risk, tags=("negative", *tags))


def run_idp_suite(
    target: IdpTarget,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    on_result: Callable[[Result[IdpContext]], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Report[IdpContext]:
    """Run the selected IdP cases against ``target``."""
    return run_over_http(
        IDP,
        target.issuer,
        lambda http: IdpContext(target, http),
        only=only,
        skip=skip,
        happy_path=happy_path,
        on_result=on_result,
        transport=transport,
    )
