"""The resource-AS suite: redeem ID-JAGs minted by the test IdP, one defect at a time.

Every negative case is the happy-path ID-JAG with exactly one defect, re-signed
with the right key (so the rule under test is what fails), posted with the
client's real credentials; the answer must be the stated RFC 6749 §5.2 error
(:func:`~xaa.conformance._checks.expect_error`) and the happy path must still
work afterwards. Sections refer to the draft (draft-ietf-oauth-identity-assertion-authz-grant-03)
unless an RFC is named.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from xaa import SigningKey, spec

from .._checks import Answer, expect_error, expect_token, fetch_json, post_form
from .._checks import metadata_url as as_metadata_url
from .._credentials import ClientCredentials
from .._forge import compact, hmac_compact, merge, public_key_encodings
from .._registry import CaseFailed, CaseSkipped, Level, Suite
from .._runner import Report, Result, run_over_http
from .._test_idp import TestIdp

MUST, SHOULD, BCP = Level.MUST, Level.SHOULD, Level.BEST_PRACTICE
ID_JAG_LIFETIME = 120


@dataclass(frozen=True)
class ResourceAsTarget:
    """The resource AS under test and the client registered there."""

    issuer: str
    client: ClientCredentials
    resource: str | None = None
    scope: str | None = None
    subject: str = "xaa-conformance-user"
    email: str = "conformance-user@xaa.example"
    token_endpoint: str | None = None

    @property
    def client_id(self) -> str:
        """The client's id at the resource AS."""
        return self.client.client_id


class ResourceAsContext:
    """What the cases use: the target, the test IdP, an HTTP client."""

    def __init__(self, target: ResourceAsTarget, idp: TestIdp, http: httpx.Client) -> None:
        self.target = target
        self.idp = idp
        self.http = http

    # -- discovery ------------------------------------------------------------------------

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The AS's RFC 8414 metadata."""
        return fetch_json(self.http, as_metadata_url(self.target.issuer))

    @property
    def token_endpoint(self) -> str:
        """The token endpoint: configured, else from the metadata."""
        if self.target.token_endpoint:
            return self.target.token_endpoint
        endpoint = self.metadata.get(spec.M_TOKEN_ENDPOINT)
        if not isinstance(endpoint, str) or not endpoint:
            raise CaseFailed("the AS metadata has no token_endpoint")
        return endpoint

    # -- minting --------------------------------------------------------------------------

    def claims(self, **changes: Any) -> dict[str, Any]:
        """The happy-path ID-JAG claims with ``changes`` (``DROP`` removes a claim)."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.idp.url,
            "sub": self.target.subject,
            "aud": self.target.issuer,
            "client_id": self.target.client_id,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + ID_JAG_LIFETIME,
            "email": self.target.email,
        }
        if self.target.scope:
            base["scope"] = self.target.scope
        if self.target.resource:
            base["resource"] = self.target.resource
        return merge(base, changes)

    def jag(
        self,
        header: Mapping[str, Any] | None = None,
        *,
        signer: SigningKey | Any = None,
        signature: bytes | None = None,
        claims: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> str:
        """An ID-JAG: ``typ`` ``oauth-id-jag+jwt``, the signer's ``alg``/``kid``, then changes."""
        key = signer or self.idp.key
        base = {"typ": spec.TYP_ID_JAG, "alg": key.alg, "kid": key.kid}
        payload = self.claims(**{**(claims or {}), **changes})
        return compact(merge(base, header or {}), payload, key, signature)

    # -- requests -------------------------------------------------------------------------

    def post(
        self,
        params: Mapping[str, str | list[str]],
        *,
        authenticate: bool = True,
        headers: Mapping[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> Answer:
        """POST a form to the token endpoint, with the client's credentials."""
        auth = self.client_auth if authenticate else None
        return post_form(
            self.http,
            self.token_endpoint,
            params,
            client_auth=auth,
            headers=headers,
            raw_body=raw_body,
        )

    def client_auth(self, form: dict[str, str | list[str]]) -> dict[str, str]:
        """Add the client's authentication to ``form``; returns extra headers."""
        return self.target.client.apply(form, self.target.issuer)

    def redeem(self, assertion: str, **params: str | list[str]) -> Answer:
        """The jwt-bearer request (RFC 7523 §2.1, draft §4.4)."""
        return self.post({"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion, **params})

    def happy(self) -> dict[str, Any]:
        """Redeem a fresh, valid ID-JAG; returns the token response."""
        answer = self.redeem(self.jag())
        try:
            return expect_token(answer)
        except CaseFailed as exc:
            raise CaseFailed(f"the happy path fails: {exc}") from None

    def reject(
        self,
        assertion: str,
        *,
        error: str | Iterable[str] = "invalid_grant",
        status: int | Iterable[int] = 400,
        **params: str | list[str],
    ) -> Answer:
        """Redeem ``assertion``; it must be refused with ``error``."""
        answer = self.redeem(assertion, **params)
        expect_error(answer, error=error, status=status, secrets=[assertion])
        return answer


RESOURCE_AS: Suite[ResourceAsContext] = Suite("resource-as")
Make = Callable[[ResourceAsContext], str]


def happy_path(ctx: ResourceAsContext) -> None:
    """Run after every negative case."""
    ctx.happy()


def add_rejection(
    case_id: str,
    make: Make,
    *,
    section: str,
    risk: str,
    level: Level = MUST,
    tags: Iterable[str] = (),
    error: str | Iterable[str] = "invalid_grant",
    status: int | Iterable[int] = 400,
) -> None:
    """Register a negative case: redeem ``make(ctx)``, expect ``error`` with ``status``."""

    def check(ctx: ResourceAsContext) -> None:
        ctx.reject(make(ctx), error=error, status=status)

    RESOURCE_AS.add(
        case_id, check, section=section, level=level, risk=risk, tags=("negative", *tags)
    )


def extra_key(key: str) -> Callable[[ResourceAsContext], Any]:
    def get(ctx: ResourceAsContext) -> Any:
        if not ctx.idp.extra_keys:
            raise CaseSkipped("the test IdP runs without extra keys")
        return getattr(ctx.idp, key)

    return get


def with_header(changes: Mapping[str, Any], signature: bytes | None = None) -> Make:
    """The happy ID-JAG with these header members."""
    return lambda ctx: ctx.jag(changes, signature=signature)


def with_claim(name: str, value: Callable[[ResourceAsContext], Any]) -> Make:
    """The happy ID-JAG with claim ``name`` set to ``value(ctx)``."""
    return lambda ctx: ctx.jag(claims={name: value(ctx)})


def hmac_with_public_key(encoding: str) -> Make:
    """HS256 keyed with the IdP's public key in ``encoding``."""

    def make(ctx: ResourceAsContext) -> str:
        header = {"typ": spec.TYP_ID_JAG, "alg": "HS256", "kid": ctx.idp.key.kid}
        return hmac_compact(header, ctx.claims(), public_key_encodings(ctx.idp.key)[encoding])

    return make


def run_resource_as_suite(
    target: ResourceAsTarget,
    idp: TestIdp,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    on_result: Callable[[Result[ResourceAsContext]], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Report[ResourceAsContext]:
    """Run the selected resource-AS cases against ``target``; ``idp`` must be serving."""
    return run_over_http(
        RESOURCE_AS,
        target.issuer,
        lambda http: ResourceAsContext(target, idp, http),
        only=only,
        skip=skip,
        happy_path=happy_path,
        on_result=on_result,
        transport=transport,
    )
