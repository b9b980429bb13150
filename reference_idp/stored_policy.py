"""The issuance policy read from the IdP's store on every token exchange (docs/console.md).

:class:`StoredPolicy` implements every hook of :class:`xaa.idp.ExchangePolicy`
(draft-03 §4.3.3, §5, §8.2) by delegating to a :class:`xaa.idp.ConfigPolicy` built
from the stored document, rebuilt when that document changes: an edit in the
console (or by another process sharing the database) applies to the next exchange.
One exchange sees one document: ``resolve_audience`` (its first hook) pins the
policy for the rest of that exchange on its thread.
"""

from __future__ import annotations

import threading
from typing import Protocol

from xaa.idp import (
    ConfigPolicy,
    ExchangePolicy,
    Grant,
    GrantRequest,
    IssuancePolicy,
    MappedSubject,
    Subject,
)


class PolicySource(Protocol):
    """Where the policy document lives (:class:`reference_idp.store.Store`)."""

    def policy_document(self) -> str:
        """The policy as JSON text, ``""`` when none."""
        ...


class StoredPolicy:
    """Every :class:`~xaa.idp.ExchangePolicy` hook, from the document in ``source``."""

    def __init__(self, source: PolicySource) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._text: str | None = None
        self._policy = ConfigPolicy(IssuancePolicy())
        self._pinned = threading.local()

    def hooks(self) -> ExchangePolicy:
        """This object as all five hooks."""
        return ExchangePolicy(self, self, self, self, self)

    def current(self) -> ConfigPolicy:
        """The policy of the stored document now (rebuilt only when the text changed)."""
        text = self._source.policy_document()
        with self._lock:
            if text != self._text:
                document = IssuancePolicy.model_validate_json(text) if text else IssuancePolicy()
                self._policy = ConfigPolicy(document)
                self._text = text
            return self._policy

    def _exchange(self) -> ConfigPolicy:
        pinned: ConfigPolicy | None = getattr(self._pinned, "policy", None)
        return pinned if pinned is not None else self.current()

    def resolve_audience(self, audience: str) -> str | None:
        policy = self.current()
        self._pinned.policy = policy
        return policy.resolve_audience(audience)

    def client_id_at(self, client_id: str, audience: str) -> str | None:
        return self._exchange().client_id_at(client_id, audience)

    def decide(self, request: GrantRequest) -> Grant:
        return self._exchange().decide(request)

    def map_subject(self, subject: Subject, client_id: str, audience: str) -> MappedSubject:
        return self._exchange().map_subject(subject, client_id, audience)

    def check_auth_context(self, subject: Subject, audience: str, now: float) -> None:
        self._exchange().check_auth_context(subject, audience, now)
