"""OAuth errors, named as RFC 6749 §5.2 and its extensions.

Every rejection a server makes is an :class:`OAuthError`. It carries a
generic public ``description`` (safe to send; never token bytes) and a private
``detail`` for the log. :meth:`OAuthError.to_response` renders the RFC 6749
§5.2 JSON body with ``Cache-Control: no-store``.

On the client side a peer that breaks the protocol raises
:class:`ProtocolViolation`; an error body a server sent us is rebuilt with
:func:`error_from_response`.

Every exception xaa raises derives from :class:`XaaError` (docs/errors.md), so one
``except XaaError`` catches anything the library refuses; ``rule`` identifiers are the
kebab-case constants of :mod:`xaa.rules`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from . import rules

ConfigModel = TypeVar("ConfigModel", bound=BaseModel)

JsonScalar = str | int | float | bool | None


class HttpResponse(NamedTuple):
    """What a sans-I/O endpoint step returns: ``(status, headers, body)``."""

    status: int
    headers: dict[str, str]
    body: bytes


def json_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """A JSON response that no cache may keep (RFC 6749 §5.1, RFC 8693 §2.2)."""
    out = {
        "content-type": "application/json",
        "cache-control": "no-store",
        "pragma": "no-cache",
    }
    if headers:
        out.update({k.lower(): v for k, v in headers.items()})
    return HttpResponse(status, out, json.dumps(body, separators=(",", ":")).encode())


class XaaError(Exception):
    """The root of every exception the xaa library raises (docs/errors.md)."""


class MalformedEncoding(XaaError, ValueError):
    """Bytes that are not canonical base64url or strict JSON (RFC 7515 §2, §5.2), or a
    URI that is not an absolute http(s) URI (RFC 3986 §3; :func:`xaa.dpop.normalize_htu`)."""


class SignInFailed(XaaError):
    """An IdP's login form refused the username or password (not a protocol violation)."""


class OAuthError(XaaError):
    """An RFC 6749 §5.2 error: ``error`` code, HTTP status, public description.

    ``detail`` is for logs only and is never rendered into the response.
    ``extra`` holds additional response members (``max_age``, ``scope``, ...).
    """

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400
    default_description: ClassVar[str] = "The request is invalid."

    def __init__(
        self,
        description: str | None = None,
        *,
        detail: str = "",
        extra: Mapping[str, JsonScalar] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.description = description or self.default_description
        self.detail = detail
        self.extra: dict[str, JsonScalar] = dict(extra or {})
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        super().__init__(f"{self.error}: {self.description}" + (f" ({detail})" if detail else ""))

    def body(self) -> dict[str, JsonScalar]:
        """The JSON members of the error response."""
        out: dict[str, JsonScalar] = {"error": self.error, "error_description": self.description}
        out.update(self.extra)
        return out

    def to_response(self) -> HttpResponse:
        """Render as ``(status, headers, body)`` with ``Cache-Control: no-store``."""
        return json_response(self.status, self.body(), self.headers)


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2 ``invalid_request``."""

    error = "invalid_request"
    default_description = "The request is missing a parameter or is otherwise malformed."


class InvalidClient(OAuthError):
    """RFC 6749 §5.2 ``invalid_client``: 401, with a Basic challenge when Basic was used."""

    error = "invalid_client"
    status = 401
    default_description = "Client authentication failed."


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2 ``invalid_grant``."""

    error = "invalid_grant"
    default_description = "The authorization grant is invalid."


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2 ``unauthorized_client``."""

    error = "unauthorized_client"
    default_description = "The client is not authorized to use this grant type."


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2 ``unsupported_grant_type``."""

    error = "unsupported_grant_type"
    default_description = "The grant type is not supported."


class InvalidScope(OAuthError):
    """RFC 6749 §5.2 ``invalid_scope``."""

    error = "invalid_scope"
    default_description = "The requested scope is invalid or exceeds what may be granted."


class InvalidTarget(OAuthError):
    """RFC 8707 §2 ``invalid_target``."""

    error = "invalid_target"
    default_description = "The requested audience or resource is not allowed."


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1 ``access_denied``."""

    error = "access_denied"
    default_description = "The request was denied."


class InsufficientUserAuthentication(OAuthError):
    """RFC 9470 §3 ``insufficient_user_authentication`` (draft §8.2)."""

    error = "insufficient_user_authentication"
    default_description = "The subject does not meet the authentication requirements."


class InvalidAuthorizationDetails(OAuthError):
    """RFC 9396 §5 ``invalid_authorization_details``."""

    error = "invalid_authorization_details"
    default_description = "The authorization details are invalid."


class InvalidDpopProof(OAuthError):
    """RFC 9449 §5 ``invalid_dpop_proof``."""

    error = "invalid_dpop_proof"
    default_description = "The DPoP proof is invalid."


class UseDpopNonce(OAuthError):
    """RFC 9449 §8 ``use_dpop_nonce``."""

    error = "use_dpop_nonce"
    default_description = "A DPoP nonce is required."


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1 ``temporarily_unavailable``: 503, the server fails closed."""

    error = "temporarily_unavailable"
    status = 503
    default_description = "The service is temporarily unavailable."


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1 ``server_error``."""

    error = "server_error"
    status = 500
    default_description = "The server encountered an unexpected condition."


class InvalidToken(OAuthError):
    """RFC 6750 §3.1 ``invalid_token`` at a resource server: 401."""

    error = "invalid_token"
    status = 401
    default_description = "The access token is invalid."


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1 ``insufficient_scope`` at a resource server: 403."""

    error = "insufficient_scope"
    status = 403
    default_description = "The access token does not grant the required scope."


ERRORS_BY_CODE: dict[str, type[OAuthError]] = {
    cls.error: cls
    for cls in (
        InvalidRequest,
        InvalidClient,
        InvalidGrant,
        UnauthorizedClient,
        UnsupportedGrantType,
        InvalidScope,
        InvalidTarget,
        AccessDenied,
        InsufficientUserAuthentication,
        InvalidAuthorizationDetails,
        InvalidDpopProof,
        UseDpopNonce,
        TemporarilyUnavailable,
        ServerError,
        InvalidToken,
        InsufficientScope,
    )
}


class ProtocolViolation(XaaError):
    """A remote peer (IdP, AS, RS) answered in a way the protocol forbids.

    Raised on the client side; ``rule`` names the broken rule, one of the kebab-case
    constants of :mod:`xaa.rules` (e.g. ``"issued-token-type"``). Never carries token bytes.
    """

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(f"{rule}: {message}")


class ConfigurationError(XaaError, ValueError):
    """A deployment's own input is unusable (a file, a line in it, an option); the message
    names which, in one line, and never holds a secret. The ``xaa`` command prints it
    without a traceback (exit status 2)."""

    @classmethod
    def from_validation(cls, exc: ValidationError, source: str = "") -> ConfigurationError:
        """``SOURCE: clients[0].secret: Field required (and 2 more)`` for pydantic's first
        error; never the input values (a configuration holds secrets)."""
        error = exc.errors(include_input=False, include_url=False)[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        more = exc.error_count() - 1
        text = f"{path.lstrip('.') or 'top level'}: {message}"
        text += f" (and {more} more)" if more else ""
        return cls(f"{source}: {text}" if source else text)


def validated_config(model: type[ConfigModel], data: Mapping[str, Any]) -> ConfigModel:
    """``data`` as a ``model`` configuration document, or :class:`ConfigurationError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError.from_validation(exc, model.__name__) from None


class RemoteOAuthError(OAuthError):
    """An OAuth error response a server sent us, with its code preserved."""

    def __init__(self, error: str, status: int, description: str | None, **extra: Any) -> None:
        self.error = error  # type: ignore[misc]
        self.status = status  # type: ignore[misc]
        super().__init__(description or f"The server answered {error}.", extra=extra)


def error_from_response(status: int, body: Mapping[str, Any]) -> OAuthError:
    """Rebuild the error a server sent (RFC 6749 §5.2) as an ``OAuthError``.

    Known codes map to their class; unknown ones become :class:`RemoteOAuthError`.
    Raises :class:`ProtocolViolation` when the body is not an error object.
    """
    code = body.get("error")
    if not isinstance(code, str) or not code:
        raise ProtocolViolation(rules.ERROR_RESPONSE, f"HTTP {status} without an error code")
    raw_description = body.get("error_description")
    description = raw_description if isinstance(raw_description, str) else None
    extra = {
        k: v
        for k, v in body.items()
        if k not in ("error", "error_description") and isinstance(v, str | int | float | bool)
    }
    cls = ERRORS_BY_CODE.get(code)
    if cls is None:
        return RemoteOAuthError(code, status, description, **extra)
    return cls(description, extra=extra)
