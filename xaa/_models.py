"""Frozen pydantic models of every message xaa reads or writes.

Claims models validate JSON types strictly (no coercion: ``"123"`` is not a
number, ``true`` is not an integer). NumericDate claims must be integers, the
stricter reading of RFC 7519 §2 (recorded in docs/compliance.md).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from . import spec

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
_STRICT = ConfigDict(frozen=True, extra="allow", strict=True)
_CLOSED = ConfigDict(frozen=True, extra="ignore", strict=True)


class AuthorizationDetail(BaseModel):
    """One RFC 9396 §2 authorization detail object: ``type`` plus anything else."""

    model_config = _STRICT
    type: NonEmpty


class Confirmation(BaseModel):
    """RFC 7800 ``cnf`` with the RFC 9449 §6.1 ``jkt`` member."""

    model_config = _STRICT
    jkt: NonEmpty


class Actor(BaseModel):
    """RFC 8693 §4.1 ``act``: the current actor, earlier actors nested in ``act``."""

    model_config = _STRICT
    sub: NonEmpty
    iss: NonEmpty | None = None
    act: Actor | None = None

    def chain(self) -> list[str]:
        """Actor subjects, outermost (current) first."""
        out: list[str] = []
        node: Actor | None = self
        while node is not None:
            out.append(node.sub)
            node = node.act
        return out


def _exclude_none(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


class _Claims(BaseModel):
    model_config = _STRICT

    def to_json(self) -> dict[str, Any]:
        """The JSON claims set, without absent optional claims."""
        return _exclude_none(self)


class RegisteredClaims(_Claims):
    """The registered claims (RFC 7519 §4.1) every JWT xaa verifies carries: ``iss``, ``sub``,
    ``aud``, ``exp``, ``iat`` required, ``nbf`` optional."""

    iss: NonEmpty
    sub: NonEmpty
    aud: NonEmpty | list[NonEmpty]
    exp: int
    iat: int
    nbf: int | None = None


class _GrantClaims(RegisteredClaims):
    """What the ID-JAG (draft §3.1) and the access token (RFC 9068 §2.2) both carry: issued
    to ``client_id`` for a scope, with the user's authentication and the actor chain."""

    client_id: NonEmpty
    jti: NonEmpty
    scope: str | None = None
    authorization_details: list[AuthorizationDetail] | None = None
    act: Actor | None = None
    auth_time: int | None = None
    acr: str | None = None
    amr: list[str] | None = None
    cnf: Confirmation | None = None

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scope as a set."""
        return frozenset(self.scope.split()) if self.scope else frozenset()


class IdJagClaims(_GrantClaims):
    """Claims of an Identity Assertion JWT Authorization Grant (draft §3.1)."""

    resource: NonEmpty | list[NonEmpty] | None = None
    tenant: NonEmpty | None = None
    aud_tenant: NonEmpty | None = None
    aud_sub: NonEmpty | None = None
    email: str | None = None

    @classmethod
    def new(
        cls,
        *,
        issuer: str,
        subject: str,
        audience: str,
        client_id: str,
        lifetime: int = 300,
        now: float | None = None,
        **optional: Any,
    ) -> Self:
        """Fresh claims: a random ``jti``, ``iat`` now and ``exp`` after ``lifetime``."""
        issued = int(time.time() if now is None else now)
        return cls.model_validate(
            {
                "iss": issuer,
                "sub": subject,
                "aud": audience,
                "client_id": client_id,
                "jti": secrets.token_urlsafe(16),
                "iat": issued,
                "exp": issued + lifetime,
                **{k: v for k, v in optional.items() if v is not None},
            }
        )

    @property
    def resources(self) -> list[str]:
        """``resource`` as a list, whatever its JSON form."""
        if self.resource is None:
            return []
        return [self.resource] if isinstance(self.resource, str) else list(self.resource)


class AccessTokenClaims(_GrantClaims):
    """RFC 9068 §2.2 JWT access token claims, plus what xaa carries over."""


class IdTokenClaims(RegisteredClaims):
    """OpenID Connect Core §2 ID Token claims."""

    azp: NonEmpty | None = None
    nonce: str | None = None
    auth_time: int | None = None
    acr: str | None = None
    amr: list[str] | None = None
    email: str | None = None
    sid: str | None = None


class TokenExchangeRequest(BaseModel):
    """RFC 8693 §2.1 request for an ID-JAG (draft §4.3)."""

    model_config = _CLOSED
    grant_type: str = spec.GRANT_TOKEN_EXCHANGE
    requested_token_type: str = spec.TOKEN_TYPE_ID_JAG
    audience: NonEmpty
    subject_token: NonEmpty
    subject_token_type: NonEmpty
    resource: list[NonEmpty] = Field(default_factory=list)
    scope: str | None = None
    authorization_details: list[AuthorizationDetail] | None = None
    actor_token: str | None = None
    actor_token_type: str | None = None

    @model_validator(mode="after")
    def _actor_pair(self) -> Self:
        if (self.actor_token is None) != (self.actor_token_type is None):
            raise ValueError("actor_token and actor_token_type go together")
        return self

    def to_form(self) -> dict[str, str | list[str]]:
        """Form parameters (``authorization_details`` as a JSON string)."""
        out: dict[str, str | list[str]] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if name == "authorization_details":
                out[name] = json.dumps(value, separators=(",", ":"))
            elif value != []:
                out[name] = value
        return out


class JwtBearerRequest(BaseModel):
    """RFC 7523 §2.1 access token request presenting an ID-JAG (draft §4.4)."""

    model_config = _CLOSED
    grant_type: str = spec.GRANT_JWT_BEARER
    assertion: NonEmpty
    scope: str | None = None
    resource: list[NonEmpty] = Field(default_factory=list)


class TokenExchangeResponse(BaseModel):
    """RFC 8693 §2.2.1 response carrying an ID-JAG (draft §4.3.4)."""

    model_config = _CLOSED
    access_token: NonEmpty
    issued_token_type: NonEmpty
    token_type: NonEmpty
    expires_in: int | None = None
    scope: str | None = None
    authorization_details: list[AuthorizationDetail] | None = None
    refresh_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body."""
        return _exclude_none(self)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 access token response (draft §4.4.2)."""

    model_config = _CLOSED
    access_token: NonEmpty
    token_type: NonEmpty
    expires_in: int | None = None
    scope: str | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    resource: NonEmpty | list[NonEmpty] | None = None
    authorization_details: list[AuthorizationDetail] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body."""
        return _exclude_none(self)


class ErrorResponse(BaseModel):
    """RFC 6749 §5.2 error body; extension members are kept."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)
    error: NonEmpty
    error_description: str | None = None
    error_uri: str | None = None


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 §2 metadata with the draft's parameters (draft §7)."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)
    issuer: NonEmpty
    token_endpoint: NonEmpty | None = None
    authorization_endpoint: NonEmpty | None = None
    jwks_uri: NonEmpty | None = None
    userinfo_endpoint: NonEmpty | None = None
    revocation_endpoint: NonEmpty | None = None
    grant_types_supported: list[str] | None = None
    response_types_supported: list[str] | None = None
    scopes_supported: list[str] | None = None
    code_challenge_methods_supported: list[str] | None = None
    token_endpoint_auth_methods_supported: list[str] | None = None
    token_endpoint_auth_signing_alg_values_supported: list[str] | None = None
    authorization_grant_profiles_supported: list[str] | None = None
    identity_chaining_requested_token_types_supported: list[str] | None = None
    dpop_signing_alg_values_supported: list[str] | None = None

    @model_validator(mode="after")
    def _profile_needs_jwt_bearer(self) -> Self:
        """Draft §7.2: the id-jag profile MUST come with the jwt-bearer grant."""
        profiles = self.authorization_grant_profiles_supported or []
        grants = self.grant_types_supported or []
        if spec.GRANT_PROFILE_ID_JAG in profiles and spec.GRANT_JWT_BEARER not in grants:
            raise ValueError("the id-jag grant profile requires the jwt-bearer grant type")
        return self

    @property
    def accepts_id_jag(self) -> bool:
        """True when this AS advertises the id-jag profile (draft §7.2)."""
        return spec.GRANT_PROFILE_ID_JAG in (self.authorization_grant_profiles_supported or [])

    @property
    def issues_id_jag(self) -> bool:
        """True when this IdP advertises ID-JAG issuance (draft §7.1)."""
        types = self.identity_chaining_requested_token_types_supported or []
        return spec.TOKEN_TYPE_ID_JAG in types

    def to_json(self) -> dict[str, Any]:
        """The JSON document."""
        return _exclude_none(self)


class ProtectedResourceMetadata(BaseModel):
    """RFC 9728 §2 protected resource metadata."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)
    resource: NonEmpty
    authorization_servers: list[NonEmpty] | None = None
    jwks_uri: NonEmpty | None = None
    scopes_supported: list[str] | None = None
    bearer_methods_supported: list[str] | None = None
    resource_name: str | None = None
    dpop_signing_alg_values_supported: list[str] | None = None
    dpop_bound_access_tokens_required: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document."""
        return _exclude_none(self)
