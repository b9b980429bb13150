"""authlib drop-in (``pip install 'xaa[authlib]'``): the ID-JAG jwt-bearer grant, checked by xaa.

Register :class:`XaaIdJagGrant` on an existing authlib ``AuthorizationServer``
(Flask or Django integration) in place of authlib's ``IDJAGGrant``; the vendor keeps
authlib's clients, client authentication, token generator and token storage, and every
ID-JAG check is xaa's (docs/frameworks.md lists what changes and why)::

    grant = XaaIdJagGrant.configure(IdJagGrantConfig(issuer, trust, replay))
    server.register_grant(grant)

The request (draft §4.4): no parameter repeated (RFC 6749 §3.1) and one client
authentication method (RFC 6749 §2.3); the client authenticated by authlib and
allowed the grant type; the ID-JAG verified by :func:`xaa.verify_id_jag` against the
:class:`~xaa.resource.TrustRegistry` (exact issuer, pinned algorithms, keys fetched and
cached by the registry, ``typ``, ``aud`` exactly this issuer, ``client_id`` the
authenticated client, lifetime); ``resource`` and ``scope`` within the ID-JAG
(RFC 8707 §2, RFC 6749 §3.3); the user from ``(iss, tenant, sub)`` through
:meth:`XaaIdJagGrant.resolve_user`; the vendor's policy; and last the ``jti``
claimed in xaa's :class:`~xaa.ReplayStore`, so a refused request never spends it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ._extras import missing_extra

try:
    from authlib.oauth2.rfc6749 import BaseGrant, TokenEndpointMixin
    from authlib.oauth2.rfc6749.errors import OAuth2Error
    from authlib.oauth2.rfc7523.jwt_bearer import JWT_BEARER_GRANT_TYPE

    from .. import spec
    from .._audit import AuditEvent, AuditSink, clean_text
    from .._errors import (
        HttpResponse,
        InvalidClient,
        InvalidGrant,
        InvalidRequest,
        InvalidScope,
        OAuthError,
        UnauthorizedClient,
    )
    from .._forms import MAX_FORM_BYTES, basic_credentials, format_scope, parse_scope
    from .._jose import parse_compact
    from .._models import IdJagClaims
    from .._replay import ReplayStore
    from .._tokens import DEFAULT_LEEWAY, DEFAULT_MAX_ID_JAG_LIFETIME
    from ..resource import TrustRegistry
    from ..resource._redemption import (
        already_used,
        id_jag_claim,
        narrow_resources,
        narrow_scope,
        trusted_issuer,
        verify_at_as,
    )
    from ..resource._subjects import SUBJECT_UNKNOWN
    from ._http_common import RequestTooLarge, declared_length, require_form, wsgi_headers
    from ._wsgi_common import SyncJwksFetcher, refusal
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "authlib", exc) from None

__all__ = ["IdJagGrantConfig", "XaaIdJagGrant", "check_token_request"]

log = logging.getLogger("xaa.authlib")

_SINGLE = ("grant_type", "assertion", "scope", "client_id", "client_secret")


@dataclass(frozen=True)
class IdJagGrantConfig:
    """What the grant checks against: this AS's ``issuer`` (the ID-JAG ``aud``), the trusted
    IdPs, the replay store, and the resources this AS serves (``()``: any)."""

    issuer: str
    trust: TrustRegistry
    replay: ReplayStore
    resources: Collection[str] = ()
    fetcher: SyncJwksFetcher = field(default_factory=SyncJwksFetcher)
    audit: AuditSink | None = None
    leeway: int = DEFAULT_LEEWAY
    max_lifetime: int = DEFAULT_MAX_ID_JAG_LIFETIME


def check_token_request(
    environ: Mapping[str, Any], *, max_bytes: int = MAX_FORM_BYTES
) -> HttpResponse | None:
    """The edge xaa's own bindings keep, for a token view that hands the request to authlib:
    one ``Authorization`` header, Basic credentials that decode (else 401 ``invalid_client``
    with a Basic challenge, RFC 6749 §5.2: authlib's own decoding raises on a non-ASCII
    byte, a 500), a form body, at most ``max_bytes`` declared (413).

    ``None`` when the request may go on to ``server.create_token_response()``, else the
    refusal to send (RFC 6749 §5.2 JSON, ``Cache-Control: no-store``).
    """
    try:
        authorization = wsgi_headers(environ).get(spec.H_AUTHORIZATION, "")
        if authorization.partition(" ")[0].lower() == "basic":
            try:
                basic_credentials(authorization)
            except InvalidClient as exc:
                raise InvalidClient(
                    detail=exc.detail, headers={spec.H_WWW_AUTHENTICATE: 'Basic realm="token"'}
                ) from None
        require_form(environ.get("CONTENT_TYPE"))
        declared = declared_length(environ.get("CONTENT_LENGTH"))
        if declared is not None and declared > max_bytes:
            raise RequestTooLarge(detail=f"declared body of {declared} bytes")
    except OAuthError as exc:
        return refusal(exc, where="token")
    return None


def _authlib_error(exc: OAuthError) -> OAuth2Error:
    """xaa's refusal as authlib's (same code, public description and status)."""
    error = OAuth2Error(description=exc.description, status_code=exc.status)
    error.error = exc.error
    return error


class XaaIdJagGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    """The jwt-bearer grant with the ID-JAG profile (draft §4.4), verified by xaa.

    Configure with :meth:`configure`; override :meth:`resolve_user` (and, for policy,
    :meth:`check_id_jag_permission`). The verified claims are in
    ``self.request.id_jag_claims`` (an :class:`~xaa.IdJagClaims`).
    """

    GRANT_TYPE = JWT_BEARER_GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        spec.AUTH_CLIENT_SECRET_BASIC,
        spec.AUTH_CLIENT_SECRET_POST,
    ]
    config: ClassVar[IdJagGrantConfig]

    @classmethod
    def configure(cls, config: IdJagGrantConfig) -> type[XaaIdJagGrant]:
        """A subclass of ``cls`` bound to ``config``, to pass to ``register_grant``."""
        return type(cls.__name__, (cls,), {"config": config})

    # -- authlib's grant lifecycle ---------------------------------------------------------

    def validate_token_request(self) -> None:
        """Every check, or an authlib ``OAuth2Error`` carrying xaa's refusal."""
        try:
            self._validate()
        except OAuthError as exc:
            log.info("token rejected: %s (%s)", exc.error, clean_text(exc.detail))
            self._audit("denied", f"{exc.error}: {exc.detail}"[:300])
            raise _authlib_error(exc) from None

    def create_token_response(self) -> tuple[int, Any, Any]:
        """An access token from the server's generator; never a refresh token (draft §4.4.3)."""
        token = self.generate_token(
            scope=self.request.scope, user=self.request.user, include_refresh_token=False
        )
        self.save_token(token)
        self._audit("issued", "")
        return 200, token, self.TOKEN_RESPONSE_HEADER

    # -- hooks -----------------------------------------------------------------------------

    def resolve_user(self, claims: IdJagClaims) -> Any:
        """The local user for ``(claims.iss, claims.tenant, claims.sub)``, or ``None``
        (draft §3.1, §6.3: ``sub`` is unique only within its issuer and tenant)."""
        raise NotImplementedError

    def check_id_jag_permission(self, client: Any, user: Any, scopes: list[str]) -> bool:
        """Vendor policy: may ``client`` act for ``user`` with ``scopes``? (default: yes)."""
        del client, user, scopes
        return True

    # -- the checks ------------------------------------------------------------------------

    def _validate(self) -> None:
        datalist = self.request.payload.datalist
        repeated = [name for name in _SINGLE if len(datalist.get(name, [])) > 1]
        if repeated:
            raise InvalidRequest("A parameter is repeated.", detail=f"repeated {repeated[0]}")
        if self.request.headers.get("Authorization") and datalist.get("client_secret"):
            raise InvalidRequest(
                "The client used more than one authentication method.",
                detail="Basic and client_secret_post at once",
            )
        client = self.authenticate_token_endpoint_client()  # authlib's invalid_client
        assertion = self.request.form.get(spec.P_ASSERTION)
        if not assertion:
            raise InvalidRequest(detail="assertion missing")
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClient(detail="jwt-bearer not enabled for this client")
        claims = self._verify(assertion, client.get_client_id())
        self.request.id_jag_claims = claims
        self.request.client = client
        resources = self._resources(claims)
        self.request.scope = self._scope(claims)
        user = self.resolve_user(claims)
        if not user:
            raise InvalidGrant(SUBJECT_UNKNOWN, detail="unknown sub")
        scopes = sorted(parse_scope(self.request.scope))
        if not self.check_id_jag_permission(client, user, scopes):
            raise InvalidGrant(detail="vendor policy refused the client for this user")
        self.request.user = user
        self.request.id_jag_resources = resources
        self._claim_jti(claims, client.get_client_id())

    def _verify(self, assertion: str, client_id: str) -> IdJagClaims:
        config = self.config
        now = time.time()
        jws = parse_compact(assertion, error=InvalidGrant)  # strict; verified below
        issuer, kid = trusted_issuer(jws, config.trust), jws.header.get("kid")
        if (kid is None or isinstance(kid, str)) and config.trust.needs_refresh(issuer, kid, now):
            config.fetcher.refresh(config.trust, issuer, now)
        return verify_at_as(
            jws,
            config.trust,
            audience=config.issuer,
            client_id=client_id,
            now=now,
            leeway=config.leeway,
            max_lifetime=config.max_lifetime,
        )

    def _resources(self, claims: IdJagClaims) -> list[str]:
        """RFC 8707 §2: requested resources within the ID-JAG's and served here."""
        requested = self.request.payload.datalist.get(spec.P_RESOURCE, [])
        return narrow_resources(claims.resources, requested, self.config.resources or None)

    def _scope(self, claims: IdJagClaims) -> str:
        """RFC 6749 §3.3: the requested scope within the ID-JAG's (default: all of it),
        and within what the server supports."""
        scope = format_scope(narrow_scope(claims.scope, self.request.payload.scope))
        try:
            self.server.validate_requested_scope(scope)
        except OAuth2Error:
            raise InvalidScope(detail="scope not supported by this server") from None
        return scope

    def _claim_jti(self, claims: IdJagClaims, client_id: str) -> None:
        """Last: ``(iss, jti)`` single use (draft §4.4.1)."""
        claim = id_jag_claim(self.config.replay, claims, client_id, self.config.leeway, time.time())
        if claim.perform() is not None:
            raise already_used()

    def _audit(self, decision: Literal["issued", "denied"], reason: str) -> None:
        audit = self.config.audit
        if audit is None:
            return
        claims: IdJagClaims | None = getattr(self.request, "id_jag_claims", None)
        client = getattr(self.request, "client", None)
        audit.emit(
            AuditEvent(
                event="jwt_bearer",
                decision=decision,
                reason=reason,
                client_id=client.get_client_id() if client is not None else None,
                audience=self.config.issuer,
                issuer=claims.iss if claims else None,
                subject=claims.sub if claims else None,
                jti=claims.jti if claims else None,
            )
        )
