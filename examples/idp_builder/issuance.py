"""What the provider adds to issue ID-JAGs (draft §4.3): xaa's token exchange, wired to
the provider's own key ring, clients, user directory and refresh tokens, with a policy
and an audit sink; and the metadata that advertises it (draft §7.1).
"""

from __future__ import annotations

import logging
from typing import Any

from xaa import AuditEvent, KeyRing, spec
from xaa.idp import ExchangePolicy, TokenExchangeEndpoint, idp_metadata
from xaa.stores import MemoryReplayStore

from .provider import Directory, Grants

AUDIT_LOGGER = "idp_builder.audit"
log = logging.getLogger(AUDIT_LOGGER)


def policy_for(notes_as: str) -> dict[str, Any]:
    """Who may get ID-JAGs for what (docs/idp.md, "The policy document"): wiki and the
    agent, for the notes app at ``notes_as`` (examples/fastapi_vendor)."""
    return {
        "resource_servers": [
            {"issuer": notes_as, "resources": [f"{notes_as}/notes"], "claims": ["email"]}
        ],
        "grants": [
            {
                "client": "wiki",
                "audience": notes_as,
                "client_id": "wiki-at-notes",
                "scopes": [
                    {"groups": ["engineering"], "scopes": ["notes.read", "notes.write"]},
                    {"scopes": ["notes.read"]},
                ],
            },
            {
                "client": "agent",
                "audience": notes_as,
                "client_id": "agent-at-notes",
                "scopes": [{"scopes": ["notes.read"]}],
            },
        ],
    }


class LogAudit:
    """``xaa.AuditSink``: every decision to the log (one JSON line) and kept in memory."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)
        log.info("%s", event.model_dump_json())


def token_exchange(
    issuer: str,
    keys: KeyRing,
    directory: Directory,
    grants: Grants,
    notes_as: str,
    audit: LogAudit,
) -> TokenExchangeEndpoint:
    """The token exchange endpoint: ID tokens and refresh tokens of this provider in,
    ID-JAGs signed with its current key out."""
    return TokenExchangeEndpoint(
        issuer=issuer,
        keys=keys,
        clients=directory,
        replay=MemoryReplayStore(),  # client assertion jti, once; share it in a cluster
        policy=ExchangePolicy.from_config(policy_for(notes_as)),
        audit=audit,
        directory=directory,  # current email and groups at every exchange (draft §4.3.3)
        refresh_tokens=grants,  # refresh tokens as subject tokens (draft §4.3.3)
    )


def metadata(issuer: str, endpoint: TokenExchangeEndpoint) -> dict[str, Any]:
    """RFC 8414 / OIDC Discovery document of the whole provider, token exchange included."""
    document = idp_metadata(
        issuer,
        signing_algs=[endpoint.keys.current.alg],
        authorization_endpoint=True,
        revocation_endpoint=True,
        grant_types=(spec.GRANT_AUTHORIZATION_CODE, spec.GRANT_TOKEN_EXCHANGE),
        scopes=("openid", "email", "offline_access"),
        claims=("sub", "email"),
    ).to_json()
    document["subject_token_types_supported"] = endpoint.subject_token_types
    return document
