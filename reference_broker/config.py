"""The broker service's TOML configuration (``xaa broker serve --config FILE``).

Top level: ``public_url`` (the service's own origin, the ``aud`` of agent
credentials), ``db`` (SQLite, the default shared state) or ``redis_url``,
``[idp]`` (people sign in there; the XAA token exchange goes there),
``[[trust_domains]]`` (SPIFFE JWT-SVID bundles), ``[[apps]]`` and
``[[agents]]``. ``xaa broker config --check FILE`` reports every problem with
its line (:mod:`reference_broker.config_check`).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xaa.broker import AppConfig, Strategy

_MODEL = ConfigDict(frozen=True, extra="forbid")
AUTH_METHODS = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _secret(inline: str | None, env: str | None) -> str | None:
    if inline is not None:
        return inline
    return os.environ.get(env) if env else None


class IdpSection(BaseModel):
    """The IdP: people sign in there (OIDC code + PKCE); XAA's token exchange goes there."""

    model_config = _MODEL
    issuer: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    client_secret: str | None = Field(default=None, repr=False)
    client_secret_env: str | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.client_secret is None) == (self.client_secret_env is None):
            raise ValueError("give exactly one of client_secret and client_secret_env")
        return self

    def secret(self) -> str | None:
        """The client secret (from the environment when ``client_secret_env`` names it)."""
        return _secret(self.client_secret, self.client_secret_env)


class TrustDomainSection(BaseModel):
    """A SPIFFE trust domain whose JWT-SVIDs authenticate agents (JWT-SVID §6)."""

    model_config = _MODEL
    trust_domain: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    bundle: dict[str, Any] | None = None
    bundle_file: str | None = None

    @model_validator(mode="after")
    def _one_bundle(self) -> Self:
        if (self.bundle is None) == (self.bundle_file is None):
            raise ValueError("give exactly one of bundle and bundle_file")
        return self

    def bundle_json(self) -> dict[str, Any]:
        """The trust bundle (JWKS form)."""
        if self.bundle is not None:
            return self.bundle
        assert self.bundle_file is not None
        data: dict[str, Any] = json.loads(Path(self.bundle_file).read_text("utf-8"))
        return data


class AppSection(BaseModel):
    """An app agents get tokens for; ``scopes``: what connecting it asks the person for."""

    model_config = _MODEL
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    title: str | None = None
    issuer: str = Field(min_length=1)
    resource: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    auth_method: AUTH_METHODS = "client_secret_basic"
    client_secret: str | None = Field(default=None, repr=False)
    client_secret_env: str | None = None
    strategy: Literal["xaa", "authorization_code", "client_credentials"] | None = None
    redirect_uri: str | None = None
    scopes: list[str] = Field(min_length=1)

    def secret(self) -> str | None:
        """The client secret when configured (else the vault's, ``xaa broker set-secret``)."""
        return _secret(self.client_secret, self.client_secret_env)

    def app_config(self, public_url: str) -> AppConfig:
        """The broker's :class:`~xaa.broker.AppConfig`; the callback defaults to ours."""
        return AppConfig(
            self.name,
            self.issuer,
            self.resource,
            self.client_id,
            auth_method=self.auth_method,
            strategy=Strategy(self.strategy) if self.strategy else None,
            redirect_uri=self.redirect_uri or public_url.rstrip("/") + "/callback",
        )


class AgentSection(BaseModel):
    """An agent: its owner, how it authenticates, what it may ask for, its status."""

    model_config = _MODEL
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    owner: str = Field(min_length=1)
    spiffe_id: str | None = None
    client_id: str | None = None
    jwks: dict[str, Any] | None = None
    apps: list[str] = Field(min_length=1)
    scopes: list[str] = Field(min_length=1)
    status: Literal["active", "suspended"] = "active"

    @model_validator(mode="after")
    def _one_credential(self) -> Self:
        if (self.spiffe_id is None) == (self.client_id is None):
            raise ValueError("give exactly one of spiffe_id and client_id")
        if (self.client_id is None) != (self.jwks is None):
            raise ValueError("client_id (private_key_jwt) needs jwks, and only it")
        return self


class BrokerServiceConfig(BaseModel):
    """The whole file."""

    model_config = _MODEL
    public_url: str = Field(min_length=1)
    db: str = "xaa-broker.sqlite3"
    redis_url: str | None = None
    session_lifetime: int = Field(default=8 * 3600, gt=0, le=7 * 24 * 3600)
    max_body_bytes: int = Field(default=16 * 1024, gt=0, le=1024 * 1024)
    idp: IdpSection
    trust_domains: list[TrustDomainSection] = []
    apps: list[AppSection] = Field(min_length=1)
    agents: list[AgentSection] = []

    @model_validator(mode="after")
    def _url(self) -> Self:
        if not self.public_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("public_url must be https (http only on loopback)")
        return self

    def app(self, name: str) -> AppSection | None:
        """The app called ``name``."""
        return next((a for a in self.apps if a.name == name), None)

    def agent(self, name: str) -> AgentSection | None:
        """The agent called ``name``."""
        return next((a for a in self.agents if a.name == name), None)

    @property
    def base(self) -> str:
        """``public_url`` without a trailing slash."""
        return self.public_url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` unless the service runs on plain-HTTP loopback."""
        return self.public_url.startswith("https://")


def load_config(path: str | Path) -> BrokerServiceConfig:
    """Read and validate the file (``db`` and ``bundle_file`` relative to it)."""
    file = Path(path)
    data = tomllib.loads(file.read_text("utf-8"))
    config = BrokerServiceConfig.model_validate(data)
    here = file.resolve().parent
    db = Path(config.db)
    updates: dict[str, Any] = {"db": str(db if db.is_absolute() else here / db)}
    domains = []
    for domain in config.trust_domains:
        if domain.bundle_file and not Path(domain.bundle_file).is_absolute():
            domain = domain.model_copy(update={"bundle_file": str(here / domain.bundle_file)})
        domains.append(domain)
    updates["trust_domains"] = domains
    return config.model_copy(update=updates)


__all__ = [
    "AgentSection",
    "AppSection",
    "BrokerServiceConfig",
    "IdpSection",
    "TrustDomainSection",
    "load_config",
]
