"""Parsing the console's forms and filters into validated values (docs/console.md).

Every function raises :class:`reference_idp.console_web.BadInput` on a value it
refuses; nothing here touches the store.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from xaa.idp import ClientGrantRule, IssuancePolicy, ResourceServerRule, ScopeRule

from .console_store import ActivityFilter
from .console_web import BadInput, name, names, text

FILTERS = frozenset(
    (
        "subject",
        "client",
        "actor",
        "audience",
        "decision",
        "reason",
        "event",
        "jti",
        "since",
        "until",
        "page",
    )
)
MAX_PAGE = 1000
MAX_RULES = 16
_M = TypeVar("_M", ClientGrantRule, ResourceServerRule, IssuancePolicy)
CLAIMS = ("email", "aud_sub", "tenant", "aud_tenant")


def _when(value: str, field: str) -> float | None:
    value = text(value, field, limit=32)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(field, "is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def activity_filter(query: Mapping[str, str]) -> tuple[ActivityFilter, int]:
    """The activity filters and page number from a query string."""
    decision = text(query.get("decision"), "decision", limit=10)
    if decision not in ("", "issued", "denied"):
        raise BadInput("decision", "must be issued or denied")
    raw_page = text(query.get("page"), "page", limit=5) or "1"
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        raise BadInput("page", f"must be a number from 1 to {MAX_PAGE}")
    where = ActivityFilter(
        subject=name(query.get("subject"), "subject"),
        client=name(query.get("client"), "client"),
        actor=text(query.get("actor"), "actor"),
        audience=name(query.get("audience"), "audience"),
        decision=decision,
        reason=text(query.get("reason"), "reason"),
        event=name(query.get("event"), "event"),
        jti=name(query.get("jti"), "jti"),
        since=_when(query.get("since", ""), "since"),
        until=_when(query.get("until", ""), "until"),
    )
    return where, int(raw_page)


def scope_rules(value: str) -> list[ScopeRule]:
    """``groups: scopes`` per line; a line without ``": "`` grants to everyone (a scope
    such as a URN may hold a colon, never a space)."""
    rules: list[ScopeRule] = []
    for line in text(value, "scope_rules", limit=4000).splitlines():
        if not line.strip():
            continue
        groups, _, scopes = line.partition(": ") if ": " in line else ("", "", line)
        rules.append(
            ScopeRule(groups=names(groups, "scope_rules"), scopes=names(scopes, "scope_rules"))
        )
        if len(rules) > MAX_RULES:
            raise BadInput("scope_rules", f"has more than {MAX_RULES} lines")
    return rules


def format_rules(rules: list[ScopeRule]) -> str:
    """The textarea form of :func:`scope_rules`."""
    return "\n".join(
        (" ".join(r.groups) + ": " if r.groups else "") + " ".join(r.scopes) for r in rules
    )


def connection(form: Mapping[str, str]) -> ClientGrantRule:
    """A connection (one policy grant) from the edit form."""
    on_excess = text(form.get("on_excess"), "on_excess", limit=10) or "narrow"
    if on_excess not in ("narrow", "reject"):
        raise BadInput("on_excess", "must be narrow or reject")
    resources = names(form.get("resources"), "resources")
    return _valid(
        ClientGrantRule,
        {
            "client": name(form.get("client"), "client", required=True),
            "audience": name(form.get("audience"), "audience", required=True),
            "client_id": name(form.get("client_id"), "client_id", required=True),
            "scopes": scope_rules(form.get("scope_rules", "")),
            "default_scopes": names(form.get("default_scopes"), "default_scopes"),
            "resources": resources or None,
            "authorization_details_types": names(
                form.get("authorization_details_types"), "authorization_details_types"
            ),
            "on_excess": on_excess,
        },
    )


def server_update(current: ResourceServerRule, form: Mapping[str, str]) -> ResourceServerRule:
    """A resource AS with the claims released and the authentication context required."""
    max_age = text(form.get("max_age"), "max_age", limit=9)
    if max_age and not max_age.isdigit():
        raise BadInput("max_age", "must be a whole number of seconds")
    claims = [c for c in CLAIMS if form.get(f"claim_{c}") == "on"]
    update: dict[str, Any] = {
        "claims": claims,
        "acr_values": names(form.get("acr_values"), "acr_values"),
        "required_amr": names(form.get("required_amr"), "required_amr"),
        "max_age": int(max_age) if max_age else None,
    }
    return _valid(ResourceServerRule, {**current.model_dump(), **update})


def with_connection(
    policy: IssuancePolicy, grant: ClientGrantRule | None, key: tuple[str, str]
) -> IssuancePolicy:
    """``policy`` with the connection ``key`` (client, audience) replaced or removed."""
    grants = [g for g in policy.grants if (g.client, g.audience) != key or grant is not None]
    index = next((i for i, g in enumerate(grants) if (g.client, g.audience) == key), None)
    if grant is not None and index is None:
        grants.append(grant)  # a new connection comes last
    elif grant is not None and index is not None:
        grants[index] = grant  # an edited one keeps its place
    return _valid(IssuancePolicy, {**policy.model_dump(), "grants": grants})


def with_server(policy: IssuancePolicy, server: ResourceServerRule) -> IssuancePolicy:
    """``policy`` with the resource AS of the same issuer replaced."""
    servers = [server if s.issuer == server.issuer else s for s in policy.resource_servers]
    return _valid(IssuancePolicy, {**policy.model_dump(), "resource_servers": servers})


def _valid(model: type[_M], data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "form"
        raise BadInput(where, str(error["msg"]).removeprefix("Value error, ")) from None


def now() -> float:
    """The clock (one place, for tests)."""
    return time.time()
