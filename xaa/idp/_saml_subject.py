"""SAML 2.0 assertions as subject tokens at the IdP (draft §4.5), sans-I/O.

The core never parses XML: a :class:`SamlAssertionVerifier` (the hardened
``xaa.adapters.saml.SamlAssertionValidator`` fits) verifies the assertion for
the authenticated client and returns a :class:`SamlSubject`; a
:class:`NameIdMapper` names the IdP's user; :class:`SamlSubjectValidator`
plugs both into the token endpoint for ``subject_token_type=...:saml2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .. import spec
from .._client_auth import AuthenticatedClient
from .._errors import InvalidRequest
from ._policy import Subject, SubjectProfile

__all__ = [
    "NameIdMap",
    "NameIdMapper",
    "SamlAssertionVerifier",
    "SamlSubject",
    "SamlSubjectValidator",
]

_GENERIC = "The SAML assertion is invalid."


@dataclass(frozen=True)
class SamlSubject:
    """What a verified assertion says, read only from the signed element."""

    issuer: str
    name_id: str
    name_id_format: str
    assertion_id: str
    audience: tuple[str, ...]
    recipient: str
    not_on_or_after: float
    authn_instant: float
    authn_context_class_ref: str | None
    session_index: str | None
    email: str | None
    groups: tuple[str, ...]
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@runtime_checkable
class SamlAssertionVerifier(Protocol):
    """Verifies an encoded assertion for one authenticated client (draft §4.5 MUST:
    its ``Audience`` is an SP entity ID mapped to ``client_id``) and claims its ID once."""

    def validate(self, encoded: str, *, client_id: str, now: float) -> SamlSubject:
        """The verified subject, or raise ``InvalidRequest`` (``TemporarilyUnavailable``
        when the replay store cannot answer)."""
        ...


@runtime_checkable
class NameIdMapper(Protocol):
    """Maps a verified SAML subject to the IdP's user identifier (``sub``)."""

    def subject_for(self, saml: SamlSubject) -> str | None:
        """The user's ``sub``, or ``None`` when the NameID names no user (then: deny)."""
        ...


@dataclass(frozen=True, slots=True)
class NameIdMap:
    """A :class:`NameIdMapper` from configuration: NameID value -> ``sub``.

    ``name_id_format``, when set, is the only NameID format accepted.
    """

    users: Mapping[str, str]
    name_id_format: str | None = None

    def subject_for(self, saml: SamlSubject) -> str | None:
        if self.name_id_format is not None and saml.name_id_format != self.name_id_format:
            return None
        return self.users.get(saml.name_id)


class SamlSubjectValidator:
    """``subject_token_type=urn:ietf:params:oauth:token-type:saml2`` (RFC 8693 §3, draft §4.5)."""

    def __init__(self, verifier: SamlAssertionVerifier, users: NameIdMapper) -> None:
        self.verifier = verifier
        self.users = users

    def validate_subject_token(
        self, token: str, *, client: AuthenticatedClient, now: float
    ) -> Subject:
        saml = self.verifier.validate(token, client_id=client.client_id, now=now)
        sub = self.users.subject_for(saml)
        if sub is None:
            raise InvalidRequest(_GENERIC, detail="saml: the NameID names no user")
        return Subject(
            sub=sub,
            token_type=spec.TOKEN_TYPE_SAML2,
            auth_time=int(saml.authn_instant),
            acr=saml.authn_context_class_ref,
            profile=SubjectProfile(email=saml.email, groups=frozenset(saml.groups)),
        )
