"""The chat app's configuration file: ``xaa resource serve --config FILE``.

Every key is described in docs/resource-config.md.

A TOML file validated by :class:`ResourceAppConfig`, turned into the app's
:class:`~reference_resource.settings.Settings` by :func:`settings_from_config`.
Without a file the embedded demo world of :mod:`reference_resource.settings` applies.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xaa import ConfigurationError, RegisteredClient, spec
from xaa.adapters.toml_config import Path_, Problem, check_model_file, check_model_text
from xaa.resource import ClientGrant, JitPolicy, TrustedIssuer

from .settings import SCOPES, Settings

_MODEL = ConfigDict(frozen=True, extra="forbid")
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
GrantType = Literal[
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:jwt-dpop",
    "authorization_code",
    "refresh_token",
]
Alg = Literal["ES256", "EdDSA", "RS256", "PS256"]
Requirement = Literal["require", "refuse", "allow"]
_ES256: tuple[Alg, ...] = ("ES256",)
_ID_JAG_GRANTS: tuple[GrantType, ...] = (
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:jwt-dpop",
)


class TrustedIdpConfig(BaseModel):
    """One IdP whose ID-JAGs are accepted (draft-03 §4.4.1), and how its users map to accounts."""

    model_config = _MODEL
    issuer: str = Field(min_length=1)
    jwks_uri: str | None = None  # neither jwks_uri nor jwks: discovery (RFC 8414, OIDC)
    jwks: dict[str, Any] | None = None
    algorithms: list[Alg] = Field(default_factory=lambda: list(_ES256), min_length=1)
    authoritative_email_domains: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if self.jwks is not None and self.jwks_uri is not None:
            raise ValueError("give jwks or jwks_uri, not both")
        for domain in self.authoritative_email_domains:
            if not domain or "@" in domain or domain != domain.lower().strip():
                raise ValueError(f"{domain!r} is not a lowercase domain name")
        return self


class ClientConfig(BaseModel):
    """One confidential client of the chat AS (RFC 6749 §2.3, RFC 7523 §2.2)."""

    model_config = _MODEL
    client_id: str = Field(min_length=1)
    auth_methods: list[AuthMethod] = Field(min_length=1)
    secret: str | None = Field(default=None, repr=False)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    grant_types: list[GrantType] = Field(default_factory=lambda: list(_ID_JAG_GRANTS), min_length=1)
    scopes: list[str] | None = None  # None: every scope of the served resources
    actors: Requirement | None = None  # None: [actors].default

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        keyed = spec.AUTH_PRIVATE_KEY_JWT in self.auth_methods
        secret = bool(set(self.auth_methods) - {spec.AUTH_PRIVATE_KEY_JWT})
        has_keys = self.jwks is not None or self.jwks_uri is not None
        if self.jwks is not None and self.jwks_uri is not None:
            raise ValueError("give jwks or jwks_uri, not both")
        if keyed != has_keys:
            raise ValueError("private_key_jwt needs jwks or jwks_uri, and only it uses them")
        if secret != (self.secret is not None):
            raise ValueError("a secret method needs a secret, and only it uses one")
        return self


class ResourceConfig(BaseModel):
    """A protected resource of the app (RFC 8707): the chat API or the MCP server."""

    model_config = _MODEL
    path: Literal["/api", "/mcp"]
    scopes: list[str] = Field(default_factory=lambda: list(SCOPES), min_length=1)
    dpop_required: bool = False


class AccountsConfig(BaseModel):
    """How a trusted IdP's subject becomes a local account (docs/resource.md "Subjects")."""

    model_config = _MODEL
    link_aud_sub: bool = True
    link_email: bool = True
    create_from_email: bool = True


class DpopConfig(BaseModel):
    """RFC 9449 at /token and the APIs (draft-03 §8.6.1.2)."""

    model_config = _MODEL
    enabled: bool = True
    nonces: bool = False


class ActorsConfig(BaseModel):
    """The AS's stance on an ID-JAG's ``act`` claim (docs/actors.md)."""

    model_config = _MODEL
    default: Requirement = "allow"


class UserConfig(BaseModel):
    """A local chat user, for the code flow's login page (stored hashed)."""

    model_config = _MODEL
    username: str = Field(min_length=1)
    email: str = Field(min_length=3)
    password: str = Field(min_length=1, repr=False)


class ResourceAppConfig(BaseModel):
    """Everything the chat app is configured with."""

    model_config = _MODEL
    issuer: str = "http://127.0.0.1:9500"
    db: str = "xaa-resource.db"
    replay: str = "sqlite"  # "sqlite" (the db file), "memory", or a redis:// URL
    access_token_lifetime: int = Field(default=900, gt=0, le=3600)
    refresh_token_lifetime: int = Field(default=86400, gt=0)
    idp_keys_ttl: float = Field(default=3600.0, gt=0)
    idp_min_refresh_interval: float = Field(default=30.0, ge=0)
    trusted_idps: list[TrustedIdpConfig] = Field(min_length=1)
    clients: list[ClientConfig] = Field(min_length=1)
    resources: list[ResourceConfig] = Field(
        default_factory=lambda: [ResourceConfig(path="/api"), ResourceConfig(path="/mcp")]
    )
    accounts: AccountsConfig = Field(default_factory=AccountsConfig)
    dpop: DpopConfig = Field(default_factory=DpopConfig)
    actors: ActorsConfig = Field(default_factory=ActorsConfig)
    users: list[UserConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _replay(self) -> Self:
        if self.replay not in ("memory", "sqlite") and not self.replay.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("replay must be memory, sqlite or a redis:// URL")
        if "/api" not in {r.path for r in self.resources}:
            raise ValueError('resources: the chat API (path "/api") must be served')
        return self


def template_text() -> str:
    """The commented starting configuration (``xaa resource config --template``)."""
    return resources.files("reference_resource").joinpath("template.toml").read_text("utf-8")


def issuer_problem(value: str) -> str | None:
    """Why ``value`` is no issuer identifier (RFC 8414 §2: an http(s) URL with a host, no
    query, no fragment; no userinfo), or ``None``. Never echoes userinfo."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return "is not an http(s) URL with a valid port"
    if "@" in parts.netloc:
        return "must not carry user:password@"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host, e.g. http://127.0.0.1:9400"
    if "?" in value or "#" in value:
        return "must have no query and no fragment"
    return None


def _references(config: ResourceAppConfig) -> list[tuple[Path_, str]]:
    """What the schema cannot check: unique names, known scopes."""
    found: list[tuple[Path_, str]] = []
    for field, key, names in (
        ("clients", "client_id", [c.client_id for c in config.clients]),
        ("trusted_idps", "issuer", [i.issuer for i in config.trusted_idps]),
        ("resources", "path", [r.path for r in config.resources]),
        ("users", "username", [u.username for u in config.users]),
    ):
        for i, name in enumerate(names):
            if name in names[:i]:
                found.append(((field, i, key), f"{name!r} is configured twice"))
    served = {s for r in config.resources for s in r.scopes}
    for i, res in enumerate(config.resources):
        for scope in res.scopes:
            if scope not in SCOPES:
                found.append((("resources", i, "scopes"), f"unknown scope {scope!r}"))
    for i, client in enumerate(config.clients):
        for scope in client.scopes or ():
            if scope not in served:
                found.append((("clients", i, "scopes"), f"{scope!r} is no resource's scope"))
    issuers = [(("issuer",), config.issuer)] + [
        (("trusted_idps", i, "issuer"), idp.issuer) for i, idp in enumerate(config.trusted_idps)
    ]
    for where, url in issuers:
        if (problem := issuer_problem(url)) is not None:
            found.append((where, problem))
    return found


def check_text(text: str) -> list[Problem]:
    """Every problem of the configuration ``text``; empty when it loads and is consistent."""
    return check_model_text(text, ResourceAppConfig, _references)


def check_file(path: str | Path) -> list[str]:
    """``FILE:LINE: key.path: message`` for every problem of the file at ``path``."""
    return check_model_file(path, ResourceAppConfig, _references)


def load_config(path: str | Path) -> ResourceAppConfig:
    """Load and validate ``path``; :class:`xaa.ConfigurationError` names the first problem."""
    problems = check_file(path)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigurationError(problems[0] + more)
    try:
        return ResourceAppConfig.model_validate(tomllib.loads(Path(path).read_text("utf-8")))
    except (OSError, ValidationError, tomllib.TOMLDecodeError) as exc:  # checked just above
        raise ConfigurationError(f"{path}: {exc.__class__.__name__}") from None


def _client_jwks(client: ClientConfig) -> dict[str, Any] | None:
    """The client's JWKS: inline, or fetched once from ``jwks_uri`` at startup."""
    if client.jwks_uri is None:
        return client.jwks
    try:
        response = httpx.get(client.jwks_uri, timeout=10, follow_redirects=False)
        response.raise_for_status()
        jwks: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ConfigurationError(
            f"client {client.client_id!r}: cannot fetch jwks_uri ({exc.__class__.__name__})"
        ) from None
    return jwks


def registered_client(client: ClientConfig) -> RegisteredClient:
    """The client as :func:`xaa.authenticate_client` knows it (several methods when configured)."""
    return RegisteredClient.with_methods(
        client.client_id, client.auth_methods, secret=client.secret, jwks=_client_jwks(client)
    )


def settings_from_config(config: ResourceAppConfig, *, host: str = "127.0.0.1") -> Settings:
    """The app's :class:`Settings` for ``config`` (the port is the issuer's)."""
    served = {r.path: r for r in config.resources}
    api = served.get("/api")
    mcp = served.get("/mcp")
    actors = tuple((c.client_id, c.actors) for c in config.clients if c.actors is not None)
    port = urlsplit(config.issuer).port or (443 if config.issuer.startswith("https") else 80)
    return Settings(
        host=host,
        port=port,
        issuer=config.issuer,
        db=config.db,
        replay=config.replay,
        trusted_idps=tuple(i.issuer for i in config.trusted_idps),
        idp_email_domains=tuple(
            (i.issuer, d) for i in config.trusted_idps for d in i.authoritative_email_domains
        ),
        clients=(),
        users=tuple((u.username, u.email, u.password) for u in config.users),
        access_token_lifetime=config.access_token_lifetime,
        refresh_token_lifetime=config.refresh_token_lifetime,
        idp_keys_ttl=config.idp_keys_ttl,
        idp_min_refresh_interval=config.idp_min_refresh_interval,
        dpop=config.dpop.enabled,
        dpop_required=api.dpop_required if api else False,
        dpop_nonces=config.dpop.nonces,
        actor_requirements=actors,
        actor_default=config.actors.default,
        registered_clients=tuple(registered_client(c) for c in config.clients),
        client_grants=tuple(
            ClientGrant(
                c.client_id,
                grant_types=frozenset(c.grant_types),
                scopes=frozenset(c.scopes) if c.scopes is not None else None,
            )
            for c in config.clients
        ),
        trusted=tuple(
            TrustedIssuer(
                i.issuer,
                algorithms=frozenset(i.algorithms),
                jwks=i.jwks,
                jwks_uri=i.jwks_uri,
                authoritative_email_domains=frozenset(i.authoritative_email_domains),
            )
            for i in config.trusted_idps
        ),
        api_scopes=tuple(api.scopes) if api else (),
        mcp_scopes=tuple(mcp.scopes) if mcp else (),
        mcp_dpop_required=mcp.dpop_required if mcp else False,
        accounts=JitPolicy(
            link_aud_sub=config.accounts.link_aud_sub,
            link_email=config.accounts.link_email,
            create_from_email=config.accounts.create_from_email,
        ),
    )


__all__ = [
    "ResourceAppConfig",
    "check_file",
    "check_text",
    "load_config",
    "settings_from_config",
    "template_text",
]
