"""The resource server's access token check (RFC 6750, RFC 9068 §4, RFC 9728 §5.1).

:meth:`ResourceServer.authorize` takes the request headers and query names and
returns the verified claims or raises an ``OAuthError`` whose headers carry
the ``WWW-Authenticate`` challenge with ``resource_metadata``:

- no token: 401 with a challenge and no error code (RFC 6750 §3.1);
- malformed, wrong ``typ``/``iss``/``aud``, expired, bad signature, unknown
  key, a ``cnf``-bound token sent as Bearer: 401 ``invalid_token``;
- a token sent in the header and in the query at once: 400 ``invalid_request``;
- a scope missing: 403 ``insufficient_scope`` with the needed ``scope``.

Challenges name every scheme accepted here (RFC 9110 §11.6.1): ``Bearer`` alone
without a ``dpop`` verifier, ``Bearer`` and ``DPoP`` (with ``algs``) with one
(RFC 9449 §7.2), ``DPoP`` alone with ``require_dpop``; the error goes on the
scheme the client used, first; each carries ``resource_metadata``.

With a ``dpop`` verifier the ``DPoP`` scheme is served too (RFC 9449 §7.1): the
token must carry ``cnf.jkt``, a proof must come in the ``DPoP`` header for this
method and ``htu`` (the resource's configured origin plus the request path, never
the ``Host`` header) with the token's ``ath``, signed by the ``cnf.jkt`` key; a
failure is 401 ``invalid_dpop_proof`` (or ``use_dpop_nonce`` with a ``DPoP-Nonce``)
with the error on the ``DPoP`` challenge. ``require_dpop`` refuses unbound
(Bearer) tokens. :meth:`ResourceServer.response` renders any refusal.

Only the ``Authorization`` header is accepted (``bearer_methods_supported``
is ``["header"]``); a query ``access_token`` alone counts as no token.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import spec
from .._dpop import DEFAULT_DPOP_ALGS, check_token_binding, www_authenticate_dpop
from .._dpop_server import DpopProofVerifier
from .._errors import (
    ConfigurationError,
    HttpResponse,
    InsufficientScope,
    InvalidDpopProof,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    UseDpopNonce,
    json_response,
)
from .._keys import JwkSet
from .._models import AccessTokenClaims
from .._tokens import DEFAULT_LEEWAY, verify_access_token


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class ResourceServer:
    """Checks access tokens for one protected resource.

    ``dpop`` serves the DPoP scheme; ``require_dpop`` refuses Bearer tokens.
    """

    resource: str
    issuer: str
    keys: JwkSet
    resource_metadata_url: str
    leeway: int = DEFAULT_LEEWAY
    dpop: DpopProofVerifier | None = None
    require_dpop: bool = False

    def __post_init__(self) -> None:
        if self.require_dpop and self.dpop is None:
            raise ConfigurationError("require_dpop needs a DPoP proof verifier")

    def htu(self, path: str) -> str:
        """The URI a proof must name: the resource's configured origin plus ``path``."""
        parts = urlsplit(self.resource)
        return f"{parts.scheme}://{parts.netloc}{path}"

    @property
    def schemes(self) -> tuple[str, ...]:
        """The schemes accepted here: ``Bearer``, ``DPoP`` or both (RFC 9449 §7.1, §7.2)."""
        if self.dpop is None:
            return (spec.TOKEN_TYPE_BEARER,)
        if self.require_dpop:
            return (spec.TOKEN_TYPE_DPOP,)
        return (spec.TOKEN_TYPE_BEARER, spec.TOKEN_TYPE_DPOP)

    def challenge(
        self, error: OAuthError | None = None, scope: str | None = None, *, scheme: str = ""
    ) -> str:
        """The ``WWW-Authenticate`` value: one challenge per accepted scheme.

        RFC 9110 §11.6.1 (an applicable challenge), RFC 9449 §7.1 (``DPoP`` with
        ``algs``), §7.2 (both when both are accepted), RFC 9728 §5.1
        (``resource_metadata`` on each). ``error`` and ``scope`` go on ``scheme``,
        the one the client used, or on the first accepted scheme when it used
        another; that challenge comes first.
        """
        accepted = self.schemes
        used = next((s for s in accepted if s.lower() == scheme.lower()), accepted[0])
        failed = used if error is not None or scope else None
        ordered = sorted(accepted, key=lambda s: s != failed)
        return ", ".join(
            self._one_challenge(s, error if s == failed else None, scope if s == failed else None)
            for s in ordered
        )

    def _one_challenge(self, scheme: str, error: OAuthError | None, scope: str | None) -> str:
        if scheme == spec.TOKEN_TYPE_DPOP:
            params = {"scope": scope} if scope else {}
            params["resource_metadata"] = self.resource_metadata_url
            return www_authenticate_dpop(
                algs=self.dpop.algs if self.dpop else DEFAULT_DPOP_ALGS,
                error=error.error if error else None,
                error_description=error.description if error else None,
                params=params,
            )
        items = []
        if error is not None:
            items.append(f"error={_quote(error.error)}")
            items.append(f"error_description={_quote(error.description)}")
        if scope:
            items.append(f"scope={_quote(scope)}")
        items.append(f"resource_metadata={_quote(self.resource_metadata_url)}")
        return f"{spec.TOKEN_TYPE_BEARER} " + ", ".join(items)

    def authorize(
        self,
        headers: Mapping[str, str],
        query: Collection[str],
        scopes: Collection[str],
        *,
        any_of: bool = False,
        now: float | None = None,
        method: str = "GET",
        path: str = "/",
    ) -> AccessTokenClaims:
        """The claims of a valid token holding every scope in ``scopes`` (or one of them
        with ``any_of``); else raise. ``method`` and ``path`` are the request's (DPoP)."""
        header = headers.get(spec.H_AUTHORIZATION)
        scheme, _, token = (header or "").partition(" ")
        if header is not None and spec.Q_ACCESS_TOKEN in query:
            raise self._error(InvalidRequest(detail="token sent two ways"), scheme=scheme)
        at = time.time() if now is None else now
        dpop = self.dpop is not None and scheme.lower() == "dpop"
        if header is None or not (dpop or scheme.lower() == "bearer") or not token.strip():
            error = InvalidToken("An access token is required.", detail="no bearer token")
            error.headers[spec.H_WWW_AUTHENTICATE] = self.challenge()
            raise error
        if dpop:
            claims = self._dpop_claims(token.strip(), headers, method, path, at)
        else:
            try:
                claims = verify_access_token(
                    token.strip(),
                    keys=self.keys,
                    issuer=self.issuer,
                    resource=self.resource,
                    now=at,
                    leeway=self.leeway,
                ).claims
            except InvalidToken as exc:
                raise self._error(exc, scheme=scheme) from None
            if self.require_dpop:
                downgrade = InvalidToken(detail="Bearer token where DPoP is required")
                raise self._error(downgrade, scheme=scheme)
        held = claims.scopes & set(scopes)
        if scopes and (not held if any_of else held != set(scopes)):
            needed = " ".join(sorted(scopes))
            denied = InsufficientScope(detail="scope missing", extra={"scope": needed})
            raise self._error(denied, needed, scheme=scheme)
        return claims

    def _dpop_claims(
        self, token: str, headers: Mapping[str, str], method: str, path: str, now: float
    ) -> AccessTokenClaims:
        """RFC 9449 §7.1: a ``cnf``-bound token, a proof for this request, the same key."""
        assert self.dpop is not None
        proof = headers.get(spec.H_DPOP)
        try:
            claims = verify_access_token(
                token,
                keys=self.keys,
                issuer=self.issuer,
                resource=self.resource,
                now=now,
                leeway=self.leeway,
                allow_cnf=True,
            ).claims
            jkt = self.dpop.verify(
                [] if proof is None else [proof],
                method=method,
                url=self.htu(path),
                now=now,
                access_token=token,
            )
            check_token_binding(spec.TOKEN_TYPE_DPOP, claims.cnf.jkt if claims.cnf else None, jkt)
        except OAuthError as exc:
            if exc.status >= 500:
                raise
            raise self._error(exc, scheme=spec.TOKEN_TYPE_DPOP) from None
        return claims

    def _error(self, exc: OAuthError, scope: str | None = None, *, scheme: str = "") -> OAuthError:
        exc.headers[spec.H_WWW_AUTHENTICATE] = self.challenge(exc, scope, scheme=scheme)
        return exc

    @staticmethod
    def response(exc: OAuthError) -> HttpResponse:
        """A refusal from :meth:`authorize` as HTTP: DPoP proof errors are 401 (RFC 9449 §7.1)."""
        if exc.error in (InvalidDpopProof.error, UseDpopNonce.error):
            return json_response(401, exc.body(), exc.headers)
        return exc.to_response()
