"""The IdP token endpoint for ID-JAGs: RFC 8693 token exchange (draft §4.3).

:meth:`TokenExchangeEndpoint.handle` runs named steps, each raising an
:class:`~xaa.OAuthError` that becomes the RFC 6749 §5.2 response:

1. :meth:`~TokenExchangeEndpoint.parse` the form (repeats rejected);
2. :meth:`~TokenExchangeEndpoint.authenticate` the confidential client (``invalid_client``);
3. :meth:`~TokenExchangeEndpoint.check_request`: grant type, ``requested_token_type``,
   required parameters, one ``audience``; DPoP and ``actor_token`` seams;
4. :meth:`~TokenExchangeEndpoint.validate_subject` by its declared type (``invalid_request``);
5. :meth:`~TokenExchangeEndpoint.resolve_audience` and
   :meth:`~TokenExchangeEndpoint.map_client` (``invalid_target``);
6. :meth:`~TokenExchangeEndpoint.decide_grant` (narrow, ``invalid_scope``, ``invalid_target``);
7. :meth:`~TokenExchangeEndpoint.map_subject`, then
   :meth:`~TokenExchangeEndpoint.check_auth_context` (``insufficient_user_authentication``);
8. :meth:`~TokenExchangeEndpoint.issue` the ID-JAG, audit, and answer per draft §4.3.4.

Every decision, issued or denied, emits one :class:`~xaa.AuditEvent`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from .. import spec
from .._audit import AuditSink, AuditTrace
from .._client_auth import (
    AuthenticatedClient,
    ClientAuthenticationStep,
    ClientStore,
    attempted_client_id,
)
from .._dpop_server import DpopProofVerifier
from .._errors import (
    ConfigurationError,
    HttpResponse,
    InvalidAuthorizationDetails,
    InvalidClient,
    InvalidDpopProof,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    OAuthError,
    UnsupportedGrantType,
    json_response,
)
from .._forms import Form, format_scope, parse_form, parse_scope, required_param
from .._models import Actor, IdJagClaims, TokenExchangeResponse
from .._replay import ReplayStore, never_blocks
from .._safejson import parse_json
from .._tokens import DEFAULT_MAX_ID_JAG_LIFETIME, DEFAULT_MAX_ID_TOKEN_LIFETIME, issue_id_jag
from ..actors import ActorDecision, narrow_scope
from ._policy import ExchangePolicy, Grant, GrantRequest, MappedSubject, Subject
from ._subjects import (
    IdTokenSubjectValidator,
    KeySource,
    RefreshTokenStore,
    RefreshTokenSubjectValidator,
    SubjectDirectory,
    SubjectTokenValidator,
)

__all__ = [
    "ActorTokenValidator",
    "ExchangeRequest",
    "RequestedTokenIssuer",
    "TokenExchangeEndpoint",
]

REPEATABLE = ("resource", "audience")
AUDIT_EVENT = "token_exchange.id_jag"


@runtime_checkable
class RequestedTokenIssuer(Protocol):
    """Seam for a ``requested_token_type`` other than id-jag (draft §4.5: a refresh token,
    :class:`xaa.idp.ProtocolTransition`)."""

    def issue_requested_token(
        self,
        endpoint: TokenExchangeEndpoint,
        headers: Mapping[str, str],
        form: Form,
        client: AuthenticatedClient,
        now: float,
    ) -> HttpResponse:
        """The success response (audited), or raise an ``OAuthError`` (audited as denied)."""
        ...


@runtime_checkable
class ActorTokenValidator(Protocol):
    """Seam for draft §8.5: turns an ``actor_token`` into an ``act`` claim and a scope ceiling.

    :class:`xaa.idp.ProfileActorValidator` implements xaa's actor profile.
    """

    def validate_actor(
        self,
        token: str,
        token_type: str,
        *,
        subject: Subject,
        client: AuthenticatedClient,
        now: float,
    ) -> ActorDecision:
        """The accepted actor, or raise ``InvalidRequest``."""
        ...


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    """A well-formed token exchange request for an ID-JAG (RFC 8693 §2.1, draft §4.3)."""

    audience: str
    subject_token: str = field(repr=False)
    subject_token_type: str
    scopes: frozenset[str]
    resources: tuple[str, ...]
    authorization_details: tuple[dict[str, Any], ...] | None
    actor_token: str | None = field(default=None, repr=False)
    actor_token_type: str | None = None


def _authorization_details(raw: str | None) -> tuple[dict[str, Any], ...] | None:
    """RFC 9396 §2: a JSON array of objects, each with a string ``type``."""
    if raw is None:
        return None
    try:
        value = parse_json(raw)
    except ValueError:
        raise InvalidAuthorizationDetails(detail="authorization_details is not JSON") from None
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"]
        for item in value
    ):
        raise InvalidAuthorizationDetails(detail="authorization_details malformed")
    return tuple(value)


@dataclass
class TokenExchangeEndpoint(ClientAuthenticationStep):
    """Issues ID-JAGs at the IdP token endpoint (draft §4.3). Sans-I/O: bytes in, bytes out.

    ``subject_validators`` adds subject token types (e.g. ``saml2``) to the
    built-in ``id_token`` and, with ``refresh_tokens``, ``refresh_token``.
    ``dpop`` and ``actors`` are seams: without them a ``DPoP`` header or an
    ``actor_token`` is rejected, never ignored. ``token_issuers`` answers other
    ``requested_token_type`` values (draft §4.5 refresh token); without one, only id-jag.
    """

    issuer: str
    keys: KeySource
    clients: ClientStore
    replay: ReplayStore
    policy: ExchangePolicy
    audit: AuditSink
    directory: SubjectDirectory | None = None
    refresh_tokens: RefreshTokenStore | None = None
    subject_validators: Mapping[str, SubjectTokenValidator] = field(default_factory=dict)
    dpop: DpopProofVerifier | None = None
    actors: ActorTokenValidator | None = None
    token_issuers: Mapping[str, RequestedTokenIssuer] = field(default_factory=dict)
    token_endpoint: str | None = None
    lifetime: int = DEFAULT_MAX_ID_JAG_LIFETIME
    max_lifetime: int = DEFAULT_MAX_ID_JAG_LIFETIME
    id_token_max_lifetime: int = DEFAULT_MAX_ID_TOKEN_LIFETIME
    lenient_basic: bool = False
    clock: Callable[[], float] = time.time
    _validators: dict[str, SubjectTokenValidator] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.lifetime <= self.max_lifetime:
            raise ConfigurationError(
                "the ID-JAG lifetime must be positive and at most max_lifetime"
            )
        validators: dict[str, SubjectTokenValidator] = {
            spec.TOKEN_TYPE_ID_TOKEN: IdTokenSubjectValidator(
                self.issuer, self.keys, max_lifetime=self.id_token_max_lifetime
            )
        }
        if self.refresh_tokens is not None:
            validators[spec.TOKEN_TYPE_REFRESH_TOKEN] = RefreshTokenSubjectValidator(
                self.refresh_tokens
            )
        validators.update(self.subject_validators)
        self._validators = validators
        if self.token_endpoint is None:
            self.token_endpoint = self.issuer.rstrip("/") + "/token"

    @property
    def never_blocks(self) -> bool:
        """Whether every store and hook answers without blocking (in memory), so an async
        server may run :meth:`handle` on its event loop (:func:`xaa._replay.never_blocks`)."""
        hooks: list[object] = [self.keys, self.clients, self.replay, self.policy, self.audit]
        hooks += [*self._validators.values(), *self.token_issuers.values()]
        hooks += [hook for hook in (self.directory, self.dpop, self.actors) if hook is not None]
        return never_blocks(*hooks)

    @property
    def subject_token_types(self) -> list[str]:
        """Subject token types this endpoint accepts."""
        return sorted(self._validators)

    # -- entry points -------------------------------------------------------------------

    def handle(
        self, headers: Mapping[str, str], body: bytes, *, now: float | None = None
    ) -> HttpResponse:
        """Answer one POST to the token endpoint (``headers`` keys lowercase)."""
        try:
            form = self.parse(body)
        except OAuthError as exc:
            return self._deny(exc, AuditTrace(), self.clock() if now is None else now)
        return self.exchange(headers, form, now=now)

    def exchange(
        self, headers: Mapping[str, str], form: Form, *, now: float | None = None
    ) -> HttpResponse:
        """Run every step on a form parsed by :meth:`parse`."""
        now = self.clock() if now is None else now
        trace = AuditTrace(
            audience=form.get(spec.P_AUDIENCE),
            requested_scope=form.get(spec.P_SCOPE),
            requested_resource=form.all(spec.P_RESOURCE),
        )
        try:
            client = self.authenticate(headers, form, now)
            trace.client_id = client.client_id
            other = self.token_issuers.get(form.get(spec.P_REQUESTED_TOKEN_TYPE) or "")
            if other is not None:
                return other.issue_requested_token(self, headers, form, client, now)
            request = self.check_request(form)
            jkt = self.check_proof(headers, now)
            subject = self.validate_subject(request, client, now)
            trace.subject = subject.sub
            audience = self.resolve_audience(request)
            trace.audience = audience
            client_id_at = self.map_client(client, audience)
            grant = self.decide_grant(request, client, audience, subject)
            mapped = self.map_subject(subject, client, audience)
            self.check_auth_context(subject, audience, now)
            actor, grant = self.check_actor(request, subject, client, grant, now)
            claims = self.claims(audience, client_id_at, subject, mapped, grant, actor, jkt, now)
            token = self.issue(claims)
        except OAuthError as exc:
            if isinstance(exc, InvalidClient) and trace.client_id is None:
                trace.attempted_client_id = attempted_client_id(headers, form)
            return self._deny(exc, trace, now)
        self._emit(trace, now, "issued", claims=claims, grant=grant)
        return self.respond(request, grant, token)

    # -- steps --------------------------------------------------------------------------

    @staticmethod
    def parse(body: bytes) -> Form:
        """RFC 6749 §3.2: a form; repeats rejected (``resource`` and ``audience`` counted)."""
        return parse_form(body, repeatable=REPEATABLE)

    def check_request(self, form: Form) -> ExchangeRequest:
        """Grant type, requested token type and the required parameters (draft §4.3)."""
        grant_type = required_param(form, spec.P_GRANT_TYPE)
        if grant_type != spec.GRANT_TOKEN_EXCHANGE:
            raise UnsupportedGrantType(detail="not token exchange")
        requested = required_param(form, spec.P_REQUESTED_TOKEN_TYPE)
        if requested != spec.TOKEN_TYPE_ID_JAG:
            raise InvalidRequest(detail="requested_token_type is not id-jag")
        audiences = form.all(spec.P_AUDIENCE)
        if not audiences:
            raise InvalidRequest(detail="audience missing")
        if len(audiences) > 1:
            raise InvalidTarget(detail="more than one audience")
        subject_token = required_param(form, spec.P_SUBJECT_TOKEN)
        subject_token_type = required_param(form, spec.P_SUBJECT_TOKEN_TYPE)
        actor_token = form.get(spec.P_ACTOR_TOKEN)
        actor_token_type = form.get(spec.P_ACTOR_TOKEN_TYPE)
        if (actor_token is None) != (actor_token_type is None):
            raise InvalidRequest(detail="actor_token and actor_token_type go together")
        return ExchangeRequest(
            audience=audiences[0],
            subject_token=subject_token,
            subject_token_type=subject_token_type,
            scopes=parse_scope(form.get(spec.P_SCOPE)),
            resources=tuple(dict.fromkeys(form.all(spec.P_RESOURCE))),
            authorization_details=_authorization_details(form.get(spec.P_AUTHORIZATION_DETAILS)),
            actor_token=actor_token,
            actor_token_type=actor_token_type,
        )

    def check_proof(self, headers: Mapping[str, str], now: float) -> str | None:
        """Draft §8.6.1.1: a DPoP proof is validated and bound (``cnf.jkt``), or rejected."""
        proof = headers.get(spec.H_DPOP)
        if proof is None:
            return None
        if self.dpop is None:
            raise InvalidDpopProof("DPoP is not supported here.", detail="no DPoP verifier")
        assert self.token_endpoint is not None
        return self.dpop.verify(proof, method="POST", url=self.token_endpoint, now=now)

    def validate_subject(
        self, request: ExchangeRequest, client: AuthenticatedClient, now: float
    ) -> Subject:
        """Validate the subject token by its declared type, then load the current profile."""
        validator = self._validators.get(request.subject_token_type)
        if validator is None:
            raise InvalidRequest(detail="subject_token_type not supported")
        subject = validator.validate_subject_token(request.subject_token, client=client, now=now)
        if self.directory is None:
            return subject
        profile = self.directory.find_subject(subject.sub)
        if profile is None:
            raise InvalidRequest(detail="subject unknown or disabled")
        return replace(subject, profile=profile)

    def resolve_audience(self, request: ExchangeRequest) -> str:
        """The resource AS issuer for ``audience`` (issuer or alias), else ``invalid_target``."""
        audience = self.policy.audiences.resolve_audience(request.audience)
        if audience is None:
            raise InvalidTarget(detail="audience is not a known resource AS")
        return audience

    def map_client(self, client: AuthenticatedClient, audience: str) -> str:
        """The client's ``client_id`` at the resource AS (draft §5), else ``invalid_target``."""
        client_id = self.policy.clients.client_id_at(client.client_id, audience)
        if client_id is None:
            raise InvalidTarget(detail="no client mapping for this audience")
        return client_id

    def decide_grant(
        self,
        request: ExchangeRequest,
        client: AuthenticatedClient,
        audience: str,
        subject: Subject,
    ) -> Grant:
        """Policy decides scope/resource/authorization_details within the subject's grant."""
        limits = subject.limits
        if limits.audiences is not None and audience not in limits.audiences:
            raise InvalidRequest(detail="audience beyond the refresh token's grant")
        if limits.scopes is not None and not request.scopes <= limits.scopes:
            raise InvalidRequest(detail="scope beyond the refresh token's grant")
        return self.policy.scopes.decide(
            GrantRequest(
                client_id=client.client_id,
                audience=audience,
                subject=subject,
                scopes=request.scopes,
                resources=request.resources,
                authorization_details=request.authorization_details,
            )
        )

    def map_subject(
        self, subject: Subject, client: AuthenticatedClient, audience: str
    ) -> MappedSubject:
        """The ``sub`` and identity claims the resource AS knows (draft §3.1, §5)."""
        return self.policy.subjects.map_subject(subject, client.client_id, audience)

    def check_auth_context(self, subject: Subject, audience: str, now: float) -> None:
        """Draft §8.2: ``insufficient_user_authentication`` when acr/amr/age fall short."""
        self.policy.auth_context.check_auth_context(subject, audience, now)

    def check_actor(
        self,
        request: ExchangeRequest,
        subject: Subject,
        client: AuthenticatedClient,
        grant: Grant,
        now: float,
    ) -> tuple[Actor | None, Grant]:
        """Draft §8.5 seam: an ``actor_token`` becomes ``act`` only through a validator;
        the actor's scope ceiling only narrows the grant (``invalid_scope`` if none is left)."""
        if request.actor_token is None or request.actor_token_type is None:
            return None, grant
        if self.actors is None:
            raise InvalidRequest(
                "actor_token is not supported here.", detail="no actor token validator"
            )
        decision = self.actors.validate_actor(
            request.actor_token, request.actor_token_type, subject=subject, client=client, now=now
        )
        scopes = frozenset(narrow_scope(grant.scopes, decision.allowed_scopes))
        if grant.scopes and not scopes:
            raise InvalidScope(detail="the actor may have none of the granted scopes")
        return decision.act, replace(grant, scopes=scopes)

    def claims(
        self,
        audience: str,
        client_id: str,
        subject: Subject,
        mapped: MappedSubject,
        grant: Grant,
        actor: Actor | None,
        jkt: str | None,
        now: float,
    ) -> IdJagClaims:
        """Every draft §3.1 claim that applies; granted values exactly."""
        resources = list(grant.resources)
        return IdJagClaims.new(
            issuer=self.issuer,
            subject=mapped.sub,
            audience=audience,
            client_id=client_id,
            lifetime=self.lifetime,
            now=now,
            resource=resources[0] if len(resources) == 1 else (resources or None),
            scope=format_scope(grant.scopes) or None,
            authorization_details=(
                list(grant.authorization_details) if grant.authorization_details else None
            ),
            act=actor.model_dump(exclude_none=True) if actor else None,
            tenant=mapped.tenant,
            auth_time=subject.auth_time,
            acr=subject.acr,
            amr=list(subject.amr) or None,
            aud_tenant=mapped.aud_tenant,
            aud_sub=mapped.aud_sub,
            email=mapped.email,
            cnf={"jkt": jkt} if jkt else None,
        )

    def issue(self, claims: IdJagClaims) -> str:
        """Sign the ID-JAG with the current key (``typ`` ``oauth-id-jag+jwt``)."""
        return issue_id_jag(claims, self.keys.current)

    def respond(self, request: ExchangeRequest, grant: Grant, token: str) -> HttpResponse:
        """Draft §4.3.4: ``issued_token_type``, ``token_type`` ``N_A``, no refresh token."""
        details_changed = grant.authorization_details != request.authorization_details
        body = TokenExchangeResponse(
            access_token=token,
            issued_token_type=spec.TOKEN_TYPE_ID_JAG,
            token_type=spec.TOKEN_TYPE_N_A,
            expires_in=self.lifetime,
            scope=format_scope(grant.scopes) if grant.scopes != request.scopes else None,
            authorization_details=(
                [dict(d) for d in grant.authorization_details or ()] if details_changed else None
            ),
        )
        return json_response(200, body.to_json())

    # -- audit --------------------------------------------------------------------------

    def _deny(self, exc: OAuthError, trace: AuditTrace, now: float) -> HttpResponse:
        self._emit(trace, now, "denied", reason=exc.error, detail=exc.detail)
        return exc.to_response()

    def _emit(
        self,
        trace: AuditTrace,
        now: float,
        decision: Literal["issued", "denied"],
        *,
        reason: str = "",
        detail: str = "",
        claims: IdJagClaims | None = None,
        grant: Grant | None = None,
    ) -> None:
        event = trace.event(
            AUDIT_EVENT,
            decision,
            time=now,
            reason=reason,
            issuer=self.issuer,
            actors=claims.act.chain() if claims and claims.act else [],
            granted_scope=claims.scope if claims else None,
            granted_resource=list(grant.resources) if grant else [],
            jti=claims.jti if claims else None,
            extra=(
                {"client_id_at_audience": claims.client_id, "sub_at_audience": claims.sub}
                if claims
                else {"detail": detail} | trace.attempted()
            ),
        )
        self.audit.emit(event)
