"""How the suites authenticate as the client (RFC 6749 §2.3, RFC 7523 §2.2)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from xaa import ConfigurationError, SigningKey, make_client_assertion, spec
from xaa._forms import basic_header


@dataclass(frozen=True)
class ClientCredentials:
    """A client's id and secret or private key, and the method it registered."""

    client_id: str
    auth_method: str = spec.AUTH_CLIENT_SECRET_BASIC
    secret: str | None = field(default=None, repr=False)
    key: SigningKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.auth_method not in spec.CONFIDENTIAL_AUTH_METHODS:
            raise ConfigurationError(
                f"unsupported client authentication method {self.auth_method!r}"
            )
        if self.auth_method == spec.AUTH_PRIVATE_KEY_JWT and self.key is None:
            raise ConfigurationError("private_key_jwt needs the client's private key (--key FILE)")
        if self.auth_method != spec.AUTH_PRIVATE_KEY_JWT and not self.secret:
            raise ConfigurationError(f"{self.auth_method} needs the client secret")

    def apply(self, form: dict[str, str | list[str]], audience: str) -> dict[str, str]:
        """Add the credentials to ``form``; returns headers to send (``audience``: the issuer)."""
        if self.auth_method == spec.AUTH_CLIENT_SECRET_BASIC:
            assert self.secret is not None
            return {"authorization": basic_header(self.client_id, self.secret)}
        if self.auth_method == spec.AUTH_CLIENT_SECRET_POST:
            assert self.secret is not None
            form.update(client_id=self.client_id, client_secret=self.secret)
            return {}
        assert self.key is not None
        form.update(
            client_assertion_type=spec.CLIENT_ASSERTION_TYPE_JWT_BEARER,
            client_assertion=make_client_assertion(
                self.client_id, self.key, audience=audience, now=time.time()
            ),
        )
        return {}

    def apply_two_methods(self, form: dict[str, str | list[str]], audience: str) -> dict[str, str]:
        """:meth:`apply`, then a second method on top (RFC 6749 §2.3 allows one): a form
        secret after Basic, else Basic after the form secret or assertion; returns headers."""
        headers = self.apply(form, audience)
        if headers:
            form.update(client_id=self.client_id, client_secret="second-method")
            return headers
        return {"authorization": basic_header(self.client_id, "second-method")}


def wrong_basic(client_id: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header with a wrong, random secret (RFC 6749 §2.3.1)."""
    return {"authorization": basic_header(client_id, "wrong-" + secrets.token_hex(8))}
