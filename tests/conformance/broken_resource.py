"""Deliberately broken variants of the chat AS, each disabling exactly one check.

They prove that the conformance suite can fail (docs/conformance.md): each overrides ONE
public step of :class:`~xaa.resource.JwtBearerEndpoint`, and the tests pass the class to
``reference_resource.create_app(..., endpoint_type=...)``. They live under ``tests/`` only:
nothing installed can switch a check off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, ClassVar

from xaa import (
    Form,
    IdJagClaims,
    InvalidGrant,
    TokenResponse,
    format_scope,
    parse_compact,
    parse_scope,
    spec,
)
from xaa._tokens import ID_JAG, JwtProfile, normalize_typ, verify_parsed
from xaa.resource import Account, Granted, IssuedAccessToken, JwtBearerEndpoint

from .broken_keys import LENIENT


class _Verify(JwtBearerEndpoint):
    """The library's ``verify`` step, with a hook to loosen one input of ``verify_parsed``."""

    profile: ClassVar[JwtProfile[IdJagClaims]] = ID_JAG

    def loosen(self, header: dict[str, Any], payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The header to verify with and the audience to expect."""
        return header, self.issuer

    def verify(
        self, assertion: str, client_id: str, headers: Mapping[str, str], now: float
    ) -> IdJagClaims:
        jws = parse_compact(assertion, error=InvalidGrant, max_bytes=self.max_assertion_bytes)
        issuer = jws.payload.get("iss")
        if not isinstance(issuer, str) or not self.trust.is_trusted(issuer):
            raise InvalidGrant(detail="iss is not a trusted IdP")
        header, audience = self.loosen(jws.header, jws.payload)
        verified = verify_parsed(
            jws._replace(header=header),
            self.profile,
            keys=self.trust.keys(issuer),
            issuer=issuer,
            audience=audience,
            now=now,
            leeway=self.leeway,
            max_lifetime=self.max_id_jag_lifetime,
            allow_cnf=self.dpop is not None and spec.H_DPOP in headers,
            client_id=client_id,
        )
        return verified.claims


class AnyTyp(_Verify):
    """``typ``: any ``typ`` header (or none) is taken for ``oauth-id-jag+jwt``."""

    def loosen(self, header: dict[str, Any], payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        if normalize_typ(header.get("typ")) == spec.TYP_ID_JAG:
            return header, self.issuer
        return {**header, "typ": spec.TYP_ID_JAG}, self.issuer


class AnyAudience(_Verify):
    """``aud``: whatever audience the ID-JAG names (its first, in an array) is taken for
    this AS."""

    profile = replace(ID_JAG, audience_rule="contains")

    def loosen(self, header: dict[str, Any], payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        aud = payload.get("aud")
        first = aud[0] if isinstance(aud, list) and aud else aud
        return header, first if isinstance(first, str) else self.issuer


class UnboundClient(JwtBearerEndpoint):
    """``client-binding``: the ID-JAG's ``client_id`` is not compared with the client."""

    def verify(
        self, assertion: str, client_id: str, headers: Mapping[str, str], now: float
    ) -> IdJagClaims:
        claimed = parse_compact(assertion, error=InvalidGrant).payload.get("client_id")
        presenter = claimed if isinstance(claimed, str) else client_id
        return super().verify(assertion, presenter, headers, now)


class ForgetfulReplay(JwtBearerEndpoint):
    """``replay``: the ``(iss, jti)`` of a redeemed ID-JAG is never remembered."""

    def check_replay(self, jag: IdJagClaims, client_id: str, now: float) -> None:
        del jag, client_id, now


class UnboundProof(JwtBearerEndpoint):
    """``cnf``: a valid DPoP proof binds the token, whatever key ``cnf.jkt`` names."""

    def proof(self, jag: IdJagClaims, headers: Mapping[str, str], now: float) -> str | None:
        proof = headers.get(spec.H_DPOP)
        if proof is None or self.dpop is None:
            return super().proof(jag, headers, now)
        return self.dpop.verify(proof, method="POST", url=self.token_endpoint, now=now)


class ScopeBeyondIdJag(JwtBearerEndpoint):
    """``scope-subset``: a requested scope is granted even when the ID-JAG lacks it."""

    def grant(
        self, jag: IdJagClaims, form: Mapping[str, str] | Form, client_id: str, account: Account
    ) -> Granted:
        wider = parse_scope(jag.scope) | parse_scope(form.get(spec.P_SCOPE))
        widened = jag.model_copy(update={"scope": format_scope(wider) or None})
        return super().grant(widened, form, client_id, account)


class _WithRefreshToken(IssuedAccessToken):
    def response(self) -> TokenResponse:
        refresh = "test-only-broken-refresh-token"
        return super().response().model_copy(update={"refresh_token": refresh})


class IssuesRefreshToken(JwtBearerEndpoint):
    """``refresh-token``: the response carries a refresh token (draft §4.4.3)."""

    def issue(
        self,
        jag: IdJagClaims,
        client_id: str,
        account: Account,
        granted: Granted,
        jkt: str | None,
        now: float,
    ) -> IssuedAccessToken:
        issued = super().issue(jag, client_id, account, granted, jkt, now)
        return _WithRefreshToken(**{f.name: getattr(issued, f.name) for f in fields(issued)})


BROKEN: dict[str, type[JwtBearerEndpoint]] = {
    "typ": AnyTyp,
    "aud": AnyAudience,
    "client-binding": UnboundClient,
    "replay": ForgetfulReplay,
    "cnf": UnboundProof,
    "scope-subset": ScopeBeyondIdJag,
    "refresh-token": IssuesRefreshToken,
}
BROKEN.update(LENIENT)  # one lenient way of handling keys each (tests/conformance/broken_keys.py)


def endpoint_class(rule: str | None) -> type[JwtBearerEndpoint]:
    """The endpoint class with the check named ``rule`` disabled (the library's when None)."""
    return JwtBearerEndpoint if rule is None else BROKEN[rule]


__all__ = ["BROKEN", "endpoint_class"]
