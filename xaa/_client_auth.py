"""Authenticate the client at a token endpoint (RFC 6749 §2.3, RFC 7523 §2.2, §3).

Confidential clients only (draft §8.1): ``client_secret_basic``,
``client_secret_post`` or ``private_key_jwt``, exactly one per request, and the
one the client registered. Every failure is ``invalid_client`` (401, with a
``Basic`` challenge when Basic was tried).

``private_key_jwt`` follows RFC 7523 §3 with the RFC 7523bis audience rule:
``aud`` is this server's issuer identifier as a single string; ``iss`` and
``sub`` are the client; ``exp`` is required and short; ``jti`` is single-use;
the algorithm is pinned by the client's registered key. An ID-JAG, an access
token or an ID token is not a client assertion (``typ`` and ``iss`` refuse them).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard, runtime_checkable

from . import spec
from ._errors import ConfigurationError, InvalidClient
from ._forms import Form, basic_credentials, form_unquote
from ._jose import parse_compact, sign_compact, verify_compact
from ._keys import JwkSet, SigningKey
from ._replay import NS_CLIENT_ASSERTION, ReplayStore, claim_once
from ._tokens import DEFAULT_LEEWAY, normalize_typ

MAX_ASSERTION_LIFETIME = 300
MAX_AUDITED_CLIENT_ID = 128  # characters of an unauthenticated client id kept in audit rows
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_ASSERTION_TYPS = frozenset({None, "jwt", spec.TYP_CLIENT_ASSERTION})


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """How one client authenticates: its method and its secret digest or keys."""

    client_id: str
    auth_method: str
    secret_sha256: bytes | None = field(default=None, repr=False)
    keys: JwkSet | None = field(default=None, repr=False)
    active: bool = True
    # Further methods the deployer registered for this client (RFC 7591 §2 names one; a
    # deployment may allow more, e.g. while moving a client from a secret to keys).
    also: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for method in self.methods:
            if method not in spec.CONFIDENTIAL_AUTH_METHODS:
                raise ConfigurationError(
                    "only confidential client authentication methods are allowed"
                )
        if spec.AUTH_PRIVATE_KEY_JWT in self.methods and not self.keys:
            raise ConfigurationError("private_key_jwt needs the client's public keys")
        if self.methods - {spec.AUTH_PRIVATE_KEY_JWT} and self.secret_sha256 is None:
            raise ConfigurationError("a secret method needs a secret")

    @property
    def methods(self) -> frozenset[str]:
        """Every authentication method this client may use."""
        return frozenset({self.auth_method, *self.also})

    @classmethod
    def with_secret(
        cls,
        client_id: str,
        secret: str,
        method: str = spec.AUTH_CLIENT_SECRET_BASIC,
        active: bool = True,
    ) -> RegisteredClient:
        """A client that authenticates with ``secret`` (kept only as a SHA-256 digest)."""
        return cls(client_id, method, secret_sha256=_digest(secret), active=active)

    @classmethod
    def with_jwks(
        cls, client_id: str, jwks: Mapping[str, Any], active: bool = True
    ) -> RegisteredClient:
        """A ``private_key_jwt`` client with its public JWKS (algorithms pinned per key)."""
        return cls(client_id, spec.AUTH_PRIVATE_KEY_JWT, keys=JwkSet.from_jwks(jwks), active=active)

    @classmethod
    def with_methods(
        cls,
        client_id: str,
        methods: Iterable[str],
        *,
        secret: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        active: bool = True,
    ) -> RegisteredClient:
        """A client registered for several ``methods`` (a secret and/or a JWKS, as they need)."""
        chosen = list(dict.fromkeys(methods))
        if not chosen:
            raise ConfigurationError("at least one authentication method")
        return cls(
            client_id,
            chosen[0],
            secret_sha256=_digest(secret) if secret is not None else None,
            keys=JwkSet.from_jwks(jwks) if jwks is not None else None,
            active=active,
            also=frozenset(chosen[1:]),
        )

    def secret_matches(self, presented: str) -> bool:
        """Constant-time comparison of a presented secret with the stored digest."""
        stored = self.secret_sha256 or b""
        return hmac.compare_digest(_digest(presented), stored) and bool(stored)


@runtime_checkable
class ClientStore(Protocol):
    """Looks up how a client authenticates."""

    def get_client(self, client_id: str) -> RegisteredClient | None:
        """The registration of ``client_id``, or ``None``."""
        ...


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    """The outcome of client authentication."""

    client_id: str
    method: str
    client: RegisteredClient


def _fail(detail: str, basic: bool) -> InvalidClient:
    headers = {"WWW-Authenticate": 'Basic realm="token"'} if basic else None
    return InvalidClient(detail=detail, headers=headers)


class ClientAuthenticationStep:
    """The client authentication step both token endpoints share (RFC 6749 §2.3, RFC 7523 §3;
    draft §8.1: confidential clients only, suspended clients fail here).

    Mixed into :class:`xaa.idp.TokenExchangeEndpoint` and
    :class:`xaa.resource.JwtBearerEndpoint`, which supply these attributes.
    """

    clients: ClientStore
    issuer: str
    replay: ReplayStore
    lenient_basic: bool = False
    leeway: int = DEFAULT_LEEWAY

    def authenticate(
        self, headers: Mapping[str, str], form: Form, now: float
    ) -> AuthenticatedClient:
        """The authenticated client of a token request, or raise ``invalid_client``."""
        return authenticate_client(
            headers,
            form,
            clients=self.clients,
            issuer=self.issuer,
            replay=self.replay,
            now=now,
            lenient_basic=self.lenient_basic,
            leeway=self.leeway,
        )


def authenticate_client(
    headers: Mapping[str, str],
    form: Form,
    *,
    clients: ClientStore,
    issuer: str,
    replay: ReplayStore,
    now: float,
    lenient_basic: bool = False,
    leeway: int = DEFAULT_LEEWAY,
) -> AuthenticatedClient:
    """Authenticate the client of a token request, or raise ``invalid_client``.

    ``headers`` keys are lowercase. ``lenient_basic`` also accepts Basic
    credentials that the client did not form-urlencode (some SDKs do not).
    """
    auth_header = headers.get(spec.H_AUTHORIZATION)
    has_basic = auth_header is not None and auth_header[:6].lower() == "basic "
    has_post = spec.P_CLIENT_SECRET in form
    has_jwt = spec.P_CLIENT_ASSERTION in form or spec.P_CLIENT_ASSERTION_TYPE in form
    if has_basic + has_post + has_jwt > 1:
        raise _fail("more than one client authentication method", has_basic)
    if has_basic:
        assert auth_header is not None
        return _basic(auth_header, form, clients, lenient_basic)
    if has_post:
        return _post(form, clients)
    if has_jwt:
        return _private_key_jwt(form, clients, issuer, replay, now, leeway)
    if auth_header is not None:
        raise _fail("unsupported authorization scheme", False)
    raise _fail("no client authentication (public clients are not allowed)", False)


def attempted_client_id(headers: Mapping[str, str], form: Form) -> str | None:
    """The client id an unauthenticated caller claimed, safe for an audit row (not verified).

    From the Basic user name, the ``client_assertion``'s ``iss`` (its signature is not
    checked) or ``client_id``; never a secret. At most :data:`MAX_AUDITED_CLIENT_ID`
    characters, control and format characters escaped (``\\x1b``), so the caller cannot
    forge or bloat audit rows.
    """
    claimed: object = None
    header = headers.get(spec.H_AUTHORIZATION)
    if header is not None and header[:6].lower() == "basic ":
        try:
            claimed = form_unquote(basic_credentials(header)[0])
        except (InvalidClient, ValueError):
            claimed = None
    if claimed is None and spec.P_CLIENT_ASSERTION in form:
        try:
            claimed = parse_compact(
                form.get(spec.P_CLIENT_ASSERTION), error=InvalidClient
            ).payload.get("iss")
        except InvalidClient:
            claimed = None
    if claimed is None:
        claimed = form.get(spec.P_CLIENT_ID)
    if not isinstance(claimed, str) or not claimed:
        return None
    return audit_safe(claimed, MAX_AUDITED_CLIENT_ID)


def audit_safe(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters (ending ``...`` when cut), with control, format
    and line-separator characters and backslashes escaped."""
    cut = value[:limit]
    out = []
    for char in cut:
        if char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out) + ("..." if len(value) > limit else "")


def _registered(clients: ClientStore, client_id: str, method: str, basic: bool) -> RegisteredClient:
    client = clients.get_client(client_id)
    if client is None:
        raise _fail("unknown client", basic)
    if method not in client.methods:
        raise _fail("client registered for another authentication method", basic)
    if not client.active:
        raise _fail("client suspended", basic)
    return client


def _basic(header: str, form: Form, clients: ClientStore, lenient: bool) -> AuthenticatedClient:
    try:
        raw_id, raw_secret = basic_credentials(header)
    except InvalidClient as exc:
        raise _fail(exc.detail, True) from None
    candidates = [(form_unquote(raw_id), form_unquote(raw_secret))]
    if lenient and candidates[0] != (raw_id, raw_secret):
        candidates.append((raw_id, raw_secret))
    for client_id, secret in candidates:
        client = clients.get_client(client_id)
        if client is not None and client.secret_matches(secret):
            form_id = form.get(spec.P_CLIENT_ID)
            if form_id is not None and form_id != client_id:
                raise _fail("client_id parameter names another client", True)
            client = _registered(clients, client_id, spec.AUTH_CLIENT_SECRET_BASIC, True)
            return AuthenticatedClient(client_id, spec.AUTH_CLIENT_SECRET_BASIC, client)
    raise _fail("wrong client credentials", True)


def _post(form: Form, clients: ClientStore) -> AuthenticatedClient:
    client_id = form.get(spec.P_CLIENT_ID)
    if client_id is None:
        raise _fail("client_secret without client_id", False)
    client = clients.get_client(client_id)
    if client is None or not client.secret_matches(form[spec.P_CLIENT_SECRET]):
        raise _fail("wrong client credentials", False)
    client = _registered(clients, client_id, spec.AUTH_CLIENT_SECRET_POST, False)
    return AuthenticatedClient(client_id, spec.AUTH_CLIENT_SECRET_POST, client)


def _private_key_jwt(
    form: Form, clients: ClientStore, issuer: str, replay: ReplayStore, now: float, leeway: int
) -> AuthenticatedClient:
    if form.get(spec.P_CLIENT_ASSERTION_TYPE) != spec.CLIENT_ASSERTION_TYPE_JWT_BEARER:
        raise _fail("wrong client_assertion_type", False)
    jws = parse_compact(form.get(spec.P_CLIENT_ASSERTION), error=InvalidClient)
    if normalize_typ(jws.header.get("typ")) not in _ASSERTION_TYPS:
        raise _fail("typ is not that of a client assertion", False)
    claims = jws.payload
    client_id = claims.get("iss")
    if not isinstance(client_id, str) or not client_id or claims.get("sub") != client_id:
        raise _fail("iss and sub must both be the client_id", False)
    form_id = form.get(spec.P_CLIENT_ID)
    if form_id is not None and form_id != client_id:
        raise _fail("client_id parameter names another client", False)
    client = _registered(clients, client_id, spec.AUTH_PRIVATE_KEY_JWT, False)
    assert client.keys is not None
    verify_compact(jws, client.keys, error=InvalidClient)
    if claims.get("aud") != issuer:  # RFC 7523bis: the issuer, as a single string
        raise _fail("aud is not this server's issuer", False)
    exp, iat, nbf, jti = claims.get("exp"), claims.get("iat"), claims.get("nbf"), claims.get("jti")
    if not _is_int(exp) or now >= exp + leeway:
        raise _fail("exp missing or expired", False)
    if exp - now > MAX_ASSERTION_LIFETIME:
        raise _fail("exp too far in the future", False)
    for name, value in (("iat", iat), ("nbf", nbf)):
        if value is not None and (not _is_int(value) or value > now + leeway):
            raise _fail(f"{name} in the future or mistyped", False)
    if _is_int(iat) and exp - iat > MAX_ASSERTION_LIFETIME:
        raise _fail("assertion lifetime too long", False)
    if not isinstance(jti, str) or not jti:
        raise _fail("jti missing", False)
    if (
        claim_once(
            replay,
            NS_CLIENT_ASSERTION,
            client_id,
            jti,
            holder=client_id,
            expires_at=exp + leeway,
            now=now,
        )
        is not None
    ):
        raise _fail("client assertion jti reused", False)
    return AuthenticatedClient(client_id, spec.AUTH_PRIVATE_KEY_JWT, client)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def make_client_assertion(
    client_id: str, key: SigningKey, *, audience: str, now: float, lifetime: int = 60
) -> str:
    """A ``private_key_jwt`` assertion (RFC 7523 §3, RFC 7523bis): ``aud`` the issuer,
    ``typ`` ``client-authentication+jwt``, a fresh ``jti`` and a short ``exp``."""
    issued = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(16),
        "iat": issued,
        "exp": issued + lifetime,
    }
    return sign_compact({"typ": spec.TYP_CLIENT_ASSERTION}, claims, key)
