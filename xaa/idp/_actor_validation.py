"""xaa's actor profile at the IdP token endpoint (draft §4.3, §8.5; RFC 8693 §2.1, §4.1).

:class:`ProfileActorValidator` is the ready :class:`~xaa.idp.ActorTokenValidator`:
it verifies the ``actor_token`` against the configured workload-identity and
access-token issuers (:class:`~xaa.actors.ActorTrust`), authorises the
(subject, client, actor) triple with an :class:`~xaa.actors.ActorPolicy` and
builds ``act``. :func:`actor_validator_from_config` builds one from a TOML/JSON
document. See ``docs/actors.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import spec
from .._client_auth import AuthenticatedClient
from .._errors import validated_config
from .._keys import JwkSet
from .._tokens import DEFAULT_LEEWAY
from ..actors import (
    ActorDecision,
    ActorIssuer,
    ActorPolicy,
    ActorPolicyConfig,
    ActorTrust,
    ConfigActorPolicy,
    authorize_actor,
    jwt_svid_keys,
)
from ._policy import Subject

__all__ = [
    "ActorIssuerConfig",
    "ActorsConfig",
    "ProfileActorValidator",
    "actor_validator_from_config",
]

_TOKEN_TYPES = {"jwt": spec.TOKEN_TYPE_JWT, "access_token": spec.TOKEN_TYPE_ACCESS_TOKEN}


@dataclass(frozen=True, slots=True)
class ProfileActorValidator:
    """:class:`~xaa.idp.ActorTokenValidator` for xaa's actor profile.

    ``issuer`` is the IdP's issuer identifier: every actor token's ``aud`` must contain it.
    The subject's groups come from its current profile; the reference subject
    tokens carry no ``may_act``.
    """

    issuer: str
    trust: ActorTrust
    policy: ActorPolicy
    leeway: int = DEFAULT_LEEWAY

    def validate_actor(
        self,
        token: str,
        token_type: str,
        *,
        subject: Subject,
        client: AuthenticatedClient,
        now: float,
    ) -> ActorDecision:
        """Validate, authorise and chain; every refusal is ``invalid_request`` (RFC 8693 §2.2.2)."""
        return authorize_actor(
            token,
            token_type,
            trust=self.trust,
            policy=self.policy,
            idp_issuer=self.issuer,
            client_id=client.client_id,
            subject=subject.sub,
            subject_groups=subject.profile.groups,
            now=now,
            leeway=self.leeway,
        )


class ActorIssuerConfig(BaseModel):
    """One trusted actor-token issuer.

    ``token_type`` ``jwt`` (workload JWT / JWT-SVID) or ``access_token``.
    ``spiffe_bundle``: a SPIFFE trust bundle in JWKS form (only ``use``
    ``jwt-svid`` keys are used); ``jwks``: a plain JWKS. Exactly one of them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    issuer: str = Field(min_length=1)
    token_type: Literal["jwt", "access_token"] = "jwt"
    trust_domain: str | None = None
    spiffe_bundle: dict[str, Any] | None = None
    jwks: dict[str, Any] | None = None
    max_lifetime: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_key_source(self) -> ActorIssuerConfig:
        if (self.spiffe_bundle is None) == (self.jwks is None):
            raise ValueError("an actor issuer has either spiffe_bundle or jwks")
        return self

    def actor_issuer(self) -> ActorIssuer:
        """The :class:`~xaa.actors.ActorIssuer` this entry configures."""
        keys = (
            jwt_svid_keys(self.spiffe_bundle)
            if self.spiffe_bundle is not None
            else JwkSet.from_jwks(self.jwks or {})
        )
        return ActorIssuer(
            self.issuer,
            keys,
            token_type=_TOKEN_TYPES[self.token_type],
            trust_domain=self.trust_domain,
            max_lifetime=self.max_lifetime,
        )


class ActorsConfig(ActorPolicyConfig):
    """The ``[actors]`` table: trusted ``issuers``, ``max_depth``, ``may_act``-style ``rules``."""

    issuers: list[ActorIssuerConfig] = Field(min_length=1)


def actor_validator_from_config(
    issuer: str, config: ActorsConfig | Mapping[str, Any]
) -> ProfileActorValidator:
    """A :class:`ProfileActorValidator` for the IdP ``issuer`` from ``config``."""
    parsed = config if isinstance(config, ActorsConfig) else validated_config(ActorsConfig, config)
    trust = ActorTrust(item.actor_issuer() for item in parsed.issuers)
    policy = ConfigActorPolicy(parsed.rules, max_depth=parsed.max_depth)
    return ProfileActorValidator(issuer, trust, policy)
