"""The framework-free part of the Flask and Django notes examples: xaa's resource AS
(draft §4.4) and resource server (RFC 9068) for a notes API, and the notes themselves.

Each example only mounts these with its framework's binding (``xaa.adapters.flask``,
``xaa.adapters.django``); the stores are the FastAPI example's (``VendorDb``: clients,
accounts and their links in SQLite; ``JsonLinesAudit``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from examples.fastapi_vendor.stores import EveryRegisteredClient, JsonLinesAudit, VendorDb
from xaa import (
    AccessTokenClaims,
    AuthorizationServerMetadata,
    JwkSet,
    ProtectedResourceMetadata,
    SigningKey,
    spec,
)
from xaa.resource import (
    CLAIM_IDP_ISSUER,
    AccountResolver,
    JwtBearerEndpoint,
    ResourceServer,
    ServedResource,
    TrustedIssuer,
    TrustRegistry,
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)
from xaa.stores import SqliteReplayStore

SCOPES = frozenset({"notes.read", "notes.write"})
KEY_FILE = "as-signing-key.jwk"  # private JWK, mode 0600
DB_FILE = "vendor.sqlite3"
REPLAY_FILE = "replay.sqlite3"
AUDIT_FILE = "audit.jsonl"


@dataclass
class NotesXaa:
    """Everything the bindings mount: the token endpoint, the metadata, the token check."""

    issuer: str
    resource: str
    db: VendorDb
    endpoint: JwtBearerEndpoint
    server: ResourceServer
    metadata: AuthorizationServerMetadata
    jwks: dict[str, Any]
    resource_metadata: ProtectedResourceMetadata

    @classmethod
    def build(cls, issuer: str, data_dir: Path, trusted_idps: list[str]) -> NotesXaa:
        """Wire xaa for ``issuer``: every client in the database may use jwt-bearer, the
        IdPs in ``trusted_idps`` are trusted (keys discovered), accounts are linked by
        ``(iss, tenant, sub)`` and created from the ID-JAG's e-mail on first sight."""
        data_dir.mkdir(parents=True, exist_ok=True)
        base = issuer.rstrip("/")
        resource = f"{base}/notes"
        db = VendorDb(data_dir / DB_FILE)
        key = SigningKey.load_or_generate(data_dir / KEY_FILE)
        endpoint = JwtBearerEndpoint(
            issuer=issuer,
            token_endpoint=f"{base}/token",
            signing_key=key,
            clients=db,
            grants=EveryRegisteredClient(db),
            trust=TrustRegistry([TrustedIssuer(idp) for idp in trusted_idps]),
            replay=SqliteReplayStore(data_dir / REPLAY_FILE),
            subjects=AccountResolver(db),
            resources=[ServedResource(resource, SCOPES)],
            audit=JsonLinesAudit(data_dir / AUDIT_FILE),
        )
        server = ResourceServer(
            resource, issuer, JwkSet([key.verification_key()]),
            protected_resource_metadata_url(resource),
        )  # fmt: skip
        metadata = authorization_server_metadata(
            issuer,
            auth_methods=(spec.AUTH_CLIENT_SECRET_BASIC,),
            scopes=SCOPES,
        )
        return cls(
            issuer, resource, db, endpoint, server, metadata, {"keys": [key.public_jwk()]},
            protected_resource_metadata(resource, [issuer], SCOPES),
        )  # fmt: skip


@dataclass
class Notes:
    """The vendor's notes, per local account (in memory: the example is about access)."""

    _notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, token: AccessTokenClaims, text: str) -> dict[str, Any]:
        """A note by the token's account, recording the client and the vouching IdP."""
        extra: dict[str, Any] = token.model_extra or {}
        note = {"text": text, "created_at": time.time(), "via_client": token.client_id,
                "via_idp": extra.get(CLAIM_IDP_ISSUER)}  # fmt: skip
        with self._lock:
            self._notes.setdefault(token.sub, []).append(note)
        return note

    def of(self, token: AccessTokenClaims) -> list[dict[str, Any]]:
        """The token's account's notes, oldest first."""
        with self._lock:
            return list(self._notes.get(token.sub, []))
