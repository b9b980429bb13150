"""The resource AS token endpoint for ID-JAGs: RFC 7523 jwt-bearer, draft §4.4.

:meth:`JwtBearerEndpoint.handle` runs named steps and returns an
``HttpResponse``; every step raises an :class:`~xaa.OAuthError` to stop:

1. ``parse``: form body, repeated parameters -> ``invalid_request``;
2. ``authenticate``: :func:`~xaa.authenticate_client` (Basic with or
   without form-encoding, ``client_secret_post``, ``private_key_jwt``; a
   ``client_id`` field next to Basic must name the same client);
3. ``check_grant``: jwt-bearer enabled for the client, else ``unauthorized_client``
   (then ``jwt-dpop`` without a ``DPoP`` header is ``invalid_request``);
4. ``verify``: the checks of :func:`~xaa.verify_id_jag` with the trusted issuer's keys,
   ``aud`` exactly this issuer, ``client_id`` the authenticated client;
5. ``proof``: the DPoP seam (draft §8.6.1.2, four cases, via :func:`xaa.dpop.bind_decision`);
6. ``check_actor``: the ``act`` chain through the :class:`ResourceActorPolicy`;
7. ``resolve_subject``: ``(iss, tenant, sub)`` -> local account, else ``invalid_grant``
   (an ``email`` links across issuers only where the deployer said so, docs/resource.md);
8. ``grant``: resource, scope and authorization_details as subsets under policy, then
   ``check_constrained``: a resource that requires DPoP gets no Bearer token;
9. ``check_replay``: ``(iss, jti)`` claimed in the :class:`~xaa.ReplayStore`, only
   once every other check passed, so a refused request does not spend the ID-JAG;
10. ``issue``: an RFC 9068 access token; audit; the response (never a refresh token).

Both ``jwt-bearer`` with a ``DPoP`` header and the ``jwt-dpop`` grant type
(draft-parecki-oauth-jwt-dpop-grant) are served when a proof verifier is configured;
``jwt-dpop`` without a ``DPoP`` header is ``invalid_request`` (a required part of the
request is missing), and an ID-JAG without ``cnf`` under ``jwt-dpop`` is case 3 (the
access token is bound to the proof's key).

Replay policies: ``single_use`` (default) accepts an ID-JAG once;
``reuse_until_exp`` lets the *same* client re-present an unexpired ID-JAG
(draft §4.4.3), any other presenter is refused.

The access token records the IdP in ``idp_iss`` (and ``idp_sub``, ``idp_tenant``):
``sub`` is the local account, so the API can tell both who acted locally and
who vouched for them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from .. import spec
from .._audit import AuditSink, AuditTrace
from .._client_auth import (
    AuthenticatedClient,
    ClientAuthenticationStep,
    ClientStore,
    attempted_client_id,
)
from .._dpop import bind_decision, spend_jti
from .._dpop_server import DpopProofVerifier, DpopVerifier
from .._errors import (
    ConfigurationError,
    HttpResponse,
    InvalidAuthorizationDetails,
    InvalidClient,
    InvalidDpopProof,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
    json_response,
)
from .._forms import Form, format_scope, parse_form, required_param
from .._jose import DEFAULT_MAX_TOKEN_BYTES, CompactJws, parse_compact
from .._keys import SigningKey
from .._models import AccessTokenClaims, AuthorizationDetail, IdJagClaims, TokenResponse
from .._replay import ClaimFlow, ReplayStore, never_blocks, run_claims
from .._safejson import parse_json
from .._tokens import (
    DEFAULT_LEEWAY,
    DEFAULT_MAX_ID_JAG_LIFETIME,
    issue_access_token,
)
from ._policy import CarryActor, GrantPolicy, ResourceActorPolicy, ServedResource
from ._redemption import (
    already_used,
    id_jag_claim,
    narrow_resources,
    narrow_scope,
    verify_at_as,
)
from ._subjects import SUBJECT_UNKNOWN, Account, FederatedSubject, SubjectResolver
from ._trust import TrustRegistry

# Claims naming the IdP that vouched for the subject (documented in docs/resource.md).
DEFAULT_ACCESS_TOKEN_LIFETIME = 900
AUDIT_EVENT = "jwt_bearer"


class ReplayPolicy(StrEnum):
    """What a second presentation of the same ID-JAG gets."""

    SINGLE_USE = "single_use"
    REUSE_UNTIL_EXP = "reuse_until_exp"


@dataclass(frozen=True, slots=True)
class Granted:
    """What this AS grants for one redemption."""

    resources: tuple[str, ...]
    scopes: frozenset[str]
    details: tuple[AuthorizationDetail, ...]


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    """An access token and what it grants (for the response and the caller)."""

    token: str
    claims: AccessTokenClaims
    granted: Granted
    token_type: str
    expires_in: int

    def response_body(self) -> dict[str, Any]:
        """``response().to_json()``, built directly when there are no authorization details
        (the same members; the model is only needed to serialize the details)."""
        if self.granted.details or type(self).response is not IssuedAccessToken.response:
            return self.response().to_json()
        resources = self.granted.resources
        body: dict[str, Any] = {
            "access_token": self.token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        scope = format_scope(self.granted.scopes)
        if scope:
            body["scope"] = scope
        if resources:
            body["resource"] = resources[0] if len(resources) == 1 else list(resources)
        return body

    def response(self) -> TokenResponse:
        """The RFC 6749 §5.1 body reflecting the granted values (draft §4.4.1); no refresh."""
        resources = list(self.granted.resources)
        return TokenResponse(
            access_token=self.token,
            token_type=self.token_type,
            expires_in=self.expires_in,
            scope=format_scope(self.granted.scopes) or None,
            resource=resources[0] if len(resources) == 1 else resources,
            authorization_details=list(self.granted.details) or None,
        )


@dataclass
class JwtBearerEndpoint(ClientAuthenticationStep):
    """Configuration and steps of the jwt-bearer token endpoint (draft §4.4); step 2, client
    authentication, is :meth:`ClientAuthenticationStep.authenticate`."""

    issuer: str
    token_endpoint: str
    signing_key: SigningKey
    clients: ClientStore
    grants: GrantPolicy
    trust: TrustRegistry
    replay: ReplayStore
    subjects: SubjectResolver
    resources: Sequence[ServedResource]
    audit: AuditSink
    replay_policy: ReplayPolicy = ReplayPolicy.SINGLE_USE
    actors: ResourceActorPolicy = field(default_factory=CarryActor)
    dpop: DpopProofVerifier | None = None
    require_dpop: bool = False
    access_token_lifetime: int = DEFAULT_ACCESS_TOKEN_LIFETIME
    leeway: int = DEFAULT_LEEWAY
    max_id_jag_lifetime: int = DEFAULT_MAX_ID_JAG_LIFETIME
    max_assertion_bytes: int = DEFAULT_MAX_TOKEN_BYTES
    # The resource granted when neither the ID-JAG nor the request names one (RFC 8707 §2:
    # the AS may use a default); None: only when exactly one resource is served.
    default_resource: str | None = None
    lenient_basic: bool = True  # Basic credentials some SDKs do not form-urlencode

    def __post_init__(self) -> None:
        if not self.resources:
            raise ConfigurationError("a resource AS must serve at least one resource")
        if self.default_resource is not None and self.default_resource not in {
            r.identifier for r in self.resources
        }:
            raise ConfigurationError("the default resource must be a served resource")
        requires = self.require_dpop or any(r.requires_dpop for r in self.resources)
        if requires and self.dpop is None:
            raise ConfigurationError("require_dpop needs a DPoP proof verifier")
        self._served = {r.identifier: r for r in self.resources}
        # The assertion pending_refresh parsed, reused by verify (one slot; a miss re-parses).
        self._parsed: tuple[str, CompactJws] | None = None

    def _overrides(self, step: str) -> bool:
        """Whether a subclass replaced the blocking form of ``step`` (then the flows call it)."""
        return getattr(type(self), step) is not getattr(JwtBearerEndpoint, step)

    @property
    def never_blocks(self) -> bool:
        """Whether every store and hook but the replay store answers without blocking, so
        an async server may run the steps on its event loop and make only the replay
        claims itself (:meth:`handle_form_flow`, :func:`xaa._replay.never_blocks`). The
        replay store also serves ``private_key_jwt`` client assertions inline."""
        hooks = (self.clients, self.grants, self.subjects, self.audit, self.actors)
        return never_blocks(*hooks, *((self.dpop,) if self.dpop is not None else ()))

    # -- the endpoint -------------------------------------------------------------------------

    def handle(
        self, headers: Mapping[str, str], body: bytes, *, now: float | None = None
    ) -> HttpResponse:
        """Process one token request (``headers`` lowercase) into a response."""
        try:
            form = self.parse(body)
        except OAuthError as exc:
            self.audit_denial(exc)
            return exc.to_response()
        return self.handle_form(headers, form, now=now)

    def handle_form(
        self, headers: Mapping[str, str], form: Form, *, now: float | None = None
    ) -> HttpResponse:
        """:meth:`handle` for a form an adapter already parsed with :meth:`parse`."""
        return run_claims(self.handle_form_flow(headers, form, now=now))

    def handle_form_flow(
        self, headers: Mapping[str, str], form: Form, *, now: float | None = None
    ) -> ClaimFlow[HttpResponse]:
        """:meth:`handle_form` as a flow that yields its replay claims (the ID-JAG's
        ``jti``, the DPoP proof's) for the caller to make: an async adapter awaits them
        on an :class:`~xaa.AsyncReplayStore` (:func:`~xaa.run_claims` makes
        them blocking)."""
        at = time.time() if now is None else now
        trace = AuditTrace()
        try:
            client = self.authenticate(headers, form, at)
            trace.client_id = client.client_id
            self.check_grant(client)
            if self._overrides("redeem"):  # a subclass's step makes its own claims
                issued = self.redeem(form, client.client_id, headers, at, trace)
            else:
                issued = yield from self.redeem_flow(form, client.client_id, headers, at, trace)
        except OAuthError as exc:
            if isinstance(exc, InvalidClient) and trace.client_id is None:
                # the kill switch's audit row
                trace.attempted_client_id = attempted_client_id(headers, form)
            self.audit_denial(exc, trace)
            return exc.to_response()
        return json_response(200, issued.response_body())

    def parse(self, body: bytes) -> Form:
        """Step 1: the form; ``grant_type`` jwt-bearer (or jwt-dpop with a proof verifier)
        and ``assertion`` present."""
        form = parse_form(body)
        if required_param(form, spec.P_GRANT_TYPE) not in self.grant_types:
            raise UnsupportedGrantType(detail="only jwt-bearer is served here")
        required_param(form, spec.P_ASSERTION)
        return form

    def check_grant(self, client: AuthenticatedClient) -> None:
        """Step 3: the client may use jwt-bearer (RFC 6749 §5.2 ``unauthorized_client``);
        ``jwt-dpop`` is jwt-bearer with a proof and needs the same permission."""
        if not self.grants.grant_enabled(client.client_id, spec.GRANT_JWT_BEARER):
            raise UnauthorizedClient(detail="jwt-bearer not enabled for this client")

    def redeem(
        self,
        form: Mapping[str, str] | Form,
        client_id: str,
        headers: Mapping[str, str],
        now: float,
        trace: AuditTrace | None = None,
    ) -> IssuedAccessToken:
        """Steps 4-10 for an authenticated ``client_id``; audits the success.

        ``trace`` collects what a denial's audit event says (:meth:`audit_denial`)."""
        return run_claims(self.redeem_flow(form, client_id, headers, now, trace))

    def redeem_flow(
        self,
        form: Mapping[str, str] | Form,
        client_id: str,
        headers: Mapping[str, str],
        now: float,
        trace: AuditTrace | None = None,
    ) -> ClaimFlow[IssuedAccessToken]:
        """:meth:`redeem` as a flow yielding its replay claims (:meth:`handle_form_flow`)."""
        trace = AuditTrace(client_id=client_id) if trace is None else trace
        assertion = required_param(form, spec.P_ASSERTION)
        if form.get(spec.P_GRANT_TYPE) == spec.GRANT_JWT_DPOP and spec.H_DPOP not in headers:
            raise InvalidRequest(
                "A DPoP proof is required for this grant type.", detail="jwt-dpop without DPoP"
            )
        jag = self.verify(assertion, client_id, headers, now)
        trace.issuer, trace.subject, trace.jti = jag.iss, jag.sub, jag.jti
        if jag.act is not None:
            trace.actors = jag.act.chain()
        if self._overrides("proof"):
            jkt = self.proof(jag, headers, now)
        else:
            jkt = yield from self.proof_flow(jag, headers, now)
        self.actors.check(jag.act, client_id)
        account = self.resolve_subject(jag)
        trace.requested_scope = form.get(spec.P_SCOPE)
        granted = self.grant(jag, form, client_id, account)
        self.check_constrained(granted, jkt)
        # Last: a request refused above can be corrected and retried with the same ID-JAG.
        if self._overrides("check_replay"):
            self.check_replay(jag, client_id, now)
        else:
            yield from self.check_replay_flow(jag, client_id, now)
        issued = self.issue(jag, client_id, account, granted, jkt, now)
        self.audit.emit(
            trace.event(
                AUDIT_EVENT,
                "issued",
                client_id=client_id,
                audience=self.issuer,
                granted_scope=format_scope(granted.scopes),
                granted_resource=list(granted.resources),
                extra={"account": account.id, "access_token_jti": issued.claims.jti},
            )
        )
        return issued

    # -- steps --------------------------------------------------------------------------------

    def verify(
        self, assertion: str, client_id: str, headers: Mapping[str, str], now: float
    ) -> IdJagClaims:
        """Step 4: the ID-JAG, from a trusted issuer, for this AS and this client (§4.4.1)."""
        parsed = self._parsed
        if parsed is not None and parsed[0] is assertion:
            self._parsed = None
            jws = parsed[1]
        else:
            jws = self._parse(assertion)
        return verify_at_as(
            jws,
            self.trust,
            audience=self.issuer,
            client_id=client_id,
            now=now,
            leeway=self.leeway,
            max_lifetime=self.max_id_jag_lifetime,
            allow_cnf=self.dpop is not None and spec.H_DPOP in headers,
        )

    @property
    def grant_types(self) -> tuple[str, ...]:
        """Grant types served: jwt-bearer, and jwt-dpop when proofs are verified."""
        if self.dpop is None:
            return (spec.GRANT_JWT_BEARER,)
        return (spec.GRANT_JWT_BEARER, spec.GRANT_JWT_DPOP)

    def proof(self, jag: IdJagClaims, headers: Mapping[str, str], now: float) -> str | None:
        """Step 5: draft §8.6.1.2; returns the ``jkt`` to bind the access token to, if any.

        The proof (``htm`` POST, ``htu`` the configured token endpoint) is verified
        first; :func:`~xaa.dpop.bind_decision` then takes the four cases.
        """
        return run_claims(self.proof_flow(jag, headers, now))

    def proof_flow(
        self, jag: IdJagClaims, headers: Mapping[str, str], now: float
    ) -> ClaimFlow[str | None]:
        """:meth:`proof` as a flow: a :class:`~xaa.DpopVerifier`'s ``jti``
        claim is yielded (other verifiers make their own)."""
        proof = headers.get(spec.H_DPOP)
        proof_jkt: str | None = None
        if proof is not None:
            if self.dpop is None:
                raise InvalidDpopProof(detail="DPoP proofs are not supported by this server")
            if isinstance(self.dpop, DpopVerifier):
                proof_jkt, call = self.dpop.check(
                    proof, method="POST", url=self.token_endpoint, now=now
                )
                yield from spend_jti(call)
            else:
                proof_jkt = self.dpop.verify(proof, method="POST", url=self.token_endpoint, now=now)
        cnf_jkt = jag.cnf.jkt if jag.cnf is not None else None
        return bind_decision(cnf_jkt, proof_jkt, self.require_dpop)

    def check_constrained(self, granted: Granted, jkt: str | None) -> None:
        """After step 8: a granted resource that requires DPoP gets no Bearer token (case 4)."""
        if jkt is None and any(self._served[r].requires_dpop for r in granted.resources):
            bind_decision(None, None, resource_requires_dpop=True)

    def check_replay(self, jag: IdJagClaims, client_id: str, now: float) -> None:
        """Step 9: ``(iss, jti)`` single use, or reuse by the same client until ``exp``.

        The claim is atomic in the store, so of concurrent redemptions exactly one passes.
        """
        run_claims(self.check_replay_flow(jag, client_id, now))

    def check_replay_flow(self, jag: IdJagClaims, client_id: str, now: float) -> ClaimFlow[None]:
        """:meth:`check_replay` as a flow yielding its claim."""
        holder = yield id_jag_claim(self.replay, jag, client_id, self.leeway, now)
        if holder is None:
            return
        if self.replay_policy is ReplayPolicy.REUSE_UNTIL_EXP and holder == client_id:
            return
        raise already_used()

    def resolve_subject(self, jag: IdJagClaims) -> Account:
        """Step 7: ``(iss, tenant, sub)`` to a local account (draft §3.1, §6.3)."""
        subject = FederatedSubject(
            jag.iss,
            jag.tenant,
            jag.sub,
            jag.email,
            jag.aud_sub,
            jag.aud_tenant,
            email_authorities=self.trust.email_authorities(jag.email),
        )
        account = self.subjects.resolve(subject)
        if account is None:
            raise InvalidGrant(
                SUBJECT_UNKNOWN, detail="subject unknown and just-in-time provisioning not allowed"
            )
        return account

    def grant(
        self,
        jag: IdJagClaims,
        form: Mapping[str, str] | Form,
        client_id: str,
        account: Account,
    ) -> Granted:
        """Step 8: resource, scope, authorization_details as subsets under policy (§4.4.1)."""
        requested_resources = form.all(spec.P_RESOURCE) if isinstance(form, Form) else []
        if not isinstance(form, Form) and spec.P_RESOURCE in form:
            requested_resources = [form[spec.P_RESOURCE]]
        resources = narrow_resources(
            jag.resources, requested_resources, self._served.keys(), self.default_resource
        )
        wanted = narrow_scope(jag.scope, form.get(spec.P_SCOPE))
        served = frozenset().union(*(self._served[r].scopes for r in resources))
        allowed = self.grants.allowed_scopes(client_id, account)
        scopes = wanted & served
        if allowed is not None:
            scopes &= allowed
        details = self._grant_details(jag, form.get(spec.P_AUTHORIZATION_DETAILS), client_id)
        if not scopes and not details:
            raise InvalidScope(detail="nothing grantable under local policy")
        return Granted(tuple(resources), scopes, tuple(details))

    def _grant_details(
        self, jag: IdJagClaims, requested_raw: str | None, client_id: str
    ) -> list[AuthorizationDetail]:
        available = list(jag.authorization_details or [])
        wanted = available
        if requested_raw is not None:
            try:
                parsed = parse_json(requested_raw)
                if not isinstance(parsed, list):
                    raise ValueError("not an array")
                wanted = [AuthorizationDetail.model_validate(item) for item in parsed]
            except (ValueError, ValidationError):
                raise InvalidAuthorizationDetails(
                    detail="malformed authorization_details"
                ) from None
            if any(item not in available for item in wanted):
                raise InvalidAuthorizationDetails(detail="authorization_details beyond the ID-JAG")
        types = self.grants.allowed_detail_types(client_id)
        return [item for item in wanted if item.type in types]

    def issue(
        self,
        jag: IdJagClaims,
        client_id: str,
        account: Account,
        granted: Granted,
        jkt: str | None,
        now: float,
    ) -> IssuedAccessToken:
        """Step 10: an RFC 9068 access token carrying ``act`` and the IdP unchanged."""
        issued_at = int(now)
        resources = list(granted.resources)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": account.id,
            "aud": resources[0] if len(resources) == 1 else resources,
            "client_id": client_id,
            "jti": secrets.token_urlsafe(16),
            "iat": issued_at,
            "exp": issued_at + self.access_token_lifetime,
            "scope": format_scope(granted.scopes) or None,
            "auth_time": jag.auth_time,
            "acr": jag.acr,
            "amr": jag.amr,
            "act": jag.act.model_dump(mode="json", exclude_none=True) if jag.act else None,
            "cnf": {"jkt": jkt} if jkt else None,
            "authorization_details": [d.model_dump(mode="json") for d in granted.details] or None,
            spec.CLAIM_IDP_ISSUER: jag.iss,
            spec.CLAIM_IDP_SUBJECT: jag.sub,
            spec.CLAIM_IDP_TENANT: jag.tenant,
        }
        model = AccessTokenClaims.model_validate({k: v for k, v in claims.items() if v is not None})
        token = issue_access_token(model, self.signing_key)
        token_type = spec.TOKEN_TYPE_DPOP if jkt else spec.TOKEN_TYPE_BEARER
        return IssuedAccessToken(token, model, granted, token_type, self.access_token_lifetime)

    def pending_refresh(self, assertion: str | None, now: float) -> str | None:
        """The trusted issuer whose keys an adapter should refresh before :meth:`handle_form`.

        The strict parse of :meth:`verify`, kept for it; a malformed assertion needs no
        refresh (:meth:`verify` refuses it).
        """
        if not isinstance(assertion, str):
            return None
        try:
            jws = self._parse(assertion)
        except OAuthError:
            return None
        self._parsed = (assertion, jws)
        issuer, kid = jws.payload.get("iss"), jws.header.get("kid")
        if not self.trust.is_trusted(issuer) or not (kid is None or isinstance(kid, str)):
            return None
        assert isinstance(issuer, str)
        return issuer if self.trust.needs_refresh(issuer, kid, now) else None

    def _parse(self, assertion: str) -> CompactJws:
        return parse_compact(assertion, error=InvalidGrant, max_bytes=self.max_assertion_bytes)

    def audit_denial(self, exc: OAuthError, trace: AuditTrace | None = None) -> None:
        """Emit the audit event of a refused request."""
        trace = trace or AuditTrace()
        self.audit.emit(
            trace.event(
                AUDIT_EVENT,
                "denied",
                reason=f"{exc.error}: {exc.detail}"[:300],
                audience=self.issuer,
                extra=trace.attempted(),
            )
        )
