"""Agents authenticate with a workload identity (docs/broker.md, "The broker service").

- A SPIFFE JWT-SVID in ``Authorization: Bearer``: verified against the trust
  bundle of its trust domain (JWT-SVID §6, :func:`xaa.actors.verify_actor_token`),
  ``aud`` the service's ``public_url``; its SPIFFE ID names the agent.
- ``private_key_jwt`` (RFC 7523 §3): ``client_assertion_type`` and
  ``client_assertion`` in the JSON body (:func:`xaa.authenticate_client`),
  ``aud`` the service's ``public_url``, each ``jti`` once (shared replay store).

Each failure is an :class:`AgentRefused` with its own code: ``invalid_agent``
(unknown or untrusted credential, unregistered agent), ``credential_expired``,
``credential_replayed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xaa import (
    Form,
    InvalidClient,
    InvalidRequest,
    RegisteredClient,
    ReplayStore,
    authenticate_client,
    spec,
)
from xaa.actors import ActorIssuer, ActorTrust, jwt_svid_keys, verify_actor_token

from .config import AgentSection, BrokerServiceConfig

INVALID_AGENT = "invalid_agent"
CREDENTIAL_EXPIRED = "credential_expired"
CREDENTIAL_REPLAYED = "credential_replayed"
_EXPIRED_DETAILS = ("expired", "exp missing or expired")
_REPLAYED_DETAIL = "client assertion jti reused"


class AgentRefused(Exception):
    """The agent did not authenticate; ``code`` is the error the API answers (401)."""

    def __init__(self, code: str, description: str, detail: str) -> None:
        self.code = code
        self.description = description
        self.detail = detail
        super().__init__(f"{code}: {detail}")


@dataclass(frozen=True, slots=True)
class Agent:
    """An authenticated agent and what it may ask for."""

    name: str
    owner: str
    apps: frozenset[str]
    scopes: frozenset[str]
    active: bool
    via: str  # "jwt-svid" or "private_key_jwt"


class _Clients:
    """The ``private_key_jwt`` agents as a :class:`xaa.ClientStore`."""

    def __init__(self, agents: list[AgentSection]) -> None:
        self._by_id = {
            a.client_id: RegisteredClient.with_jwks(a.client_id, a.jwks)
            for a in agents
            if a.client_id is not None and a.jwks is not None
        }

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self._by_id.get(client_id)


class AgentRegistry:
    """The configured agents, their trust domains, and the shared replay store."""

    def __init__(self, config: BrokerServiceConfig, replay: ReplayStore) -> None:
        self.audience = config.public_url
        self.replay = replay
        self._by_spiffe = {a.spiffe_id: a for a in config.agents if a.spiffe_id}
        self._by_client = {a.client_id: a for a in config.agents if a.client_id}
        self._clients = _Clients(config.agents)
        self._trust = ActorTrust(
            ActorIssuer(
                d.issuer,
                jwt_svid_keys(d.bundle_json()),
                token_type=spec.TOKEN_TYPE_JWT,
                trust_domain=d.trust_domain,
            )
            for d in config.trust_domains
        )

    def authenticate(
        self, headers: Mapping[str, str], body: Mapping[str, object], now: float
    ) -> Agent:
        """The agent behind the request, or :class:`AgentRefused`."""
        authorization = headers.get("authorization", "")
        has_assertion = "client_assertion" in body or "client_assertion_type" in body
        if authorization and has_assertion:
            raise AgentRefused(INVALID_AGENT, "One credential per request.", "two credentials")
        if authorization[:7].lower() == "bearer ":
            return self._svid(authorization[7:].strip(), now)
        if has_assertion:
            return self._assertion(body, now)
        raise AgentRefused(INVALID_AGENT, "The agent did not authenticate.", "no credential")

    def _svid(self, token: str, now: float) -> Agent:
        try:
            actor = verify_actor_token(
                token,
                spec.TOKEN_TYPE_JWT,
                trust=self._trust,
                audience=self.audience,
                client_id="",
                now=now,
            )
        except InvalidRequest as exc:
            if exc.detail in _EXPIRED_DETAILS:
                raise AgentRefused(
                    CREDENTIAL_EXPIRED, "The JWT-SVID has expired.", exc.detail
                ) from None
            raise AgentRefused(
                INVALID_AGENT, "The JWT-SVID is not trusted.", exc.detail or exc.error
            ) from None
        section = self._by_spiffe.get(actor.subject)
        if section is None:
            raise AgentRefused(INVALID_AGENT, "No agent has this SPIFFE ID.", "unregistered")
        return _agent(section, "jwt-svid")

    def _assertion(self, body: Mapping[str, object], now: float) -> Agent:
        values = {
            k: [v]
            for k in ("client_assertion", "client_assertion_type", "client_id")
            if isinstance(v := body.get(k), str)
        }
        try:
            client = authenticate_client(
                {},
                Form(values),
                clients=self._clients,
                issuer=self.audience,
                replay=self.replay,
                now=now,
            )
        except InvalidClient as exc:
            if exc.detail == _REPLAYED_DETAIL:
                raise AgentRefused(
                    CREDENTIAL_REPLAYED, "The client assertion was already used.", exc.detail
                ) from None
            if exc.detail in _EXPIRED_DETAILS:
                raise AgentRefused(
                    CREDENTIAL_EXPIRED, "The client assertion has expired.", exc.detail
                ) from None
            raise AgentRefused(
                INVALID_AGENT, "The client assertion is not valid.", exc.detail or exc.error
            ) from None
        return _agent(self._by_client[client.client_id], "private_key_jwt")


def _agent(section: AgentSection, via: str) -> Agent:
    return Agent(
        section.name,
        section.owner,
        frozenset(section.apps),
        frozenset(section.scopes),
        section.status == "active",
        via,
    )


__all__ = ["Agent", "AgentRefused", "AgentRegistry"]
