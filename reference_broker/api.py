"""``POST /v1/token``: an agent asks for a token for a person at an app (docs/broker.md).

Request (JSON, at most ``max_body_bytes``, nesting at most 4 deep, no duplicate
members): ``person``, ``app``, ``scopes`` (list), optional ``actor_token`` and
``actor_token_type`` (the actor chain, forwarded to the IdP on the XAA leg,
draft §4.3), and the agent's credential (``Authorization: Bearer <JWT-SVID>``,
or ``client_assertion_type`` + ``client_assertion`` for ``private_key_jwt``).

Answer: ``access_token``, ``token_type``, ``expires_at``, ``expires_in``,
``scope`` (granted), ``app``, ``person``, ``agent``, ``strategy``, ``via``
(``xaa`` or ``fallback``), ``fingerprint``. Every refusal is typed JSON with
``Cache-Control: no-store``; a denial is never answered by another strategy.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from xaa import (
    InvalidRequest,
    JsonRejected,
    OAuthError,
    ProtocolViolation,
    ReplayStoreUnavailable,
    clean_text,
    parse_json,
)
from xaa.broker import (
    AuthorizationRequired,
    BlockedByPolicy,
    BrokerError,
    MintRecord,
    Revoked,
    ScopeExceedsGrant,
    Strategy,
    UnknownApp,
    VaultIntegrityError,
)
from xaa.client import XaaClientError

from .agents import AgentRefused

if TYPE_CHECKING:
    from .app import Service
    from .state import WebSession, WithdrawalKind

log = logging.getLogger("xaa.broker.service")
MAX_DEPTH = 4
MAX_NAME = 256
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}

# error code -> HTTP status (docs/broker.md, "The broker service")
STATUS = {
    "invalid_request": 400,
    "invalid_agent": 401,
    "credential_expired": 401,
    "credential_replayed": 401,
    "agent_suspended": 403,
    "app_not_allowed": 403,
    "scope_not_allowed": 403,
    "revoked": 403,
    "blocked_by_policy": 403,
    "consent_required": 403,
    "scope_exceeds_grant": 403,
    "actor_chain_unsupported": 400,
    "actor_chain_refused": 403,
    "upstream_error": 502,
    "temporarily_unavailable": 503,
}


class TokenRequest(BaseModel):
    """The JSON body (the credential members are read by the agent registry)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    person: str = Field(min_length=1, max_length=MAX_NAME)
    app: str = Field(min_length=1, max_length=MAX_NAME)
    scopes: list[str] = Field(min_length=1, max_length=32)
    actor_token: str | None = Field(default=None, max_length=8192)
    actor_token_type: str | None = Field(default=None, max_length=MAX_NAME)
    client_assertion_type: str | None = None
    client_assertion: str | None = Field(default=None, max_length=8192)
    client_id: str | None = Field(default=None, max_length=MAX_NAME)


def error(code: str, description: str, **extra: Any) -> Response:
    """A typed refusal: ``{"error", "error_description", ...}`` with ``no-store``."""
    body = {"error": code, "error_description": description, **extra}
    headers = dict(_NO_STORE)
    if STATUS[code] == 401:  # RFC 6750 §3: the agent's credential is a bearer JWT-SVID
        headers["www-authenticate"] = 'Bearer realm="xaa-broker", error="invalid_token"'
    return Response(
        json.dumps(body), status_code=STATUS[code], media_type="application/json", headers=headers
    )


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as one JSON object: capped while it streams, depth bounded, strict."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise InvalidRequest("The body must be application/json.", detail="content type")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise InvalidRequest("The body is too large.", detail="content-length over cap")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise InvalidRequest("The body is too large.", detail="body over cap")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidRequest(detail="client disconnected") from None
    try:
        data = parse_json(b"".join(chunks), max_depth=MAX_DEPTH, max_bytes=limit)
    except JsonRejected as exc:
        if str(exc).startswith("JSON nested deeper"):
            raise InvalidRequest("The JSON is nested too deeply.", detail="depth") from None
        raise InvalidRequest("The body is not valid JSON.", detail=str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.", detail="not an object")
    return data


async def token_endpoint(request: Request, service: Service) -> Response:
    """Authenticate the agent, check what it may ask, mint through the broker.

    The body is read outside the catch-all below: a body the HTTP edge stops (over the cap,
    stalled) raises from ``receive`` and the edge answers it (413/408 RFC 6749 JSON).
    """
    try:
        body = await read_json(request, service.config.max_body_bytes)
    except InvalidRequest as exc:
        return _refused(exc)
    try:
        return await _token(request, body, service)
    except InvalidRequest as exc:
        return _refused(exc)
    except ReplayStoreUnavailable:
        return error("temporarily_unavailable", "The broker's store is unavailable.")
    except Exception:  # a defect of ours: logged with its traceback, never a bare 500
        log.exception("token request failed unexpectedly")
        return error("upstream_error", "The broker could not complete the request.")


def _refused(exc: InvalidRequest) -> Response:
    log.info("token request refused: invalid_request (%s)", clean_text(exc.detail or ""))
    return error("invalid_request", exc.description or "The request is malformed.")


async def _token(request: Request, body: dict[str, Any], service: Service) -> Response:
    now = time.time()
    try:
        agent = service.agents.authenticate(request.headers, body, now)
    except AgentRefused as refused:
        log.info("agent refused: %s (%s)", refused.code, clean_text(refused.detail))
        return error(refused.code, refused.description)
    try:
        wanted = TokenRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]["loc"]
        known = bool(first) and first[0] in TokenRequest.model_fields
        where = str(first[0]) if known else "unknown"
        description = f"Bad or missing member: {where}." if known else "Unknown member."
        raise InvalidRequest(description, detail=where) from None
    if not agent.active:
        return error("agent_suspended", f"The agent {agent.name} is suspended by its owner.")
    if wanted.app not in agent.apps or service.config.app(wanted.app) is None:
        return error("app_not_allowed", f"The agent {agent.name} may not use this app.")
    scopes = frozenset(wanted.scopes)
    beyond = scopes - agent.scopes
    if beyond:
        return error(
            "scope_not_allowed",
            f"The agent {agent.name} may not ask for these scopes.",
            scopes=sorted(beyond),
        )
    withdrawals: tuple[tuple[WithdrawalKind, str], ...] = (
        ("agent", agent.name),
        ("app", wanted.app),
    )
    for kind, name in withdrawals:
        if service.state.is_withdrawn(wanted.person, kind, name, now):
            return error(
                "revoked", f"{wanted.person} revoked the {kind} {name}.", target=f"{kind}:{name}"
            )
    if wanted.actor_token is not None:
        strategy = await service.strategy(wanted.app)
        if strategy != Strategy.XAA:
            return error(
                "actor_chain_unsupported",
                f"{wanted.app} does not support XAA; an actor chain cannot be carried.",
            )
    connect_url = f"{service.config.base}/connect/{wanted.app}"
    try:
        minted = await service.broker.access_token(
            wanted.person,
            wanted.app,
            scopes,
            actor=agent.name,
            actor_token=wanted.actor_token,
            actor_token_type=wanted.actor_token_type,
        )
    except AuthorizationRequired as needed:
        if wanted.actor_token is not None and needed.strategy == Strategy.XAA:
            return error(
                "actor_chain_refused",
                "The IdP refused the exchange with this actor chain"
                f" (or {wanted.person}'s sign-in has ended).",
                consent_url=connect_url,
            )
        return error(
            "consent_required",
            f"{wanted.person} must connect {wanted.app} first ({needed.reason}).",
            consent_url=connect_url,
            strategy=needed.strategy,
        )
    except ScopeExceedsGrant as exceeds:
        return error(
            "scope_exceeds_grant",
            f"{wanted.person} granted {wanted.app} fewer scopes; they must connect it again.",
            consent_url=connect_url,
            scopes=sorted(exceeds.missing),
        )
    except BlockedByPolicy as blocked:
        return error(
            "blocked_by_policy",
            f"{blocked.where} refused by policy: {blocked.reason}"[:300],
            policy_error=blocked.error,
            where=blocked.where,
        )
    except Revoked as revoked:
        return error("revoked", "The kill switch covers this request.", target=revoked.target)
    except VaultIntegrityError:
        log.warning("vault record failed authentication for app %s", wanted.app)
        return error("temporarily_unavailable", "The broker's vault is unavailable.")
    except UnknownApp:
        return error("app_not_allowed", f"{wanted.app} is not configured.")
    except (
        OAuthError,
        ProtocolViolation,
        XaaClientError,
        BrokerError,
        httpx.HTTPError,
        ValueError,
    ) as exc:
        log.info("mint for %s failed: %s", wanted.app, type(exc).__name__)
        return error("upstream_error", f"{wanted.app} or the IdP did not answer as required.")
    access = minted.access
    answer = {
        "access_token": minted.token,
        "token_type": access.token_type,
        "expires_at": int(access.expires_at),
        "expires_in": max(0, int(access.expires_at - now)),
        "scope": " ".join(sorted(access.scopes)),
        "app": minted.app,
        "person": minted.person,
        "agent": minted.agent,
        "strategy": str(minted.strategy),
        "via": "xaa" if minted.strategy == Strategy.XAA else "fallback",
        "fingerprint": minted.fingerprint,
    }
    return Response(
        json.dumps(answer), media_type="application/json", headers=_NO_STORE, status_code=200
    )


async def oauth_callback(
    request: Request, service: Service, session: WebSession | None
) -> Response:
    """The apps' callback: the person signed in here must own the pending request."""
    from .app import _message  # the page helpers live with the routes

    if session is None:
        return _message(request, "Sign in first", "Sign in, then connect the app again.", 401)
    params = request.query_params
    for name in ("state", "code", "error", "iss"):
        if len(params.getlist(name)) > 1:
            return _message(request, "Not connected", "The app's answer was malformed.", 400)
    if params.get("error"):
        service.broker.decline_authorization(params.get("state"))
        return _message(request, "Not connected", "You did not allow access.", 403)
    try:
        minted = await service.broker.complete_authorization(
            params.get("state"), params.get("code"), params.get("iss"), person=session.person
        )
    except InvalidRequest:
        return _message(request, "Not connected", "This request expired or is not yours.", 400)
    except (
        OAuthError,
        BrokerError,
        ProtocolViolation,
        XaaClientError,
        httpx.HTTPError,
        ValueError,
    ) as exc:
        log.info("callback failed: %s", type(exc).__name__)
        return _message(request, "Not connected", "The app refused the grant.", 400)
    service.state.restore(session.person, "app", minted.app)
    scopes = " ".join(sorted(minted.access.scopes))
    return _message(request, "Connected", f"{minted.app} is connected ({scopes}).", 200)


def withdrawal_record(person: str, kind: str, name: str, at_app: bool = False) -> MintRecord:
    """The attribution log's row for a person's withdrawal of an app or an agent
    (``at_app``: the app confirmed the RFC 7009 revocation of the refresh token)."""
    return MintRecord(
        time=time.time(),
        event="revoke",
        person=person,
        agent=name if kind == "agent" else None,
        app=name if kind == "app" else "*",
        strategy="person",
        detail=f"person:{person} revoked {kind}:{name}"
        + (" (refresh token revoked at the app)" if at_app else ""),
    )


__all__ = ["STATUS", "TokenRequest", "error", "read_json", "token_endpoint", "withdrawal_record"]
