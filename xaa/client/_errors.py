"""Errors the client side raises to its caller (not rendered to any peer).

- :class:`ReauthenticationRequired`: every rung of the ladder failed; send the
  user to ``authorization_url`` at the IdP (draft §4.4.3).
- :class:`StepUpRequired`: the IdP or the resource wants a stronger sign-in
  (draft §8.2, RFC 9470 §3), with ``max_age`` and ``acr_values``.
- :class:`TokenRequestRefused`: a token endpoint answered an RFC 6749 §5.2
  error; ``hop`` says which request (the IdP's token exchange, its refresh grant,
  or the resource AS's jwt-bearer grant), ``issuer`` which server, and the
  message carries the server's ``error_description``.
- :class:`HopDeadlineExceeded`, :class:`ResponseTooLarge`: one HTTP exchange
  overran its deadline or its body cap (docs/client.md).

Every ``hop`` is one of :data:`HOPS` (the ``HOP_*`` constants), the same words
for refusals and for transport errors.
- :class:`PolicyDenied`: a :class:`TokenRequestRefused` by policy (``access_denied``,
  ``invalid_target``, ``invalid_scope``, ``unauthorized_client``); retrying the
  same request cannot succeed, so xaa never retries it.
- :class:`ScopeNotGranted`: a call needs a scope the IdP (or the resource AS)
  narrowed away (draft §4.3.3, §4.4.1); asking again cannot help.

A peer breaking the protocol raises :class:`xaa.ProtocolViolation`.
"""

from __future__ import annotations

from .. import rules
from .._errors import ProtocolViolation, XaaError

POLICY_DENIAL_CODES = frozenset(
    {"access_denied", "invalid_target", "invalid_scope", "unauthorized_client"}
)

# The hops of the flow: every client error that names one (``hop``) uses one of these.
HOP_DISCOVERY = "discovery"
"""A metadata fetch (RFC 9728 §3, RFC 8414 §3, draft §7)."""
HOP_IDP_TOKEN_EXCHANGE = "idp-token-exchange"
"""The token exchange at the IdP that returns the ID-JAG (draft §4.3)."""
HOP_IDP_REFRESH = "idp-refresh"
"""The refresh token grant at the IdP (RFC 6749 §6, draft §4.4.3)."""
HOP_RESOURCE_AS = "resource-as-jwt-bearer"
"""The jwt-bearer grant at the resource AS presenting the ID-JAG (draft §4.4)."""
HOP_TOKEN_REQUEST = "token-request"
"""Any other token request (another grant, e.g. the code of ``login_with_password``)."""
HOPS = frozenset(
    {HOP_DISCOVERY, HOP_IDP_TOKEN_EXCHANGE, HOP_IDP_REFRESH, HOP_RESOURCE_AS, HOP_TOKEN_REQUEST}
)
"""Every value of ``hop`` a client error carries (docs/errors.md)."""
_HOPS = {
    HOP_IDP_TOKEN_EXCHANGE: ("the IdP", "the token exchange"),
    HOP_IDP_REFRESH: ("the IdP", "the refresh token"),
    HOP_RESOURCE_AS: ("the resource AS", "the ID-JAG"),
    HOP_TOKEN_REQUEST: ("the server", "the token request"),
}


class XaaClientError(XaaError):
    """Base of the errors the client side raises."""


class ReauthenticationRequired(XaaClientError):
    """No valid ID token, refresh token or ID-JAG is left: the user must sign in again."""

    def __init__(self, authorization_url: str | None, reason: str) -> None:
        self.authorization_url = authorization_url
        self.reason = reason
        super().__init__(f"re-authentication required: {reason}")


class StepUpRequired(XaaClientError):
    """RFC 9470 §3 ``insufficient_user_authentication``: sign the user in more strongly."""

    def __init__(self, max_age: int | None = None, acr_values: str | None = None) -> None:
        self.max_age = max_age
        self.acr_values = acr_values
        super().__init__(f"step-up authentication required (max_age={max_age}, acr={acr_values})")


class TokenRequestRefused(XaaClientError):
    """A token endpoint refused the request (RFC 6749 §5.2); ``error`` keeps its code.

    ``hop`` is :data:`HOP_IDP_TOKEN_EXCHANGE`, :data:`HOP_IDP_REFRESH` or
    :data:`HOP_RESOURCE_AS` (``None`` when a bare processor raised it); ``description``
    is the server's ``error_description`` as sent (``None`` when it sent none); ``endpoint``
    the token endpoint that answered when it is off the issuer's origin (a handed one), else
    ``None``. The server's reason in full is in its own log or audit trail, never in the response.
    """

    def __init__(
        self,
        error: str,
        status: int,
        description: str | None,
        *,
        hop: str | None = None,
        issuer: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.error = error
        self.status = status
        self.description = description
        self.hop = hop
        self.issuer = issuer
        self.endpoint = endpoint
        super().__init__(self._message())

    @property
    def refused_by(self) -> str:
        """``the IdP`` or ``the resource AS`` (``the server`` when the hop is unknown)."""
        return _HOPS[self.hop][0] if self.hop in _HOPS else "the server"

    def _message(self) -> str:
        server, what = _HOPS.get(self.hop or "", ("the server", "the request"))
        where = f"{server} at {self.issuer}" if self.issuer else server
        if self.endpoint:  # a handed token endpoint off the issuer's origin: say which
            where += f" (its token endpoint {self.endpoint})"
        reason = f" ({self.description})" if self.description else ""
        return f"{where} refused {what}: {self.error}{reason}"


class PolicyDenied(TokenRequestRefused):
    """A server denied the request by policy (``where``: ``IdP`` or ``authorization server``)."""

    def __init__(
        self,
        error: str,
        status: int,
        description: str | None,
        where: str,
        *,
        hop: str | None = None,
        issuer: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.where = where
        super().__init__(error, status, description, hop=hop, issuer=issuer, endpoint=endpoint)

    def _message(self) -> str:
        if self.hop is None:
            reason = f" ({self.description})" if self.description else ""
            return f"{self.where} denied the request: {self.error}{reason}"
        return super()._message()


class ScopeNotGranted(XaaClientError):
    """The IdP (``hop`` :data:`HOP_IDP_TOKEN_EXCHANGE`) or the resource AS
    (:data:`HOP_RESOURCE_AS`) declined a scope the call needs (draft §4.3.3, §4.4.1):
    ``missing`` was asked for and not granted."""

    def __init__(
        self,
        missing: frozenset[str],
        granted: frozenset[str],
        *,
        hop: str,
        issuer: str,
    ) -> None:
        self.missing = missing
        self.granted = granted
        self.hop = hop
        self.issuer = issuer
        server = _HOPS[hop][0] if hop in _HOPS else "the server"
        super().__init__(
            f"{server} at {issuer} declined scope {' '.join(sorted(missing))!r} "
            f"(granted: {' '.join(sorted(granted)) or 'nothing'}); "
            "asking again will not help until its policy grants it"
        )


class HopDeadlineExceeded(XaaClientError):
    """One hop overran its overall deadline; ``hop`` is one of :data:`HOPS`.

    A server dripping bytes cannot hold the caller longer than the deadline,
    however short each read is (docs/client.md).
    """

    def __init__(self, hop: str, url: str, deadline: float) -> None:
        self.hop = hop
        self.url = url
        self.deadline = deadline
        super().__init__(f"{hop} at {url} took longer than its {deadline:g} s deadline")


class ResponseTooLarge(ProtocolViolation):
    """A body announced or sent past the client's cap (rule ``response-too-large``);
    ``hop`` is one of :data:`HOPS`."""

    def __init__(self, hop: str, url: str, limit: int) -> None:
        self.hop = hop
        self.url = url
        self.limit = limit
        super().__init__(rules.RESPONSE_TOO_LARGE, f"{hop} at {url}: body over {limit} bytes")
