"""The resource server's access token check (RFC 6750, RFC 9068 §4, RFC 9728 §5.1).

:meth:`ResourceServer.authorize` takes the request headers and query names and
returns the verified claims or raises an ``OAuthError`` whose headers carry
the ``WWW-Authenticate`` challenge with ``resource_metadata``:

- no token: 401 with a challenge and no error code (RFC 6750 §3.1);
- malformed, wrong ``typ``/``iss``/``aud``, expired, bad signature, unknown
  key, a ``cnf``-bound token sent as Bearer: 401 ``invalid_token``;
- a token sent in the header and in the query at once: 400 ``invalid_request``;
- a scope missing: 403 ``insufficient_scope`` with the needed ``scope``.

Only the ``Authorization`` header is accepted (``bearer_methods_supported``
is ``["header"]``); a query ``access_token`` alone counts as no token.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .. import spec
from ..errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from ..keys import JwkSet
from ..models import AccessTokenClaims
from ..tokens import DEFAULT_LEEWAY, verify_access_token

QUERY_ACCESS_TOKEN = "access_token"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class ResourceServer:
    """Checks access tokens for one protected resource."""

    resource: str
    issuer: str
    keys: JwkSet
    resource_metadata_url: str
    leeway: int = DEFAULT_LEEWAY

    def challenge(self, error: OAuthError | None = None, scope: str | None = None) -> str:
        """The ``WWW-Authenticate: Bearer`` value (RFC 6750 §3, RFC 9728 §5.1)."""
        params = []
        if error is not None:
            params.append(f"error={_quote(error.error)}")
            params.append(f"error_description={_quote(error.description)}")
        if scope:
            params.append(f"scope={_quote(scope)}")
        params.append(f"resource_metadata={_quote(self.resource_metadata_url)}")
        return "Bearer " + ", ".join(params)

    def authorize(
        self,
        headers: Mapping[str, str],
        query: Collection[str],
        scopes: Collection[str],
        *,
        any_of: bool = False,
        now: float | None = None,
    ) -> AccessTokenClaims:
        """The claims of a valid token holding every scope in ``scopes`` (or one of them
        with ``any_of``); else raise."""
        header = headers.get(spec.H_AUTHORIZATION)
        if header is not None and QUERY_ACCESS_TOKEN in query:
            raise self._error(InvalidRequest(detail="token sent two ways"))
        scheme, _, token = (header or "").partition(" ")
        if header is None or scheme.lower() != "bearer" or not token.strip():
            error = InvalidToken("An access token is required.", detail="no bearer token")
            error.headers[spec.H_WWW_AUTHENTICATE] = self.challenge()
            raise error
        try:
            verified = verify_access_token(
                token.strip(),
                keys=self.keys,
                issuer=self.issuer,
                resource=self.resource,
                now=time.time() if now is None else now,
                leeway=self.leeway,
            )
        except InvalidToken as exc:
            raise self._error(exc) from None
        claims = verified.claims
        held = claims.scopes & set(scopes)
        if scopes and (not held if any_of else held != set(scopes)):
            needed = " ".join(sorted(scopes))
            denied = InsufficientScope(detail="scope missing", extra={"scope": needed})
            raise self._error(denied, needed)
        return claims

    def _error(self, exc: OAuthError, scope: str | None = None) -> OAuthError:
        exc.headers[spec.H_WWW_AUTHENTICATE] = self.challenge(exc, scope)
        return exc
