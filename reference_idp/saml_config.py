"""SAML 2.0 IdP configuration of the reference IdP (the ``[saml]`` table of the TOML file)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

_MODEL = ConfigDict(frozen=True, extra="forbid")

# SAML core §8.3: NameID formats the reference IdP can emit.
NAME_ID_FORMATS = {
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}


class SamlServiceProviderConfig(BaseModel):
    """One SAML SP: its entity ID, the OAuth client it is (draft §4.5), its ACS URLs."""

    model_config = _MODEL
    entity_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    acs_urls: list[str] = Field(min_length=1)


class SamlConfig(BaseModel):
    """The reference IdP as a SAML 2.0 IdP.

    ``entity_id`` defaults to ``<issuer>/saml``. ``name_id_format``: ``email`` (the
    user's email), ``persistent`` or ``unspecified`` (the username).
    """

    model_config = _MODEL
    entity_id: str | None = None
    name_id_format: Literal["email", "persistent", "unspecified"] = "email"
    assertion_lifetime: int = Field(default=300, gt=0, le=3600)
    clock_skew: float = Field(default=60.0, ge=0, le=300)
    service_providers: list[SamlServiceProviderConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [sp.entity_id for sp in self.service_providers]
        if len(set(ids)) != len(ids):
            raise ValueError("SAML service provider entity IDs must be unique")
        return self

    @property
    def name_id_format_urn(self) -> str:
        """The configured NameID format as its SAML URN."""
        return NAME_ID_FORMATS[self.name_id_format]
