"""The rules of one ID-JAG redemption at a resource AS (draft-03 §4.4.1), each written once.

:class:`~xaa.JwtBearerEndpoint` runs them as its steps; an adapter onto another
authorization server (``xaa.adapters.authlib``) calls the same functions, so a rule
cannot drift between the two. Pure: the replay claim is returned for the caller to make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from .._errors import InvalidGrant, InvalidScope, InvalidTarget
from .._forms import parse_scope
from .._jose import CompactJws
from .._models import IdJagClaims
from .._replay import NS_ID_JAG, ReplayClaim, ReplayStore
from .._tokens import ID_JAG, verify_parsed
from ._trust import TrustRegistry

# Public ``error_description`` of the invalid_grant refusals a client can act on
# (RFC 6749 §5.2, docs/errors.md): each says which check failed, none carries token
# bytes, claims or account names. The issuer check runs after client authentication
# only; the others after the ID-JAG's signature verified. Other invalid_grant
# refusals keep the generic description; the detail goes to the audit log.
ISSUER_NOT_TRUSTED = "The ID-JAG issuer is not trusted here."
ID_JAG_EXPIRED = "The ID-JAG has expired."
ID_JAG_ALREADY_USED = "The ID-JAG was already used."
ID_JAG_OTHER_CLIENT = "The ID-JAG was issued to another client."
# The ID-JAG profile of xaa/_tokens.py, with the descriptions above for its two refusals.
ID_JAG_AT_AS = dataclasses.replace(ID_JAG, expired=ID_JAG_EXPIRED, other_client=ID_JAG_OTHER_CLIENT)


def trusted_issuer(jws: CompactJws, trust: TrustRegistry) -> str:
    """The ID-JAG's ``iss``, when it names an IdP this AS trusts (draft §4.4.1, §8.4)."""
    issuer = jws.payload.get("iss")
    if not isinstance(issuer, str) or not trust.is_trusted(issuer):
        raise InvalidGrant(ISSUER_NOT_TRUSTED, detail="iss is not a trusted IdP")
    return issuer


def verify_at_as(
    jws: CompactJws,
    trust: TrustRegistry,
    *,
    audience: str,
    client_id: str,
    now: float,
    leeway: int,
    max_lifetime: int,
    allow_cnf: bool = False,
) -> IdJagClaims:
    """The ID-JAG, from a trusted issuer, for this AS (``aud``) and this client
    (``client_id``), within its times (draft §4.4.1, RFC 7523 §3)."""
    issuer = trusted_issuer(jws, trust)
    return verify_parsed(
        jws,
        ID_JAG_AT_AS,
        keys=trust.keys(issuer),
        issuer=issuer,
        audience=audience,
        now=now,
        leeway=leeway,
        max_lifetime=max_lifetime,
        allow_cnf=allow_cnf,
        client_id=client_id,
    ).claims


def narrow_resources(
    claimed: Sequence[str] | None,
    requested: Sequence[str],
    served: Collection[str] | None,
    default: str | None = None,
) -> list[str]:
    """The resources of one redemption (RFC 8707 §2, draft §4.4.1).

    Requested resources must be in the ID-JAG (when it names any) and served here. None
    requested: the ID-JAG's that are served here; none there either: the one resource
    served, or ``default``. ``served=None``: this AS does not restrict resources.
    """
    in_jag = list(dict.fromkeys(claimed or ()))
    if requested:
        wanted = list(dict.fromkeys(requested))
        if in_jag and set(wanted) - set(in_jag):
            raise InvalidTarget(detail="requested resource not in the ID-JAG")
        if served is not None and set(wanted) - set(served):
            raise InvalidTarget(detail="requested resource not served here")
        return wanted
    if in_jag:
        kept = in_jag if served is None else [r for r in in_jag if r in served]
        if not kept:
            raise InvalidTarget(detail="no resource of the ID-JAG is served here")
        return kept
    if served is None:
        return []
    if len(served) == 1:
        return list(served)
    if default is not None:
        return [default]
    raise InvalidTarget(detail="no resource named and no default")


def narrow_scope(jag_scope: str | None, requested: str | None) -> frozenset[str]:
    """The requested scope within the ID-JAG's; none requested: all of it (RFC 6749 §3.3,
    draft §4.4.1: the AS never grants more than the IdP did)."""
    granted = parse_scope(jag_scope, error=InvalidScope)
    wanted = parse_scope(requested)
    if wanted - granted:
        raise InvalidScope(detail="requested scope beyond the ID-JAG")
    return wanted or granted


def id_jag_claim(
    replay: ReplayStore, jag: IdJagClaims, client_id: str, leeway: int, now: float
) -> ReplayClaim:
    """The ``(iss, jti)`` single-use claim of a redemption, held by ``client_id`` until the
    ID-JAG expires (draft §4.4.1, RFC 7523 §3 item 7); made last, after every other check."""
    return ReplayClaim(replay, NS_ID_JAG, jag.iss, jag.jti, client_id, jag.exp + leeway, now)


def already_used() -> InvalidGrant:
    """The refusal of an ID-JAG whose ``jti`` another redemption holds."""
    return InvalidGrant(ID_JAG_ALREADY_USED, detail="ID-JAG already used")


__all__ = [
    "ID_JAG_ALREADY_USED",
    "ID_JAG_AT_AS",
    "ID_JAG_EXPIRED",
    "ID_JAG_OTHER_CLIENT",
    "ISSUER_NOT_TRUSTED",
    "already_used",
    "id_jag_claim",
    "narrow_resources",
    "narrow_scope",
    "trusted_issuer",
    "verify_at_as",
]
