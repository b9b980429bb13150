"""The one token flow, sans-I/O: a generator yielding requests, receiving responses.

:meth:`XaaFlow.token_flow` walks the ladder of draft §4.4.3:

1. a cached access token still valid (with clock skew) -> use it;
2. if the AS allows re-presenting, a cached, still valid ID-JAG -> redeem it again;
3. a new ID-JAG from the current subject token (ID token or SAML assertion);
4. the IdP refresh token: a new ID token via ``refresh_token`` grant, or the
   refresh token itself as ``subject_token`` where the IdP supports it;
5. else :class:`~xaa.client.ReauthenticationRequired` with the IdP's
   authorization URL.

Scope: the IdP may grant less than asked (draft §4.3.3); the flow then redeems
exactly what the ID-JAG grants (draft §4.4.1: asking the AS for more is
``invalid_scope``) and reports both on the :class:`AccessToken`. A refusal raises
:class:`~xaa.client.TokenRequestRefused` naming the hop and the server.

:func:`run_sync` and :func:`run_async` drive it; adapters supply ``send``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import urlencode

from .. import rules, spec
from .._errors import ConfigurationError, HttpResponse, ProtocolViolation
from .._forms import encode_form
from .._keys import JwkSet
from .._models import AuthorizationServerMetadata
from ..actors import ActorTokenProvider
from ._auth import ClientCredentials
from ._cache import DEFAULT_SKEW, CacheKey, IdentitySession, TokenCache
from ._discovery import (
    DEFAULT_METADATA_TTL,
    MetadataCache,
    discover_authorization_server,
    discover_resource,
)
from ._dpop import send_with_nonce
from ._errors import (
    HOP_IDP_REFRESH,
    HOP_IDP_TOKEN_EXCHANGE,
    HOP_RESOURCE_AS,
    ReauthenticationRequired,
    ScopeNotGranted,
    TokenRequestRefused,
    XaaClientError,
)
from ._http import Request, is_secure, json_body, require_same_origin, require_secure
from ._requests import (
    AccessToken,
    DpopProver,
    IdJag,
    jwt_bearer_request,
    process_token_exchange_response,
    process_token_response,
    raise_for_refusal,
    token_exchange_request,
)
from ._saml import exchange_saml_assertion

T = TypeVar("T")
RETRYABLE_SUBJECT_ERRORS = frozenset({"invalid_request", "invalid_grant"})  # next rung
Flow = Generator[Request, HttpResponse, T]


class UnknownAuthorizationServer(XaaClientError):
    """The resource names no authorization server this client has credentials for."""


@dataclass(frozen=True, slots=True)
class IdpConfig:
    """The IdP: its issuer (configuration, never discovered) and our identity there.

    ``keys``: the IdP's JWKS, to verify ID-JAG signatures (optional).
    ``refresh_token_as_subject``: the IdP accepts its refresh token as
    ``subject_token`` (draft §4.3); ``None`` (default): when its metadata lists
    the refresh token type in ``subject_token_types_supported``. Otherwise a
    refresh-token grant yields a new ID token.
    ``token_endpoint``: the IdP's token endpoint when it was handed to us; then
    no metadata is fetched (so no ``require_id_jag_metadata`` check and no
    authorization URL on :class:`ReauthenticationRequired`). It must be https
    (http only on loopback, RFC 6749 §3.2); ``None`` (default): RFC 8414 discovery,
    with the endpoint on the issuer's origin.
    """

    issuer: str
    credentials: ClientCredentials
    keys: JwkSet | None = None
    require_id_jag_metadata: bool = True
    refresh_token_as_subject: bool | None = None
    redirect_uri: str | None = None
    token_endpoint: str | None = None

    def __post_init__(self) -> None:
        if self.token_endpoint is not None:
            try:
                require_secure(self.token_endpoint, rules.IDP_TOKEN_ENDPOINT)
            except ProtocolViolation as exc:
                raise ConfigurationError(f"IdpConfig.token_endpoint: {exc}") from None


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything the flow needs; ``authorization_servers`` maps AS issuer -> our identity."""

    idp: IdpConfig
    authorization_servers: Mapping[str, ClientCredentials]
    reuse_id_jag: bool = False
    require_id_jag_profile: bool = True
    clock_skew: float = DEFAULT_SKEW
    metadata_ttl: float = DEFAULT_METADATA_TTL
    clock: Callable[[], float] = field(default=time.time, repr=False)
    dpop: DpopProver | None = field(default=None, repr=False)
    actor_tokens: ActorTokenProvider | None = field(default=None, repr=False)


class XaaFlow:
    """Caches plus the flow generator; shared by the sync and async drivers."""

    def __init__(self, config: ClientConfig, cache: TokenCache | None = None) -> None:
        self.config = config
        self.cache = cache or TokenCache(config.clock_skew)
        self.metadata = MetadataCache(config.metadata_ttl)

    def token_flow(
        self,
        resource: str,
        scope: frozenset[str],
        session: IdentitySession,
        *,
        authorization_server: str | None = None,
        metadata_url: str | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        required_scope: frozenset[str] = frozenset(),
    ) -> Flow[AccessToken]:
        """An access token for ``resource`` with ``scope`` (or what the IdP and AS narrow
        it to) on behalf of ``session``.

        A per-call ``actor_token`` bypasses the token cache (its key names no actor).
        ``required_scope``: scopes the call cannot do without (an RFC 6750 §3.1
        ``insufficient_scope`` challenge); a cached token lacking one is not used, and
        a hop that declines one raises :class:`ScopeNotGranted`.
        """
        now = self.config.clock()
        issuer = authorization_server
        if issuer is None:
            prm = yield from discover_resource(
                resource, self.metadata, now, metadata_url=metadata_url
            )
            known = [
                s for s in prm.authorization_servers or [] if s in self.config.authorization_servers
            ]
            if not known:
                raise UnknownAuthorizationServer("no configured authorization server for resource")
            issuer = known[0]
        credentials = self.config.authorization_servers.get(issuer)
        if credentials is None:
            raise UnknownAuthorizationServer("no credentials for this authorization server")
        assert session.subject is not None
        key = CacheKey(session.subject, issuer, resource, scope)
        cached = None if actor_token else self.cache.access_token(key, now)
        if cached is not None and required_scope <= cached.scopes:
            return cached
        as_meta = yield from discover_authorization_server(
            issuer,
            self.metadata,
            now,
            require="accepts-id-jag" if self.config.require_id_jag_profile else None,
        )
        redeem = _Redeem(self, as_meta, credentials, resource, scope)
        if self.config.reuse_id_jag and not actor_token:
            jag = self.cache.id_jag(key, now)
            if jag is not None and required_scope <= jag.scope:
                try:
                    token = yield from redeem(jag)
                except TokenRequestRefused as refused:
                    if refused.error != "invalid_grant":
                        raise
                    self.cache.forget_id_jag(key)
                else:
                    self.cache.store(key, token, jag, self.config.clock())
                    return _granted(token, required_scope, HOP_RESOURCE_AS)
        jag = yield from self.id_jag_flow(
            issuer,
            credentials.client_id,
            resource,
            scope,
            session,
            actor_token=actor_token,
            actor_token_type=actor_token_type,
        )
        if required_scope - jag.scope:  # draft §4.3.3: the IdP narrowed the request
            raise ScopeNotGranted(
                required_scope - jag.scope,
                jag.scope,
                hop=HOP_IDP_TOKEN_EXCHANGE,
                issuer=self.config.idp.issuer,
            )
        token = yield from redeem(jag)
        if not actor_token:
            reuse = jag if self.config.reuse_id_jag else None
            self.cache.store(key, token, reuse, self.config.clock())
        return _granted(token, required_scope, HOP_RESOURCE_AS)

    def idp_metadata(self) -> Flow[AuthorizationServerMetadata]:
        """The IdP's metadata (RFC 8414, draft §7.1), or only its configured token endpoint."""
        idp = self.config.idp
        if idp.token_endpoint is not None:
            require_secure(idp.issuer, rules.ISSUER)
            return AuthorizationServerMetadata(issuer=idp.issuer, token_endpoint=idp.token_endpoint)
        meta = yield from discover_authorization_server(
            idp.issuer,
            self.metadata,
            self.config.clock(),
            require="issues-id-jag" if idp.require_id_jag_metadata else None,
        )
        assert meta.token_endpoint is not None
        require_same_origin(meta.token_endpoint, idp.issuer)
        return meta

    def id_jag_flow(
        self,
        audience: str,
        client_id: str,
        resource: str | None,
        scope: frozenset[str],
        session: IdentitySession,
        *,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> Flow[IdJag]:
        """The IdP leg (draft §4.3): rungs 3-5 of the ladder.

        ``audience`` is the resource AS issuer and ``client_id`` ours there.
        Without ``actor_token``, each exchange asks ``config.actor_tokens`` (if
        any) for one; its ``ActorTokenUnavailable`` stops before any request.
        """
        idp = self.config.idp
        now = self.config.clock()
        meta = yield from self.idp_metadata()
        assert meta.token_endpoint is not None
        if session.subject_token_type == spec.TOKEN_TYPE_SAML2:  # draft §4.5: -> refresh token
            yield from exchange_saml_assertion(
                meta.token_endpoint,
                idp.credentials,
                session,
                idp_issuer=idp.issuer,
                clock=self.config.clock,
                dpop=self.config.dpop,
            )

        def exchange(subject_token: str, subject_token_type: str) -> Flow[IdJag]:
            at = self.config.clock()
            dpop = self.config.dpop
            actor, actor_type = actor_token, actor_token_type
            if actor is None and self.config.actor_tokens is not None:
                credential = self.config.actor_tokens.actor_credential()
                actor, actor_type = credential.token, credential.token_type
            assert meta.token_endpoint is not None
            endpoint = meta.token_endpoint

            def build(nonce: str | None) -> Request:
                return token_exchange_request(
                    endpoint,
                    idp.credentials,
                    idp_issuer=idp.issuer,
                    audience=audience,
                    subject_token=subject_token,
                    subject_token_type=subject_token_type,
                    resource=[resource] if resource else [],
                    scope=scope,
                    actor_token=actor,
                    actor_token_type=actor_type,
                    now=at,
                    dpop=dpop,
                    dpop_nonce=nonce,
                )

            response = yield from send_with_nonce(build, dpop)
            raise_for_refusal(
                response, hop=HOP_IDP_TOKEN_EXCHANGE, issuer=idp.issuer, endpoint=endpoint
            )
            return process_token_exchange_response(
                response,
                idp_issuer=idp.issuer,
                audience=audience,
                client_id=client_id,
                requested_scope=scope,
                now=self.config.clock(),
                idp_keys=idp.keys,
                dpop_jkt=dpop.thumbprint if dpop is not None else None,
            )

        had_refresh_token = session.refresh_token is not None
        subject_token = session.current_subject_token(now, self.config.clock_skew)
        if subject_token is not None:
            try:
                return (yield from exchange(subject_token, session.subject_token_type))
            except TokenRequestRefused as refused:
                if refused.error not in RETRYABLE_SUBJECT_ERRORS:
                    raise
                if session.refresh_token is None:
                    raise ReauthenticationRequired(
                        _authorization_url(meta, idp), f"the subject token was refused: {refused}"
                    ) from None
        if session.refresh_token is not None:
            if _refresh_token_as_subject(idp, meta):
                try:
                    return (
                        yield from exchange(session.refresh_token, spec.TOKEN_TYPE_REFRESH_TOKEN)
                    )
                except TokenRequestRefused as refused:
                    if refused.error not in RETRYABLE_SUBJECT_ERRORS:
                        raise
                    session.refresh_token = None
            else:
                refreshed = yield from self._refresh(meta, session)
                if refreshed:
                    assert session.id_token is not None
                    return (yield from exchange(session.id_token, spec.TOKEN_TYPE_ID_TOKEN))
        reason = _no_subject_token(session, had_refresh_token, idp.issuer)
        raise ReauthenticationRequired(_authorization_url(meta, idp), reason)

    def _refresh(self, meta: AuthorizationServerMetadata, session: IdentitySession) -> Flow[bool]:
        """OIDC Core §12: a refresh-token grant for a new ID token; False when refused."""
        idp = self.config.idp
        assert meta.token_endpoint is not None and session.refresh_token is not None
        form: dict[str, str | list[str]] = {
            spec.P_GRANT_TYPE: spec.GRANT_REFRESH_TOKEN,
            spec.P_REFRESH_TOKEN: session.refresh_token,
        }
        headers = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
        idp.credentials.apply(form, headers, issuer=idp.issuer, now=self.config.clock())
        response = yield Request("POST", meta.token_endpoint, headers, encode_form(form))
        try:
            raise_for_refusal(response, hop=HOP_IDP_REFRESH, issuer=idp.issuer)
        except TokenRequestRefused as refused:
            if refused.error not in RETRYABLE_SUBJECT_ERRORS:
                raise
            session.refresh_token = None
            return False
        body = json_body(response, rules.REFRESH_RESPONSE)
        id_token, rotated = body.get("id_token"), body.get(spec.R_REFRESH_TOKEN)
        if not isinstance(id_token, str) or not id_token:
            return False
        session.id_token = id_token
        if isinstance(rotated, str) and rotated:
            session.refresh_token = rotated
        return True


class _Redeem:
    """The resource AS leg (draft §4.4) for one AS, resource and scope."""

    def __init__(
        self,
        flow: XaaFlow,
        meta: AuthorizationServerMetadata,
        credentials: ClientCredentials,
        resource: str,
        scope: frozenset[str],
    ) -> None:
        assert meta.token_endpoint is not None
        require_same_origin(meta.token_endpoint, meta.issuer)
        self.flow, self.meta, self.credentials = flow, meta, credentials
        self.resource, self.scope = resource, scope

    def __call__(self, jag: IdJag) -> Flow[AccessToken]:
        """Redeem ``jag`` for exactly the scope it grants (draft §4.4.1: never more)."""
        config = self.flow.config
        assert self.meta.token_endpoint is not None
        endpoint, at = self.meta.token_endpoint, config.clock()

        def build(nonce: str | None) -> Request:
            return jwt_bearer_request(
                endpoint,
                self.credentials,
                as_issuer=self.meta.issuer,
                assertion=jag,
                scope=jag.scope,
                resource=self.resource,
                now=at,
                dpop=config.dpop,
                dpop_nonce=nonce,
            )

        response = yield from send_with_nonce(build, config.dpop)
        raise_for_refusal(response, hop=HOP_RESOURCE_AS, issuer=self.meta.issuer)
        token = process_token_response(
            response,
            as_issuer=self.meta.issuer,
            resource=self.resource,
            requested_scope=jag.scope,
            now=config.clock(),
            dpop=config.dpop is not None,
        )
        return replace(token, requested_scopes=self.scope, id_jag_scopes=jag.scope)


def _no_subject_token(session: IdentitySession, had_refresh_token: bool, idp: str) -> str:
    """Why no rung of the ladder is left (draft §4.4.3), in words the user can act on."""
    if had_refresh_token:
        lost = f"the IdP at {idp} refused the refresh token"
    else:
        lost = "there is no refresh token"
    if session.id_token is None:
        return f"no usable subject token: the session has no ID token and {lost}"
    if session.subject_token_type != spec.TOKEN_TYPE_ID_TOKEN:
        return f"no usable subject token: the IdP refused the subject token and {lost}"
    exp = session._claims().get("exp")
    if not isinstance(exp, int):
        return f"no usable subject token: the ID token has no exp (not a JWT?) and {lost}"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
    return (
        f"no usable subject token: the ID token expires at {when} (clock skew counted) and {lost}"
    )


def _granted(token: AccessToken, required: frozenset[str], hop: str) -> AccessToken:
    """``token``, unless it lacks a ``required`` scope: then :class:`ScopeNotGranted`."""
    if required - token.scopes:
        raise ScopeNotGranted(required - token.scopes, token.scopes, hop=hop, issuer=token.issuer)
    return token


def _refresh_token_as_subject(idp: IdpConfig, meta: AuthorizationServerMetadata) -> bool:
    if idp.refresh_token_as_subject is not None:
        return idp.refresh_token_as_subject
    advertised = (meta.model_extra or {}).get(spec.M_SUBJECT_TOKEN_TYPES)
    return isinstance(advertised, list) and spec.TOKEN_TYPE_REFRESH_TOKEN in advertised


def _authorization_url(meta: AuthorizationServerMetadata, idp: IdpConfig) -> str | None:
    """Where to send the user to sign in again (add ``state``, ``nonce`` and PKCE).

    ``None`` unless the endpoint is https or loopback http (RFC 6749 §3.1).
    """
    if meta.authorization_endpoint is None or not is_secure(meta.authorization_endpoint):
        return None
    params = {"response_type": "code", "client_id": idp.credentials.client_id, "scope": "openid"}
    if idp.redirect_uri:
        params["redirect_uri"] = idp.redirect_uri
    return f"{meta.authorization_endpoint}?{urlencode(params)}"


def run_sync(flow: Flow[T], send: Callable[[Request], HttpResponse]) -> T:
    """Drive ``flow`` with a blocking ``send``."""
    try:
        request = next(flow)
        while True:
            request = flow.send(send(request))
    except StopIteration as stop:
        result: T = stop.value
        return result


async def run_async(flow: Flow[T], send: Callable[[Request], Awaitable[HttpResponse]]) -> T:
    """Drive ``flow`` with an awaitable ``send``."""
    try:
        request = next(flow)
        while True:
            request = flow.send(await send(request))
    except StopIteration as stop:
        result: T = stop.value
        return result
