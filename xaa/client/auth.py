"""Client authentication at a token endpoint, as the client (RFC 6749 §2.3, RFC 7523 §2.2).

Each server (the IdP, each resource AS) knows the client under its own
identity, so each gets its own :class:`ClientCredentials`. Confidential
methods only (draft §8.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import spec
from ..client_auth import make_client_assertion
from ..forms import basic_header
from ..keys import SigningKey

ASSERTION_LIFETIME = 60


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """How this client authenticates at one server; secrets never appear in ``repr``."""

    client_id: str
    method: str
    secret: str | None = field(default=None, repr=False)
    key: SigningKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.method not in spec.CONFIDENTIAL_AUTH_METHODS:
            raise ValueError("only confidential client authentication methods are supported")
        if self.method == spec.AUTH_PRIVATE_KEY_JWT and self.key is None:
            raise ValueError("private_key_jwt needs a signing key")
        if self.method != spec.AUTH_PRIVATE_KEY_JWT and not self.secret:
            raise ValueError(f"{self.method} needs a client secret")

    @classmethod
    def secret_basic(cls, client_id: str, secret: str) -> ClientCredentials:
        """``client_secret_basic`` (RFC 6749 §2.3.1)."""
        return cls(client_id, spec.AUTH_CLIENT_SECRET_BASIC, secret=secret)

    @classmethod
    def secret_post(cls, client_id: str, secret: str) -> ClientCredentials:
        """``client_secret_post`` (RFC 6749 §2.3.1)."""
        return cls(client_id, spec.AUTH_CLIENT_SECRET_POST, secret=secret)

    @classmethod
    def private_key_jwt(cls, client_id: str, key: SigningKey) -> ClientCredentials:
        """``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9)."""
        return cls(client_id, spec.AUTH_PRIVATE_KEY_JWT, key=key)

    def apply(
        self, form: dict[str, str | list[str]], headers: dict[str, str], *, issuer: str, now: float
    ) -> None:
        """Add this client's authentication to a token request for ``issuer``.

        ``private_key_jwt``: ``aud`` is ``issuer`` as a single string, ``typ``
        ``client-authentication+jwt``, a fresh ``jti`` and a 60 s ``exp`` (RFC 7523bis).
        """
        if self.method == spec.AUTH_CLIENT_SECRET_BASIC:
            assert self.secret is not None
            headers["authorization"] = basic_header(self.client_id, self.secret)
        elif self.method == spec.AUTH_CLIENT_SECRET_POST:
            assert self.secret is not None
            form[spec.P_CLIENT_ID] = self.client_id
            form[spec.P_CLIENT_SECRET] = self.secret
        else:
            assert self.key is not None
            form[spec.P_CLIENT_ASSERTION_TYPE] = spec.CLIENT_ASSERTION_TYPE_JWT_BEARER
            form[spec.P_CLIENT_ASSERTION] = make_client_assertion(
                self.client_id, self.key, audience=issuer, now=now, lifetime=ASSERTION_LIFETIME
            )
