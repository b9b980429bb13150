"""Settings of the reference chat app, with its embedded demo defaults.

DEMO ONLY: the client secrets and user passwords below are public.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from xaa import RegisteredClient
from xaa.actors import ActorRequirement
from xaa.resource import ClientGrant, JitPolicy, TrustedIssuer

DEFAULT_PORT = 9500
LEGACY_PORT = 9600
DEFAULT_IDP = "http://127.0.0.1:9400"
# The demo users' e-mail domain; the demo IdP is authoritative for it only by default.
DEMO_EMAIL_DOMAIN = "acme.example"

# (client_id, secret): confidential clients of the chat AS (client_secret_basic or _post).
DEMO_CLIENTS = (("wiki-at-chat", "wiki-chat-secret"), ("agent-at-chat", "agent-chat-secret"))
# (username, email, password): local chat users for the login page of the code flow.
DEMO_USERS = (
    ("alice", "alice@acme.example", "alice-chat"),
    ("bob", "bob@acme.example", "bob-chat"),
)
SCOPES = ("chat.read", "chat.history", "chat.write")
CHANNELS = (("general", "General"), ("random", "Random"))


@dataclass(frozen=True)
class Settings:
    """Where the app listens, whom it trusts, where it keeps state."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    issuer: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    db: str = "xaa-resource.db"
    replay: str = "sqlite"  # "sqlite" (the --db file), "memory", or a redis:// URL
    # The IdPs whose ID-JAGs are accepted. The demo default (the reference IdP) applies only
    # when nothing is configured: Settings.make(trust_idps=[...]) replaces it.
    trusted_idps: tuple[str, ...] = (DEFAULT_IDP,)
    # (issuer, domain): the trusted IdP is authoritative for the domain, so its email claims
    # there may link local or other issuers' accounts (docs/resource.md "Subjects").
    idp_email_domains: tuple[tuple[str, str], ...] = ((DEFAULT_IDP, DEMO_EMAIL_DOMAIN),)
    legacy: bool = False
    clients: tuple[tuple[str, str], ...] = DEMO_CLIENTS
    users: tuple[tuple[str, str, str], ...] = DEMO_USERS
    access_token_lifetime: int = 900
    refresh_token_lifetime: int = 86400
    idp_keys_ttl: float = 3600.0
    idp_min_refresh_interval: float = 30.0
    # DPoP (RFC 9449, draft §8.6.1.2): proofs at /token (jwt-bearer + DPoP header, jwt-dpop)
    # and the DPoP scheme at the API; dpop_required refuses Bearer tokens for the API.
    dpop: bool = True
    dpop_required: bool = False
    dpop_nonces: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    # The AS's stance on actors (act): require, refuse or allow, per client and for the others
    # (xaa.actors.ConfigResourceActorPolicy, docs/actors.md).
    actor_requirements: tuple[tuple[str, ActorRequirement], ...] = ()
    actor_default: ActorRequirement = "allow"
    # From a configuration file (reference_resource.config); None: the demo world above.
    registered_clients: tuple[RegisteredClient, ...] | None = None
    client_grants: tuple[ClientGrant, ...] | None = None
    trusted: tuple[TrustedIssuer, ...] | None = None
    accounts: JitPolicy | None = None
    api_scopes: tuple[str, ...] = SCOPES
    # The MCP server at /mcp (reference_resource.mcp); empty scopes: not served.
    mcp_scopes: tuple[str, ...] = SCOPES
    mcp_dpop_required: bool = False

    @property
    def resource(self) -> str:
        """The chat API's resource identifier (RFC 8707)."""
        return self.issuer.rstrip("/") + "/api"

    @property
    def mcp_resource(self) -> str:
        """The MCP server's resource identifier (RFC 8707, RFC 9728)."""
        return self.issuer.rstrip("/") + "/mcp"

    @classmethod
    def make(
        cls,
        *,
        legacy: bool = False,
        host: str | None = None,
        port: int | None = None,
        issuer: str | None = None,
        db: str | None = None,
        replay: str | None = None,
        trust_idps: list[str] | None = None,
        idp_email_domains: list[tuple[str, str]] | None = None,
    ) -> Settings:
        """Defaults for the mode, overridden by whatever is given.

        ``trust_idps`` replaces the demo IdP (and its e-mail authority) instead of adding to it.
        """
        chosen_port = port or (LEGACY_PORT if legacy else DEFAULT_PORT)
        chosen_host = host or "127.0.0.1"
        base = cls(
            host=chosen_host,
            port=chosen_port,
            issuer=issuer or f"http://{chosen_host}:{chosen_port}",
            db=db or ("xaa-resource-legacy.db" if legacy else "xaa-resource.db"),
            legacy=legacy,
        )
        if replay:
            base = replace(base, replay=replay)
        if trust_idps:
            base = replace(
                base, trusted_idps=tuple(dict.fromkeys(trust_idps)), idp_email_domains=()
            )
        if idp_email_domains:
            base = replace(base, idp_email_domains=tuple(idp_email_domains))
        return base
