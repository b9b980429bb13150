"""Reference IdP configuration: a TOML file, or the embedded demo configuration."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xaa import DEFAULT_MIN_STAGING, ConfigurationError, spec
from xaa.dpop import DEFAULT_DPOP_ALGS
from xaa.idp import ActorsConfig, IssuancePolicy

from .saml_config import SamlConfig

_MODEL = ConfigDict(frozen=True, extra="forbid")


class UserConfig(BaseModel):
    """One End-User; the password is hashed before it is stored."""

    model_config = _MODEL
    username: str = Field(min_length=1)
    password: str = Field(min_length=1, repr=False)
    email: str | None = None
    groups: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)
    admin: bool = False  # may sign in to the console at /admin (docs/console.md)


class ClientConfig(BaseModel):
    """One confidential client, with the human who owns it."""

    model_config = _MODEL
    client_id: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    auth_method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
    secret: str | None = Field(default=None, repr=False)
    jwks: dict[str, Any] | None = None
    redirect_uris: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _credential(self) -> Self:
        if (self.auth_method == spec.AUTH_PRIVATE_KEY_JWT) != (self.jwks is not None):
            raise ValueError("private_key_jwt clients need jwks, and only they have jwks")
        if (self.auth_method != spec.AUTH_PRIVATE_KEY_JWT) != (self.secret is not None):
            raise ValueError("secret clients need a secret, and only they have one")
        return self


class DpopConfig(BaseModel):
    """DPoP on token exchange (draft §8.6.1.1, RFC 9449): proofs checked, ID-JAGs bound."""

    model_config = _MODEL
    enabled: bool = False
    nonces: bool = False
    algs: list[str] = Field(default_factory=lambda: list(DEFAULT_DPOP_ALGS), min_length=1)


class IdpConfig(BaseModel):
    """Everything the reference IdP is configured with."""

    model_config = _MODEL
    issuer: str = "http://127.0.0.1:9400"
    id_token_lifetime: int = Field(default=3600, gt=0, le=86400)
    access_token_lifetime: int = Field(default=600, gt=0, le=3600)
    refresh_token_lifetime: int = Field(default=86400, gt=0)
    id_jag_lifetime: int = Field(default=300, gt=0)
    id_jag_max_lifetime: int = Field(default=300, gt=0)
    # Seconds a staged key is published before `xaa idp keys rotate` lets it sign (docs/idp.md).
    key_min_staging: float = Field(default=DEFAULT_MIN_STAGING, ge=0)
    users: list[UserConfig] = Field(default_factory=list)
    clients: list[ClientConfig] = Field(default_factory=list)
    policy: IssuancePolicy = Field(default_factory=IssuancePolicy)
    dpop: DpopConfig = Field(default_factory=DpopConfig)
    actors: ActorsConfig | None = None  # actor profile (docs/actors.md); None: no actor_token
    saml: SamlConfig | None = None  # SAML 2.0 IdP (docs/saml.md); None: no SAML
    demo: dict[str, Any] = Field(default_factory=dict)

    @property
    def max_signed_lifetime(self) -> int:
        """How long anything this IdP signs stays valid (retired keys stay published so long)."""
        return max(self.id_token_lifetime, self.access_token_lifetime, self.id_jag_max_lifetime)

    def with_issuer(self, issuer: str | None) -> IdpConfig:
        """This configuration with ``issuer`` overridden (when given)."""
        return self if issuer is None else self.model_copy(update={"issuer": issuer})


def demo_config_text() -> str:
    """The embedded demo configuration (TOML)."""
    return resources.files("reference_idp").joinpath("demo.toml").read_text("utf-8")


def load_config(path: str | Path | None = None) -> IdpConfig:
    """Load ``path``, or the embedded demo configuration when ``path`` is ``None``.

    Raises :class:`xaa.ConfigurationError` naming the file, and the line or the key,
    when the file is missing, not UTF-8, not TOML, or not a valid configuration.
    """
    name = "the demo configuration" if path is None else str(path)
    try:
        text = demo_config_text() if path is None else Path(path).read_text("utf-8")
        return IdpConfig.model_validate(tomllib.loads(text))
    except OSError as exc:
        raise ConfigurationError(f"{name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{name}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ConfigurationError.from_validation(exc, name) from None
