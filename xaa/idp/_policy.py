"""Deployer policy for ID-JAG issuance, as typed hooks (draft §4.3.3, §5, §6, §8.2).

Each decision the IdP takes during a token exchange is one small
:class:`typing.Protocol`; :class:`ConfigPolicy` implements all of them from an
:class:`IssuancePolicy` document (TOML/JSON), so most deployers only write
configuration.

- :class:`AudienceResolver`: ``audience`` (issuer or alias URN) -> resource AS issuer.
- :class:`ClientMapper`: requesting client -> its ``client_id`` at that AS (draft §5).
- :class:`ScopePolicy`: requested ``scope``/``resource``/``authorization_details``
  -> granted values, narrowed or rejected (draft §4.3.3).
- :class:`SubjectMapper`: the End-User -> ``sub`` (public or pairwise), ``email``,
  ``aud_sub``, ``tenant``, ``aud_tenant`` (draft §3.1, §6).
- :class:`AuthContextPolicy`: ``acr``/``amr``/``auth_time`` per audience, else
  ``insufficient_user_authentication`` (draft §8.2, RFC 9470 §3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._errors import (
    InsufficientUserAuthentication,
    InvalidAuthorizationDetails,
    InvalidScope,
    InvalidTarget,
    validated_config,
)
from .._keys import b64url
from .._replay import never_blocks

__all__ = [
    "AudienceResolver",
    "AuthContextPolicy",
    "ClientGrantRule",
    "ClientMapper",
    "ConfigPolicy",
    "ExchangePolicy",
    "Grant",
    "GrantLimits",
    "GrantRequest",
    "IssuancePolicy",
    "MappedSubject",
    "ResourceServerRule",
    "ScopePolicy",
    "ScopeRule",
    "Subject",
    "SubjectMapper",
    "SubjectProfile",
]


@dataclass(frozen=True, slots=True)
class SubjectProfile:
    """What the IdP knows about the End-User now (refreshed on every exchange, draft §4.3.3)."""

    email: str | None = None
    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GrantLimits:
    """The authorization context a refresh token carries (draft §4.3.3); ``None`` = no limit."""

    audiences: frozenset[str] | None = None
    scopes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Subject:
    """The End-User behind a validated subject token, with its authentication context."""

    sub: str
    token_type: str
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    profile: SubjectProfile = SubjectProfile()
    limits: GrantLimits = GrantLimits()


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """What the client asked for, after the audience and the client were resolved."""

    client_id: str
    audience: str
    subject: Subject
    scopes: frozenset[str]
    resources: tuple[str, ...]
    authorization_details: tuple[dict[str, Any], ...] | None


@dataclass(frozen=True, slots=True)
class Grant:
    """What policy grants; the ID-JAG claims and the response carry exactly this."""

    scopes: frozenset[str]
    resources: tuple[str, ...]
    authorization_details: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True, slots=True)
class MappedSubject:
    """Subject claims of the ID-JAG as the resource AS knows them (draft §3.1, §6)."""

    sub: str
    email: str | None = None
    aud_sub: str | None = None
    tenant: str | None = None
    aud_tenant: str | None = None


@runtime_checkable
class AudienceResolver(Protocol):
    """Resolves the ``audience`` parameter to a resource AS issuer (draft §4.3)."""

    def resolve_audience(self, audience: str) -> str | None:
        """The AS issuer for ``audience`` (itself or an alias), or ``None`` when unknown."""
        ...


@runtime_checkable
class ClientMapper(Protocol):
    """Maps the requesting client to its client at the resource AS (draft §5)."""

    def client_id_at(self, client_id: str, audience: str) -> str | None:
        """``client_id``'s identifier at the AS ``audience``, or ``None`` (no relationship)."""
        ...


@runtime_checkable
class ScopePolicy(Protocol):
    """Decides granted scope, resource and authorization details (draft §4.3.3)."""

    def decide(self, request: GrantRequest) -> Grant:
        """Narrow the request, or raise ``invalid_scope``/``invalid_target``/
        ``invalid_authorization_details``."""
        ...


@runtime_checkable
class SubjectMapper(Protocol):
    """Maps the End-User to the identifiers the resource AS knows (draft §3.1, §6)."""

    def map_subject(self, subject: Subject, client_id: str, audience: str) -> MappedSubject:
        """The subject claims for an ID-JAG to ``audience``."""
        ...


@runtime_checkable
class AuthContextPolicy(Protocol):
    """Requires an authentication context per audience (draft §8.2, RFC 9470)."""

    def check_auth_context(self, subject: Subject, audience: str, now: float) -> None:
        """Return when met; else raise ``InsufficientUserAuthentication`` with
        ``max_age``/``acr_values``."""
        ...


@dataclass(frozen=True, slots=True)
class ExchangePolicy:
    """The five policy hooks of a token exchange, usually one :class:`ConfigPolicy`."""

    audiences: AudienceResolver
    clients: ClientMapper
    scopes: ScopePolicy
    subjects: SubjectMapper
    auth_context: AuthContextPolicy

    @property
    def never_blocks(self) -> bool:
        """Whether every hook answers without blocking (:func:`xaa._replay.never_blocks`)."""
        hooks = (self.audiences, self.clients, self.scopes, self.subjects, self.auth_context)
        return never_blocks(*hooks)

    @classmethod
    def from_config(cls, document: IssuancePolicy | Mapping[str, Any]) -> ExchangePolicy:
        """Every hook from one configuration document."""
        policy = ConfigPolicy(document)
        return cls(policy, policy, policy, policy, policy)


# ---------------------------------------------------------------------------
# The configuration document


_MODEL = ConfigDict(frozen=True, extra="forbid")
ClaimName = Literal["email", "aud_sub", "tenant", "aud_tenant"]


class ResourceServerRule(BaseModel):
    """One resource AS the IdP issues ID-JAGs for."""

    model_config = _MODEL
    issuer: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)
    subject_type: Literal["public", "pairwise"] = "public"
    pairwise_salt: str | None = Field(default=None, repr=False)
    claims: list[ClaimName] = ["email"]
    aud_sub_attribute: str | None = None
    tenant: str | None = None
    aud_tenant: str | None = None
    acr_values: list[str] = Field(default_factory=list)
    required_amr: list[str] = Field(default_factory=list)
    max_age: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _pairwise_salt(self) -> Self:
        if self.subject_type == "pairwise" and not self.pairwise_salt:
            raise ValueError("pairwise subjects need a pairwise_salt")
        return self


class ScopeRule(BaseModel):
    """Scopes granted to members of ``groups`` (everyone when ``groups`` is empty)."""

    model_config = _MODEL
    groups: list[str] = Field(default_factory=list)
    scopes: list[str]


class ClientGrantRule(BaseModel):
    """What one client may ask for at one resource AS, and as which client there."""

    model_config = _MODEL
    client: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    scopes: list[ScopeRule] = Field(default_factory=list)
    default_scopes: list[str] = Field(default_factory=list)
    resources: list[str] | None = None
    authorization_details_types: list[str] = Field(default_factory=list)
    on_excess: Literal["narrow", "reject"] = "narrow"


class IssuancePolicy(BaseModel):
    """Which clients may obtain ID-JAGs for which resource AS, with what."""

    model_config = _MODEL
    resource_servers: list[ResourceServerRule] = Field(default_factory=list)
    grants: list[ClientGrantRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names: set[str] = set()
        for i, rs in enumerate(self.resource_servers):
            for name in (rs.issuer, *rs.aliases):
                if name in names:
                    raise ValueError(
                        f"resource_servers[{i}]: audience name {name!r} (issuer or alias) "
                        "is used twice"
                    )
                names.add(name)
        issuers = {rs.issuer: rs for rs in self.resource_servers}
        seen: set[tuple[str, str]] = set()
        for i, grant in enumerate(self.grants):
            where = f"grants[{i}] (client {grant.client!r})"
            server = issuers.get(grant.audience)
            if server is None:
                raise ValueError(
                    f"{where}: audience {grant.audience!r} is no resource_servers issuer"
                )
            if (grant.client, grant.audience) in seen:
                raise ValueError(f"{where}: a second grant at {grant.audience!r}")
            seen.add((grant.client, grant.audience))
            for resource in grant.resources or ():
                if resource not in server.resources:
                    raise ValueError(
                        f"{where}: resource {resource!r} is not governed by {grant.audience!r}"
                    )
        return self


class ConfigPolicy:
    """Every policy hook, driven by an :class:`IssuancePolicy` document."""

    never_blocks = True  # in memory: async servers call it on the event loop

    def __init__(self, document: IssuancePolicy | Mapping[str, Any]) -> None:
        self.document = (
            document
            if isinstance(document, IssuancePolicy)
            else validated_config(IssuancePolicy, document)
        )
        self._servers = {rs.issuer: rs for rs in self.document.resource_servers}
        self._names = {
            name: rs.issuer for rs in self.document.resource_servers for name in rs.aliases
        }
        self._names.update({issuer: issuer for issuer in self._servers})
        self._grants = {(g.client, g.audience): g for g in self.document.grants}

    def resolve_audience(self, audience: str) -> str | None:
        return self._names.get(audience)

    def client_id_at(self, client_id: str, audience: str) -> str | None:
        grant = self._grants.get((client_id, audience))
        return grant.client_id if grant else None

    def decide(self, request: GrantRequest) -> Grant:
        grant = self._grants.get((request.client_id, request.audience))
        if grant is None:
            raise InvalidTarget(detail="no grant for this client at this audience")
        governed = grant.resources
        if governed is None:
            governed = self._servers[request.audience].resources
        for resource in request.resources:
            if resource not in governed:
                raise InvalidTarget(detail="resource not governed by the audience")
        allowed = self._allowed_scopes(grant, request.subject.profile.groups)
        requested = request.scopes or frozenset(grant.default_scopes)
        granted = requested & allowed
        if requested - allowed and (grant.on_excess == "reject" or not granted):
            raise InvalidScope(detail="scope beyond policy")
        details = self._details(grant, request.authorization_details)
        return Grant(granted, request.resources, details)

    @staticmethod
    def _allowed_scopes(grant: ClientGrantRule, groups: frozenset[str]) -> frozenset[str]:
        allowed: set[str] = set()
        for rule in grant.scopes:
            if not rule.groups or groups.intersection(rule.groups):
                allowed.update(rule.scopes)
        return frozenset(allowed)

    @staticmethod
    def _details(
        grant: ClientGrantRule, requested: tuple[dict[str, Any], ...] | None
    ) -> tuple[dict[str, Any], ...] | None:
        if requested is None:
            return None
        types = set(grant.authorization_details_types)
        granted = tuple(d for d in requested if d.get("type") in types)
        if len(granted) != len(requested) and (grant.on_excess == "reject" or not granted):
            raise InvalidAuthorizationDetails(detail="authorization_details beyond policy")
        return granted

    def map_subject(self, subject: Subject, client_id: str, audience: str) -> MappedSubject:
        del client_id
        rs = self._servers[audience]
        sub = subject.sub
        if rs.subject_type == "pairwise":
            salt = rs.pairwise_salt or ""
            digest = hashlib.sha256(f"{salt}\x00{audience}\x00{sub}".encode()).digest()
            sub = b64url(digest)
        profile = subject.profile
        aud_sub = profile.attributes.get(rs.aud_sub_attribute) if rs.aud_sub_attribute else None
        return MappedSubject(
            sub=sub,
            email=profile.email if "email" in rs.claims else None,
            aud_sub=aud_sub if "aud_sub" in rs.claims else None,
            tenant=rs.tenant if "tenant" in rs.claims else None,
            aud_tenant=rs.aud_tenant if "aud_tenant" in rs.claims else None,
        )

    def check_auth_context(self, subject: Subject, audience: str, now: float) -> None:
        rs = self._servers[audience]
        extra: dict[str, str | int] = {}
        if rs.acr_values:
            extra["acr_values"] = " ".join(rs.acr_values)
        if rs.max_age is not None:
            extra["max_age"] = rs.max_age
        if rs.acr_values and subject.acr not in rs.acr_values:
            raise InsufficientUserAuthentication(detail="acr below policy", extra=extra)
        if not set(rs.required_amr) <= set(subject.amr):
            raise InsufficientUserAuthentication(detail="amr below policy", extra=extra)
        if rs.max_age is not None and (
            subject.auth_time is None or now - subject.auth_time > rs.max_age
        ):
            raise InsufficientUserAuthentication(detail="authentication too old", extra=extra)
