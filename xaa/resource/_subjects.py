"""Subject resolution: which local account an ID-JAG speaks for (draft §3.1, §6.3).

The key is ``(iss, tenant, sub)`` (draft §3.1: ``sub`` is unique per issuer,
or per issuer and tenant for a multi-tenant IdP). A deployer plugs in a
:class:`SubjectResolver`; :class:`AccountResolver` is the ready one, built on
an :class:`AccountStore` and a :class:`JitPolicy`:

1. an existing link ``(iss, tenant, sub) -> account`` wins;
2. else, if allowed, ``aud_sub`` naming an existing local account is linked;
3. else, if allowed, the account with that ``email`` is linked, or created
   just in time, under the e-mail rule below;
4. else ``None``, which the token endpoint turns into ``invalid_grant``.

The e-mail rule (docs/resource.md "Subjects"): an ``email`` claim is only as
good as its issuer, and any trusted IdP can put any address in it. So an
account found by e-mail is linked only when every link it has is to the same
``(iss, tenant)``, or, for an issuer the deployer names authoritative for the
address's domain (``TrustedIssuer.authoritative_email_domains``), when every
link it has is to an issuer authoritative for that domain (a local account
with no link included). A domain with an authority is provisioned only by its
authorities. Anything else is ``invalid_grant``: never a silent link.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .._errors import InvalidGrant
from .._replay import never_blocks

# (issuer, tenant): the namespace in which an IdP's ``sub`` is unique (draft §3.1).
IssuerKey = tuple[str, str | None]
# The public description of every refusal here: it never tells whether an account with
# that e-mail exists (docs/errors.md); the audit reason (``detail``) does.
SUBJECT_UNKNOWN = "The ID-JAG subject has no account here."


@dataclass(frozen=True, slots=True)
class FederatedSubject:
    """Who the IdP says the user is (the ID-JAG's identity claims)."""

    issuer: str
    tenant: str | None
    subject: str
    email: str | None = None
    aud_sub: str | None = None
    aud_tenant: str | None = None
    # Trusted issuers the deployer named authoritative for the e-mail's domain
    # (TrustRegistry.email_authorities); empty when nobody is.
    email_authorities: frozenset[str] = frozenset()

    @property
    def key(self) -> IssuerKey:
        """The ``(issuer, tenant)`` namespace of ``subject``."""
        return (self.issuer, self.tenant)


@dataclass(frozen=True, slots=True)
class Account:
    """A local account at the resource."""

    id: str
    email: str | None = None


@runtime_checkable
class SubjectResolver(Protocol):
    """Maps a federated subject to a local account, or ``None`` (then ``invalid_grant``)."""

    def resolve(self, subject: FederatedSubject) -> Account | None:
        """The local account for ``subject``."""
        ...


@runtime_checkable
class AccountStore(Protocol):
    """Accounts and their links to federated subjects."""

    def linked(self, issuer: str, tenant: str | None, subject: str) -> Account | None:
        """The account linked to ``(issuer, tenant, subject)``."""
        ...

    def by_id(self, account_id: str) -> Account | None:
        """The account with this local id."""
        ...

    def by_email(self, email: str) -> Account | None:
        """The account with this e-mail address."""
        ...

    def create(self, email: str) -> Account:
        """A new account for ``email``."""
        ...

    def link(self, issuer: str, tenant: str | None, subject: str, account: Account) -> None:
        """Link ``(issuer, tenant, subject)`` to ``account``."""
        ...

    def linked_issuers(self, account_id: str) -> frozenset[IssuerKey]:
        """The ``(issuer, tenant)`` pairs with a subject linked to the account."""
        ...


@dataclass(frozen=True, slots=True)
class JitPolicy:
    """What subject resolution may do beyond existing links.

    ``link_email`` and ``create_from_email`` act under the e-mail rule of the module
    docstring: never across issuers unless the deployer named an authority.
    """

    link_aud_sub: bool = True
    link_email: bool = True
    create_from_email: bool = True


class AccountResolver:
    """The ready :class:`SubjectResolver`: links, then ``aud_sub``, then e-mail JIT."""

    def __init__(self, store: AccountStore, policy: JitPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or JitPolicy()
        self._lock = threading.Lock()

    @property
    def never_blocks(self) -> bool:
        """Whether its store answers without blocking (:func:`xaa._replay.never_blocks`)."""
        return never_blocks(self.store)

    def resolve(self, subject: FederatedSubject) -> Account | None:
        with self._lock:
            return self._resolve(subject)

    def _resolve(self, s: FederatedSubject) -> Account | None:
        found = self.store.linked(s.issuer, s.tenant, s.subject)
        if found is not None:
            return found
        policy = self.policy
        account: Account | None = None
        if policy.link_aud_sub and s.aud_sub:
            account = self.store.by_id(s.aud_sub)
        if account is None and s.email and (policy.link_email or policy.create_from_email):
            account = self._by_email(s, s.email)
        if account is not None:
            self.store.link(s.issuer, s.tenant, s.subject, account)
        return account

    def _by_email(self, s: FederatedSubject, email: str) -> Account | None:
        """Step 3 under the e-mail rule of the module docstring."""
        found = self.store.by_email(email)
        authorities = s.email_authorities
        if found is None:
            if not self.policy.create_from_email:
                return None
            if authorities and s.issuer not in authorities:
                raise InvalidGrant(
                    SUBJECT_UNKNOWN, detail="the e-mail's domain belongs to another issuer"
                )
            return self.store.create(email)
        if not self.policy.link_email:
            return None
        links = self.store.linked_issuers(found.id)
        if s.issuer in authorities:
            allowed = all(issuer in authorities for issuer, _ in links)
        else:
            allowed = bool(links) and links == {s.key}
        if not allowed:
            raise InvalidGrant(
                SUBJECT_UNKNOWN, detail="the e-mail names an account of another issuer"
            )
        return found


class MemoryAccountStore:
    """An :class:`AccountStore` in memory (tests, demos)."""

    never_blocks = True  # in memory: async servers call it on the event loop

    def __init__(self, accounts: list[Account] | None = None) -> None:
        self._accounts = {a.id: a for a in accounts or []}
        self._links: dict[tuple[str, str | None, str], str] = {}

    def linked(self, issuer: str, tenant: str | None, subject: str) -> Account | None:
        account_id = self._links.get((issuer, tenant, subject))
        return self._accounts.get(account_id) if account_id else None

    def by_id(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def by_email(self, email: str) -> Account | None:
        wanted = email.lower()
        return next((a for a in self._accounts.values() if (a.email or "").lower() == wanted), None)

    def create(self, email: str) -> Account:
        account = Account(f"u-{secrets.token_hex(8)}", email)
        self._accounts[account.id] = account
        return account

    def link(self, issuer: str, tenant: str | None, subject: str, account: Account) -> None:
        self._links[(issuer, tenant, subject)] = account.id

    def linked_issuers(self, account_id: str) -> frozenset[IssuerKey]:
        return frozenset((i, t) for (i, t, _), a in self._links.items() if a == account_id)
