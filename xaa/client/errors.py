"""Errors the client side raises to its caller (not rendered to any peer).

- :class:`ReauthenticationRequired`: every rung of the ladder failed; send the
  user to ``authorization_url`` at the IdP (draft §4.4.3).
- :class:`StepUpRequired`: the IdP or the resource wants a stronger sign-in
  (draft §8.2, RFC 9470 §3), with ``max_age`` and ``acr_values``.
- :class:`PolicyDenied`: a server refused by policy (``access_denied``,
  ``invalid_target``, ``invalid_scope``, ``unauthorized_client``); retrying the
  same request cannot succeed, so xaa never retries it.

A peer breaking the protocol raises :class:`xaa.errors.ProtocolViolation`.
"""

from __future__ import annotations

from ..errors import ProtocolViolation

POLICY_DENIAL_CODES = frozenset(
    {"access_denied", "invalid_target", "invalid_scope", "unauthorized_client"}
)


class XaaClientError(Exception):
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


class PolicyDenied(XaaClientError):
    """A server denied the request by policy (``error`` keeps its RFC 6749 code)."""

    def __init__(self, error: str, status: int, description: str | None, where: str) -> None:
        self.error = error
        self.status = status
        self.description = description
        self.where = where
        super().__init__(f"{where} denied the request: {error}")


class HopDeadlineExceeded(XaaClientError):
    """One hop (discovery fetch, token exchange, jwt-bearer) overran its overall deadline.

    A server dripping bytes cannot hold the caller longer than the deadline,
    however short each read is (docs/client.md).
    """

    def __init__(self, hop: str, url: str, deadline: float) -> None:
        self.hop = hop
        self.url = url
        self.deadline = deadline
        super().__init__(f"{hop} at {url} took longer than its {deadline:g} s deadline")


class ResponseTooLarge(ProtocolViolation):
    """A body announced or sent past the client's cap (rule ``response-too-large``)."""

    def __init__(self, hop: str, url: str, limit: int) -> None:
        self.hop = hop
        self.url = url
        self.limit = limit
        super().__init__("response-too-large", f"{hop} at {url}: body over {limit} bytes")
