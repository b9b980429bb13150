"""The broker, sans-I/O: one generator per operation, yielding requests, receiving responses.

:meth:`BrokerFlow.access_token_flow` checks the kill switch, serves the cache,
discovers the app's AS, chooses the strategy (:func:`choose_strategy`) and mints:

- XAA: :class:`xaa.client.XaaFlow` (the IdP leg, then jwt-bearer at the app's AS).
  An IdP or AS policy denial becomes :class:`BlockedByPolicy`; never a fallback.
- authorization code: refresh the vaulted grant for a subset of its scopes, or,
  with no grant yet, raise :class:`AuthorizationRequired` with a PKCE URL;
  :meth:`BrokerFlow.complete_flow` finishes it from the callback.
- client credentials: the app's service account, secret from the vault.

Every mint appends a :class:`MintRecord`. Drivers: :mod:`xaa.adapters._broker_http`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from .. import spec
from .._errors import HttpResponse, InvalidGrant, InvalidRequest, ProtocolViolation
from .._models import AuthorizationServerMetadata
from ..client import (
    AccessToken,
    ClientConfig,
    IdentitySession,
    IdpConfig,
    MetadataCache,
    PolicyDenied,
    ReauthenticationRequired,
    Request,
    XaaFlow,
    discover_authorization_server,
)
from ._attribution import AttributionLog, MintRecord, token_fingerprint
from ._errors import (
    AuthorizationRequired,
    BlockedByPolicy,
    Revoked,
    UnknownApp,
    VaultIntegrityError,
)
from ._killswitch import RevocationList, RevocationTarget, covering
from ._oauth import (
    IssuedTokens,
    PendingAuthorization,
    PendingAuthorizations,
    PendingStore,
    authorization_request,
    client_credentials_request,
    code_exchange_request,
    downscope,
    process_grant_response,
    refresh_request,
    revocation_request,
    revocation_succeeded,
)
from ._strategy import AppConfig, Strategy, choose_strategy
from ._vault import CLIENT_SUBJECT, SecretKind, Slot, Vault, VaultEntry

T = TypeVar("T")
Flow = Generator[Request, HttpResponse, T]
DEFAULT_SKEW = 30.0


class SessionSource(Protocol):
    """The person's IdP sign-in (ID token, IdP refresh token), for the XAA strategy."""

    def session(self, person: str) -> IdentitySession | None:
        """The session of ``person``, ``None`` when they have not signed in."""
        ...


@runtime_checkable
class SessionStore(SessionSource, Protocol):
    """A :class:`SessionSource` that hands out copies: what the XAA leg changes (a refreshed
    ID token, a rotated or dropped IdP refresh token) is written back with :meth:`keep`."""

    def keep(self, person: str, session: IdentitySession) -> None:
        """Store ``session`` as ``person``'s sign-in."""
        ...


@dataclass
class MemorySessions:
    """Sessions in a dict, by person."""

    by_person: dict[str, IdentitySession] = field(default_factory=dict)

    def session(self, person: str) -> IdentitySession | None:
        return self.by_person.get(person)


@dataclass(frozen=True, slots=True)
class BrokeredToken:
    """A short-lived access token with who it is for (person), who acts (agent) and how."""

    access: AccessToken
    person: str
    agent: str | None
    app: str
    strategy: Strategy
    requested_scopes: frozenset[str]
    fingerprint: str

    @property
    def token(self) -> str:
        """The access token itself (never log it; log :attr:`fingerprint`)."""
        return self.access.token

    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        return self.access.authorization()


@dataclass(frozen=True, slots=True)
class BrokerCacheKey:
    """Tokens are cached per person, agent, app and requested scope set."""

    person: str
    agent: str | None
    app: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class RevocationReport:
    """What the kill switch did."""

    target: RevocationTarget
    vault_slots_deleted: int
    cached_tokens_dropped: int
    pending_dropped: int
    revoked_at_app: int
    not_revoked_at_app: int


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """The broker's apps, the IdP (for XAA), and its hooks."""

    apps: Mapping[str, AppConfig]
    vault: Vault
    revocations: RevocationList
    log: AttributionLog
    idp: IdpConfig | None = None
    sessions: SessionSource = field(default_factory=MemorySessions)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    skew: float = DEFAULT_SKEW
    pending: PendingStore | None = None  # None: this process's memory


class BrokerFlow:
    """The cache, the pending authorizations and the operation generators."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.metadata = MetadataCache()
        self.pending: PendingStore = config.pending or PendingAuthorizations()
        self._cache: dict[BrokerCacheKey, BrokeredToken] = {}

    # -- lookups ------------------------------------------------------------------
    def app(self, name: str) -> AppConfig:
        """The configured app ``name``, else :class:`UnknownApp`."""
        app = self.config.apps.get(name)
        if app is None:
            raise UnknownApp(f"no app named {name!r}")
        return app

    def check_not_revoked(self, person: str, agent: str | None, app: str) -> None:
        """Fail closed when the kill switch covers the request."""
        target = covering(self.config.revocations.targets(), person, agent, app)
        if target is not None:
            raise Revoked(str(target))

    def cached(
        self, person: str, app: str, scopes: frozenset[str], agent: str | None
    ) -> BrokeredToken | None:
        """A cached token still valid beyond the skew (after the kill-switch check)."""
        self.check_not_revoked(person, agent, app)
        self.app(app)
        hit = self._cache.get(BrokerCacheKey(person, agent, app, scopes))
        now = self.config.clock()
        if hit is None or not hit.access.valid(now, self.config.skew):
            return None
        return hit

    # -- minting ------------------------------------------------------------------
    def access_token_flow(
        self,
        person: str,
        app_name: str,
        scopes: frozenset[str],
        agent: str | None = None,
        *,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> Flow[BrokeredToken]:
        """A short-lived token for ``agent`` acting for ``person`` at ``app_name``."""
        hit = self.cached(person, app_name, scopes, agent)
        if hit is not None:
            return hit
        app = self.app(app_name)
        meta = yield from self._metadata(app)
        strategy = choose_strategy(app, meta)
        if strategy == Strategy.XAA:
            access = yield from self._xaa(app, person, scopes, actor_token, actor_token_type)
        elif strategy == Strategy.AUTHORIZATION_CODE:
            access = yield from self._refresh(app, meta, person, agent, scopes)
        else:
            access = yield from self._client_credentials(app, meta, scopes)
        return self._minted(access, person, agent, app_name, strategy, scopes)

    def strategy_flow(self, app_name: str) -> Flow[Strategy]:
        """The strategy :meth:`access_token_flow` will use for ``app_name`` (discovery first)."""
        app = self.app(app_name)
        meta = yield from self._metadata(app)
        return choose_strategy(app, meta)

    def authorization_url(
        self, person: str, app_name: str, scopes: frozenset[str], agent: str | None = None
    ) -> Flow[PendingAuthorization]:
        """Start the authorization code flow for ``person`` at ``app_name`` (PKCE, state)."""
        self.check_not_revoked(person, agent, app_name)
        app = self.app(app_name)
        meta = yield from self._metadata(app)
        if meta.authorization_endpoint is None or app.redirect_uri is None:
            raise UnknownApp(f"{app_name} has no authorization endpoint or redirect URI")
        now = self.config.clock()
        pending = authorization_request(
            meta.authorization_endpoint,
            client_id=app.client_id,
            redirect_uri=app.redirect_uri,
            resource=app.resource,
            scopes=scopes,
            person=person,
            agent=agent,
            app=app_name,
            now=now,
        )
        self.pending.add(pending, now)
        return pending

    def complete_flow(
        self,
        state: str | None,
        code: str | None,
        issuer: str | None = None,
        *,
        person: str | None = None,
    ) -> Flow[BrokeredToken]:
        """The callback (RFC 6749 §4.1.2): check ``state``, redeem ``code``, vault the grant.

        ``issuer``: the response's ``iss`` (RFC 9207 §2.4, against mix-up): when
        present it must equal the app's issuer; an AS advertising
        ``authorization_response_iss_parameter_supported`` must send it.
        ``person``: the person signed in to the browser that brought the callback;
        when given, the request must be theirs (RFC 6749 §10.12: the grant lands
        in the vault slot of the person who started it, never another's).
        """
        pending = self.pending.take(state, self.config.clock())
        if person is not None and pending.person != person:
            raise InvalidRequest("Unknown or expired authorization request.", detail="other person")
        if not code:
            raise InvalidRequest("The authorization response has no code.", detail="no code")
        self.check_not_revoked(pending.person, pending.agent, pending.app)
        app = self.app(pending.app)
        meta = yield from self._metadata(app)
        iss_required = (meta.model_extra or {}).get(spec.M_ISS_PARAMETER_SUPPORTED) is True
        if issuer != meta.issuer and (issuer is not None or iss_required):
            raise InvalidRequest("The authorization response is not from this app.", detail="iss")
        assert meta.token_endpoint is not None
        credentials = app.credentials(self._client_secret(app))
        response = yield code_exchange_request(
            meta.token_endpoint,
            credentials,
            issuer=meta.issuer,
            code=code,
            pending=pending,
            now=self.config.clock(),
        )
        grant = _processed(app, response, pending.scopes, None, self.config.clock())
        if grant.refresh_token is not None:
            slot = Slot(SecretKind.REFRESH_TOKEN, pending.person, app.name)
            entry = VaultEntry(grant.refresh_token, grant.access.scopes, pending.agent)
            self.config.vault.put(slot, entry)
        return self._minted(
            grant.access,
            pending.person,
            pending.agent,
            app.name,
            Strategy.AUTHORIZATION_CODE,
            pending.scopes,
        )

    def _metadata(self, app: AppConfig) -> Flow[AuthorizationServerMetadata]:
        now = self.config.clock()
        meta = yield from discover_authorization_server(
            app.issuer, self.metadata, now, require=None
        )
        return meta

    def _client_secret(self, app: AppConfig) -> str | None:
        if app.auth_method == spec.AUTH_PRIVATE_KEY_JWT:
            return None
        entry = self.config.vault.get(Slot(SecretKind.CLIENT_SECRET, CLIENT_SUBJECT, app.name))
        return entry.secret if entry is not None else None

    def _xaa(
        self,
        app: AppConfig,
        person: str,
        scopes: frozenset[str],
        actor_token: str | None,
        actor_token_type: str | None,
    ) -> Flow[AccessToken]:
        """XAA via the client's flow; its cache is fresh per call (ours is keyed by agent)."""
        idp = self.config.idp
        session = self.config.sessions.session(person)
        if idp is None or session is None:
            raise AuthorizationRequired(app.name, Strategy.XAA, None, "sign in at the IdP first")
        client = ClientConfig(
            idp=idp,
            authorization_servers={app.issuer: app.credentials(self._client_secret(app))},
            clock=self.config.clock,
        )
        xaa = XaaFlow(client)
        xaa.metadata = self.metadata
        before = (session.id_token, session.refresh_token)
        try:
            token: AccessToken = yield from xaa.token_flow(
                app.resource,
                scopes,
                session,
                authorization_server=app.issuer,
                actor_token=actor_token,
                actor_token_type=actor_token_type,
            )
        except PolicyDenied as denied:
            raise _blocked(app, denied) from None
        except ReauthenticationRequired as reauth:
            raise AuthorizationRequired(
                app.name, Strategy.XAA, reauth.authorization_url, reauth.reason
            ) from None
        finally:
            self._write_back(person, session, before)
        return token

    def _write_back(
        self, person: str, session: IdentitySession, before: tuple[str | None, str | None]
    ) -> None:
        """Keep a refreshed ID token or a rotated IdP refresh token in a :class:`SessionStore`.

        A token the flow dropped after a refusal is not dropped from the store: the
        refusal may concern the request (an actor token, a scope), not the sign-in; a
        sign-in the IdP really ended is refused again at the next call.
        """
        sessions = self.config.sessions
        id_token = session.id_token or before[0]
        refresh_token = session.refresh_token or before[1]
        if (id_token, refresh_token) == before or not isinstance(sessions, SessionStore):
            return
        kept = IdentitySession(
            id_token=id_token,
            refresh_token=refresh_token,
            subject=session.subject,
            subject_token_type=session.subject_token_type,
        )
        sessions.keep(person, kept)

    def _refresh(
        self,
        app: AppConfig,
        meta: AuthorizationServerMetadata,
        person: str,
        agent: str | None,
        scopes: frozenset[str],
    ) -> Flow[AccessToken]:
        """Refresh the vaulted grant for ``scopes`` (downscoped), or ask for authorization."""
        slot = Slot(SecretKind.REFRESH_TOKEN, person, app.name)
        entry = self.config.vault.get(slot)
        if entry is None:
            pending = yield from self.authorization_url(person, app.name, scopes, agent)
            raise AuthorizationRequired(
                app.name, Strategy.AUTHORIZATION_CODE, pending.url, "no grant yet"
            )
        wanted = downscope(app.name, scopes, entry.scopes)
        assert meta.token_endpoint is not None
        response = yield refresh_request(
            meta.token_endpoint,
            app.credentials(self._client_secret(app)),
            issuer=meta.issuer,
            refresh_token=entry.secret,
            scopes=wanted,
            resource=app.resource,
            now=self.config.clock(),
        )
        try:
            grant = _processed(app, response, wanted, entry.scopes, self.config.clock())
        except InvalidGrant:
            self.config.vault.delete(slot)
            pending = yield from self.authorization_url(person, app.name, scopes, agent)
            raise AuthorizationRequired(
                app.name, Strategy.AUTHORIZATION_CODE, pending.url, "the app refused the grant"
            ) from None
        if grant.refresh_token is not None and grant.refresh_token != entry.secret:
            self.config.vault.put(slot, VaultEntry(grant.refresh_token, entry.scopes, entry.actor))
        return grant.access

    def _client_credentials(
        self, app: AppConfig, meta: AuthorizationServerMetadata, scopes: frozenset[str]
    ) -> Flow[AccessToken]:
        """RFC 6749 §4.4: the app's service account."""
        assert meta.token_endpoint is not None
        response = yield client_credentials_request(
            meta.token_endpoint,
            app.credentials(self._client_secret(app)),
            issuer=meta.issuer,
            scopes=scopes,
            resource=app.resource,
            now=self.config.clock(),
        )
        return _processed(app, response, scopes, None, self.config.clock()).access

    def _minted(
        self,
        access: AccessToken,
        person: str,
        agent: str | None,
        app: str,
        strategy: Strategy,
        requested: frozenset[str],
    ) -> BrokeredToken:
        """Cache the token and append its attribution record."""
        minted = BrokeredToken(
            access, person, agent, app, strategy, requested, token_fingerprint(access.token)
        )
        now = self.config.clock()
        self._cache = {k: v for k, v in self._cache.items() if v.access.valid(now, 0)}
        self._cache[BrokerCacheKey(person, agent, app, requested)] = minted
        self.config.log.append(
            MintRecord(
                time=now,
                event="mint",
                person=person,
                agent=agent,
                app=app,
                strategy=str(strategy),
                requested_scopes=tuple(sorted(requested)),
                granted_scopes=tuple(sorted(access.scopes)),
                fingerprint=minted.fingerprint,
                expires_at=access.expires_at,
            )
        )
        return minted

    # -- kill switch --------------------------------------------------------------
    def revoke_flow(self, target: RevocationTarget) -> Flow[RevocationReport]:
        """Revoke everything ``target`` covers; local effects first, then RFC 7009 calls."""
        now = self.config.clock()
        self.config.revocations.add(target, now)
        to_revoke: list[tuple[str, str, str]] = []  # (app, token, hint)
        slots_deleted = 0
        for slot, actor in self.config.vault.slots():
            if not target.covers_slot(slot, actor):
                continue
            try:
                entry = self.config.vault.get(slot)
            except VaultIntegrityError:
                entry = None  # unreadable: still deleted, cannot be revoked at the app
            if entry is not None:
                to_revoke.append((slot.app, entry.secret, spec.P_REFRESH_TOKEN))
            slots_deleted += self.config.vault.delete(slot)
        dropped = [k for k in self._cache if target.covers(k.person, k.agent, k.app)]
        for key in dropped:
            to_revoke.append((key.app, self._cache.pop(key).token, "access_token"))
        pending = self.pending.drop(
            target.value if target.kind == "person" else None,
            target.value if target.kind == "agent" else None,
            target.value if target.kind == "app" else None,
        )
        self.config.log.append(
            MintRecord(
                time=now,
                event="revoke",
                person=target.value if target.kind == "person" else "*",
                agent=target.value if target.kind == "agent" else None,
                app=target.value if target.kind == "app" else "*",
                strategy="kill-switch",
                detail=f"{target}: {slots_deleted} vault slots, {len(dropped)} cached tokens",
            )
        )
        revoked = failed = 0
        for app_name, token, hint in to_revoke:
            app = self.config.apps.get(app_name)
            if app is None:
                failed += 1
                continue
            try:
                meta = yield from self._metadata(app)
            except ProtocolViolation:
                meta = None
            if meta is None or meta.revocation_endpoint is None:
                failed += 1
                continue
            response = yield revocation_request(
                meta.revocation_endpoint,
                app.credentials(self._client_secret(app)),
                issuer=meta.issuer,
                token=token,
                token_type_hint=hint,
                now=self.config.clock(),
            )
            if revocation_succeeded(response):
                revoked += 1
            else:
                failed += 1
        return RevocationReport(target, slots_deleted, len(dropped), pending, revoked, failed)

    def drop_cached(
        self, person: str, *, agent: str | None = None, app: str | None = None
    ) -> list[BrokeredToken]:
        """Forget this process's cached tokens for ``person`` (and ``agent``/``app`` if given)."""
        keys = [
            k
            for k in self._cache
            if k.person == person
            and (agent is None or k.agent == agent)
            and (app is None or k.app == app)
        ]
        return [self._cache.pop(k) for k in keys]

    def forget_grant_flow(self, person: str, app_name: str) -> Flow[bool]:
        """``person`` disconnects ``app_name``: delete the vaulted grant, drop cached tokens
        and pending requests, then revoke the refresh token at the app (RFC 7009 §2.1)
        when it advertises a ``revocation_endpoint``. True when the app confirmed."""
        app = self.app(app_name)
        slot = Slot(SecretKind.REFRESH_TOKEN, person, app_name)
        try:
            entry = self.config.vault.get(slot)
        except VaultIntegrityError:
            entry = None  # unreadable: deleted all the same
        self.config.vault.delete(slot)
        self.drop_cached(person, app=app_name)
        self.pending.drop(person, None, app_name)
        if entry is None:
            return False
        try:
            meta = yield from self._metadata(app)
        except ProtocolViolation:
            return False
        if meta.revocation_endpoint is None:
            return False
        response = yield revocation_request(
            meta.revocation_endpoint,
            app.credentials(self._client_secret(app)),
            issuer=meta.issuer,
            token=entry.secret,
            token_type_hint=spec.P_REFRESH_TOKEN,
            now=self.config.clock(),
        )
        return revocation_succeeded(response)

    def lift(self, target: RevocationTarget) -> bool:
        """Lift a revocation; new grants are needed (vault slots are gone)."""
        return self.config.revocations.remove(target)


def _blocked(app: AppConfig, denied: PolicyDenied) -> BlockedByPolicy:
    reason = denied.description or denied.error
    return BlockedByPolicy(app.name, denied.error, reason, denied.where, denied.issuer)


def _processed(
    app: AppConfig,
    response: HttpResponse,
    requested: frozenset[str],
    ceiling: frozenset[str] | None,
    now: float,
) -> IssuedTokens:
    """Process a token response; a policy denial is :class:`BlockedByPolicy`."""
    try:
        return process_grant_response(
            response,
            issuer=app.issuer,
            resource=app.resource,
            requested=requested,
            ceiling=ceiling,
            now=now,
        )
    except PolicyDenied as denied:
        raise _blocked(app, denied) from None
