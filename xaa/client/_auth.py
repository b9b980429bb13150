"""Client authentication at a token endpoint, as the client (RFC 6749 §2.3, RFC 7523 §2.2).

Each server (the IdP, each resource AS) knows the client under its own
identity, so each gets its own :class:`ClientCredentials`. Confidential
methods only (draft §8.1).

With ``client_secret_basic`` the token exchange (draft §4.3) and jwt-bearer
(draft §4.4) requests also carry ``client_id`` in the form by default
(``include_client_id_in_body``): RFC 6749 §3.2.1 allows it, it is not a second
authentication method (RFC 6749 §2.3), and some servers (the MCP Python SDK's
token endpoint) find the client only there. See docs/client.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import spec
from .._client_auth import make_client_assertion
from .._errors import ConfigurationError
from .._forms import basic_header
from .._keys import SigningKey

ASSERTION_LIFETIME = 60


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """How this client authenticates at one server; secrets never appear in ``repr``."""

    client_id: str
    method: str
    secret: str | None = field(default=None, repr=False)
    key: SigningKey | None = field(default=None, repr=False)
    include_client_id_in_body: bool = True

    def __post_init__(self) -> None:
        if self.method not in spec.CONFIDENTIAL_AUTH_METHODS:
            raise ConfigurationError(
                "only confidential client authentication methods are supported"
            )
        if self.method == spec.AUTH_PRIVATE_KEY_JWT and self.key is None:
            raise ConfigurationError("private_key_jwt needs a signing key")
        if self.method != spec.AUTH_PRIVATE_KEY_JWT and not self.secret:
            raise ConfigurationError(f"{self.method} needs a client secret")

    @classmethod
    def secret_basic(
        cls, client_id: str, secret: str, *, include_client_id_in_body: bool = True
    ) -> ClientCredentials:
        """``client_secret_basic`` (RFC 6749 §2.3.1); ``include_client_id_in_body``: also
        send ``client_id`` in the form of grant requests (RFC 6749 §3.2.1)."""
        return cls(
            client_id,
            spec.AUTH_CLIENT_SECRET_BASIC,
            secret=secret,
            include_client_id_in_body=include_client_id_in_body,
        )

    @classmethod
    def secret_post(cls, client_id: str, secret: str) -> ClientCredentials:
        """``client_secret_post`` (RFC 6749 §2.3.1)."""
        return cls(client_id, spec.AUTH_CLIENT_SECRET_POST, secret=secret)

    @classmethod
    def private_key_jwt(cls, client_id: str, key: SigningKey) -> ClientCredentials:
        """``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9)."""
        return cls(client_id, spec.AUTH_PRIVATE_KEY_JWT, key=key)

    def apply(
        self,
        form: dict[str, str | list[str]],
        headers: dict[str, str],
        *,
        issuer: str,
        now: float,
        grant_request: bool = False,
    ) -> None:
        """Add this client's authentication to a token request for ``issuer``.

        ``private_key_jwt``: ``aud`` is ``issuer`` as a single string, ``typ``
        ``client-authentication+jwt``, a fresh ``jti`` and a 60 s ``exp`` (RFC 7523bis).
        ``grant_request`` (the token exchange and jwt-bearer requests): with Basic and
        ``include_client_id_in_body``, ``client_id`` goes in the form too (RFC 6749 §3.2.1).
        """
        if self.method == spec.AUTH_CLIENT_SECRET_BASIC:
            assert self.secret is not None
            headers["authorization"] = basic_header(self.client_id, self.secret)
            if grant_request and self.include_client_id_in_body:
                form[spec.P_CLIENT_ID] = self.client_id
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
