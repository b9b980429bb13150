"""Everything the service keeps, in one shared store (SQLite by default, Redis when configured).

Workers and hosts share: the broker's vault, attribution log, kill switch and
pending authorizations (:mod:`xaa.adapters.broker`), plus the service's
own browser sessions, sign-ins in progress, the people's withdrawals of an
app or an agent, and the replay store of client assertions. No state lives
only in a worker's memory except the token cache, which the kill switch and
the withdrawals are checked before.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from xaa import ReplayStore
from xaa.adapters.broker import (
    Keyring,
    KeyValue,
    RedisAttributionLog,
    RedisKeyValue,
    RedisRevocationList,
    RedisVaultBackend,
    SealedPendingAuthorizations,
    SecretVault,
    SqliteAttributionLog,
    SqliteKeyValue,
    SqliteRevocationList,
    SqliteVaultBackend,
    VaultSessions,
    seal,
    unseal,
)
from xaa.adapters.redis_store import RedisReplayStore
from xaa.broker import AttributionLog, RevocationList, VaultIntegrityError
from xaa.stores import SqliteReplayStore

from .config import BrokerServiceConfig

LOGIN_TTL = 600.0
WithdrawalKind = Literal["app", "agent"]


@dataclass(frozen=True, slots=True)
class WebSession:
    """A person signed in to the broker's pages; ``csrf`` guards every form."""

    person: str
    csrf: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginInProgress:
    """What a sign-in's ``state`` keeps until the IdP answers: the OIDC ``nonce``, the PKCE
    verifier (RFC 7636 §4.1) and the local page to go to afterwards."""

    nonce: str
    verifier: str
    target: str


class ServiceState:
    """The shared store, by what it holds."""

    def __init__(self, config: BrokerServiceConfig, keyring: Keyring) -> None:
        self.keyring = keyring
        self.kv: KeyValue
        self.log: AttributionLog
        self.revocations: RevocationList
        self.replay: ReplayStore
        if config.redis_url:
            import redis

            client: Any = redis.Redis.from_url(config.redis_url)
            self.kv = RedisKeyValue(client)
            self.vault = SecretVault(keyring, RedisVaultBackend(client))
            self.log = RedisAttributionLog(client)
            self.revocations = RedisRevocationList(client)
            self.replay = RedisReplayStore(config.redis_url)
        else:
            self.kv = SqliteKeyValue(config.db)
            self.vault = SecretVault(keyring, SqliteVaultBackend(config.db))
            self.log = SqliteAttributionLog(config.db)
            self.revocations = SqliteRevocationList(config.db)
            self.replay = SqliteReplayStore(config.db)
        self.pending = SealedPendingAuthorizations(self.kv, keyring)
        self.sessions = VaultSessions(self.vault)
        self.session_lifetime = config.session_lifetime

    # -- browser sessions (the cookie holds a random id; the store its hash) ---------------
    def new_session(self, person: str, now: float) -> str:
        """A fresh session for ``person``; returns the cookie value."""
        sid = secrets.token_urlsafe(32)
        data = {"person": person, "csrf": secrets.token_urlsafe(24)}
        expires = now + self.session_lifetime
        self.kv.put("web", _hash(sid), seal(self.keyring, "web", data), expires)
        return sid

    def session(self, sid: str | None, now: float) -> WebSession | None:
        """The live session of the cookie ``sid``."""
        if not sid or len(sid) > 128:
            return None
        blob = self.kv.get("web", _hash(sid), now)
        if blob is None:
            return None
        try:
            data = unseal(self.keyring, "web", blob)
        except VaultIntegrityError:
            return None
        return WebSession(data["person"], data["csrf"])

    def end_session(self, sid: str | None) -> None:
        """Sign out."""
        if sid:
            self.kv.delete("web", _hash(sid))

    # -- sign-ins in progress (OIDC state, nonce, PKCE verifier) ---------------------------
    def start_login(self, state: str, nonce: str, verifier: str, target: str, now: float) -> None:
        """Keep what the IdP's answer to ``state`` will be checked against (single use)."""
        data = {"nonce": nonce, "verifier": verifier, "next": target}
        self.kv.put("login", _hash(state), seal(self.keyring, "login", data), now + LOGIN_TTL)

    def take_login(self, state: str | None, now: float) -> LoginInProgress | None:
        """What was kept for ``state``, once; ``None`` when unknown, used, expired or altered."""
        if not state or len(state) > 512:
            return None
        blob = self.kv.take("login", _hash(state), now)
        if blob is None:
            return None
        try:
            data = unseal(self.keyring, "login", blob)
        except VaultIntegrityError:
            return None
        return LoginInProgress(str(data["nonce"]), str(data["verifier"]), str(data["next"]))

    # -- the people's withdrawals ------------------------------------------------------------
    def withdraw(self, person: str, kind: WithdrawalKind, name: str) -> None:
        """``person`` no longer lets ``name`` (an app or an agent) act for them."""
        self.kv.put("withdrawn", json.dumps([person, kind, name]), b"1", None)

    def restore(self, person: str, kind: WithdrawalKind, name: str) -> bool:
        """Lift a withdrawal."""
        return self.kv.delete("withdrawn", json.dumps([person, kind, name]))

    def withdrawn(self, person: str, now: float) -> set[tuple[str, str]]:
        """``{(kind, name)}`` that ``person`` withdrew."""
        out = set()
        for key, _ in self.kv.items("withdrawn", now):
            who, kind, name = json.loads(key)
            if who == person:
                out.add((kind, name))
        return out

    def is_withdrawn(self, person: str, kind: WithdrawalKind, name: str, now: float) -> bool:
        """True when ``person`` withdrew ``name``."""
        return self.kv.get("withdrawn", json.dumps([person, kind, name]), now) is not None
