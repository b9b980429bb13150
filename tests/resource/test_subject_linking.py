"""Subject resolution across trusted IdPs: accounts are keyed by ``(iss, tenant, sub)``.

An ``email`` claim links to an existing account only within the same issuer, or,
for an issuer the deployer names authoritative for the e-mail's domain
(``TrustedIssuer.authoritative_email_domains``), across issuers (docs/resource.md).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.resource.resource_kit import Kit, assert_rejected, body, make_kit
from xaa import HttpResponse, SigningKey
from xaa.resource import Account, AccountResolver, FederatedSubject, TrustedIssuer
from xaa.resource._subjects import SUBJECT_UNKNOWN

IDP_B = "https://idp-b.example"
IDP_C = "https://idp-c.example"


def _trust(kit: Kit, issuer: str, *domains: str) -> SigningKey:
    key = SigningKey.generate("ES256", kid=issuer.rsplit("/", 1)[-1])
    named = {"authoritative_email_domains": frozenset(domains)} if domains else {}
    kit.endpoint.trust.add(TrustedIssuer(issuer, jwks={"keys": [key.public_jwk()]}, **named))
    return key


def _account(response: HttpResponse) -> str:
    data = body(response)
    assert response.status == 200, data
    payload = data["access_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "==="))["sub"])


def _redeem(kit: Kit, key: SigningKey | None, issuer: str, sub: str, email: str) -> HttpResponse:
    jag = kit.jag(key=key, iss=issuer, sub=sub, email=email, jti=f"{len(kit.audit.events)}")
    return kit.post(jag)


def test_email_never_links_across_issuers() -> None:
    kit = make_kit()
    b_key = _trust(kit, IDP_B)
    alice = _account(_redeem(kit, None, kit.claims()["iss"], "alice-at-a", "alice@acme.example"))
    refused = _redeem(kit, b_key, IDP_B, "mallory", "alice@acme.example")
    assert_rejected(refused, 400, "invalid_grant", "alice@acme.example")
    # The same words as for an unknown subject: no oracle for which addresses have accounts.
    assert body(refused)["error_description"] == SUBJECT_UNKNOWN
    assert kit.accounts.linked(IDP_B, None, "mallory") is None
    assert kit.audit.events[-1].reason == (
        "invalid_grant: the e-mail names an account of another issuer"
    )
    # Same address, other case: still alice's account, still refused.
    refused = _redeem(kit, b_key, IDP_B, "mallory", "ALICE@acme.example")
    assert_rejected(refused, 400, "invalid_grant")
    # Alice herself is unaffected.
    again = _redeem(kit, None, kit.claims()["iss"], "alice-at-a", "alice@acme.example")
    assert _account(again) == alice


def test_email_links_within_the_same_issuer() -> None:
    kit = make_kit()
    issuer = kit.claims()["iss"]
    first = _account(_redeem(kit, None, issuer, "alice-old-sub", "alice@acme.example"))
    second = _account(_redeem(kit, None, issuer, "alice-new-sub", "alice@acme.example"))
    assert first == second
    other_tenant = kit.jag(sub="alice-t2", tenant="t2", email="alice@acme.example", jti="t2")
    assert_rejected(kit.post(other_tenant), 400, "invalid_grant")


def test_email_never_links_a_local_account_without_an_authoritative_issuer() -> None:
    kit = make_kit()
    local = kit.accounts.create("alice@acme.example")
    b_key = _trust(kit, IDP_B)
    assert_rejected(
        _redeem(kit, b_key, IDP_B, "mallory", "alice@acme.example"), 400, "invalid_grant"
    )
    assert kit.accounts.linked(IDP_B, None, "mallory") is None
    assert kit.accounts.by_id(local.id) == local


def test_cross_issuer_email_link_only_for_the_named_issuer_and_domain() -> None:
    kit = make_kit()
    issuer_a = kit.claims()["iss"]
    b_key = _trust(kit, IDP_B, "acme.example")  # B is authoritative for acme.example
    c_key = _trust(kit, IDP_C)  # C is not authoritative for anything
    local = kit.accounts.create("alice@acme.example")
    carol = kit.accounts.create("carol@other.example")
    # C is not named: refused, for a local account and for another issuer's.
    assert_rejected(
        _redeem(kit, c_key, IDP_C, "c-alice", "alice@acme.example"), 400, "invalid_grant"
    )
    # B is named for acme.example: links to the local account.
    assert _account(_redeem(kit, b_key, IDP_B, "b-alice", "alice@acme.example")) == local.id
    # ... but not for other.example.
    refused = _redeem(kit, b_key, IDP_B, "b-carol", "carol@other.example")
    assert_rejected(refused, 400, "invalid_grant")
    assert kit.accounts.linked(IDP_B, None, "b-carol") is None
    assert kit.accounts.by_id(carol.id) == carol
    # A, not named, cannot claim or provision an address of B's domain any more.
    assert_rejected(
        _redeem(kit, None, issuer_a, "a-alice", "alice@acme.example"), 400, "invalid_grant"
    )
    refused = _redeem(kit, None, issuer_a, "a-dave", "dave@acme.example")
    assert_rejected(refused, 400, "invalid_grant")
    # A still provisions addresses of domains nobody is authoritative for.
    assert _redeem(kit, None, issuer_a, "a-erin", "erin@example.com").status == 200


def test_authoritative_issuer_never_links_an_account_of_a_non_authoritative_one() -> None:
    kit = make_kit()
    issuer_a = kit.claims()["iss"]
    # Mallory at A provisioned an acme.example address before B was named authoritative.
    squatted = _account(_redeem(kit, None, issuer_a, "mallory", "bob@acme.example"))
    b_key = _trust(kit, IDP_B, "acme.example")
    refused = _redeem(kit, b_key, IDP_B, "b-bob", "bob@acme.example")
    assert_rejected(refused, 400, "invalid_grant")
    assert kit.accounts.linked(IDP_B, None, "b-bob") is None
    assert kit.accounts.linked(issuer_a, None, "mallory") == Account(squatted, "bob@acme.example")


def test_chat_store_email_never_links_across_issuers(tmp_path: Path) -> None:
    from reference_resource.store import ChatStore
    from xaa import InvalidGrant

    store = ChatStore(str(tmp_path / "chat.db"))
    store.seed([("alice", "alice@acme.example", "pw")], [])
    resolver = AccountResolver(store)
    alice_a = FederatedSubject(
        "https://a.example", None, "alice", "alice@acme.example",
        email_authorities=frozenset({"https://a.example"}),
    )  # fmt: skip
    alice = resolver.resolve(alice_a)
    assert alice is not None and alice.id == "u-alice"
    mallory = FederatedSubject("https://b.example", None, "mallory", "alice@acme.example")
    try:
        resolver.resolve(mallory)
    except InvalidGrant as exc:
        assert exc.detail == "the e-mail names an account of another issuer"
    else:
        raise AssertionError("mallory was linked to alice's account")
    assert store.linked("https://b.example", None, "mallory") is None
    assert store.linked_issuers("u-alice") == frozenset({("https://a.example", None)})
