"""Draft §4.4.1: every way a jwt-bearer request must fail, each one defect from the happy path."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from joserfc.errors import SecurityWarning

from tests.resource.resource_kit import (
    AS,
    CLIENT,
    DROP,
    IDP,
    NO_GRANT,
    NO_GRANT_SECRET,
    NOW,
    OTHER,
    OTHER_SECRET,
    RESOURCE,
    SECRET,
    TOKEN_URL,
    Kit,
    assert_rejected,
    b64,
    body,
    compact,
    make_kit,
)
from xaa import ReplayStoreUnavailable, SigningKey, spec
from xaa.resource import JitPolicy


@pytest.fixture
def kit() -> Kit:
    return make_kit()


def test_happy_path_issues_an_access_token(kit: Kit) -> None:
    response = kit.post(kit.jag())
    data = body(response)
    assert response.status == 200, data
    assert data["token_type"] == "Bearer"
    assert data["scope"] == "chat.history chat.read"
    assert data["resource"] == RESOURCE
    assert "refresh_token" not in data
    assert response.headers["cache-control"] == "no-store"
    assert kit.audit.events[-1].decision == "issued"


def _with_signature(token: str, signature: bytes) -> str:
    head, payload, _ = token.split(".")
    return f"{head}.{payload}.{b64(signature)}"


def _hmac_with_public_key(kit: Kit, encoding: str) -> str:
    jwk = kit.idp_key.public_jwk()
    secret = {
        "json": json.dumps(jwk).encode(),
        "x": base64.urlsafe_b64decode(jwk["x"] + "=="),
        "pem": kit.idp_key.key.as_pem(private=False),
    }[encoding]
    header = {"typ": "oauth-id-jag+jwt", "alg": "HS256", "kid": "idp-1"}
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(kit.claims()).encode())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


Case = Callable[[Kit], dict[str, Any]]

# Each case returns kwargs for Kit.post: one defect from the happy path.
INVALID_GRANT: dict[str, Case] = {
    "not-a-jwt": lambda k: {"assertion": "not-a-jwt"},
    "two-segments": lambda k: {"assertion": ".".join(k.jag().split(".")[:2])},
    "over-size-cap": lambda k: {"assertion": k.jag(padding="x" * 9000)},
    "typ-JWT": lambda k: {"assertion": k.jag({"typ": "JWT"})},
    "typ-at+jwt": lambda k: {"assertion": k.jag({"typ": "at+jwt"})},
    "typ-dpop+jwt": lambda k: {"assertion": k.jag({"typ": "dpop+jwt"})},
    "typ-missing": lambda k: {"assertion": k.jag({"typ": DROP})},
    "typ-id-jag-suffix": lambda k: {"assertion": k.jag({"typ": "oauth-id-jag+jwt2"})},
    "alg-none": lambda k: {
        "assertion": compact({"typ": "oauth-id-jag+jwt", "alg": "none"}, k.claims(), None)
    },
    "alg-None": lambda k: {
        "assertion": compact({"typ": "oauth-id-jag+jwt", "alg": "None"}, k.claims(), None)
    },
    "alg-NONE-empty-sig": lambda k: {
        "assertion": compact({"typ": "oauth-id-jag+jwt", "alg": "NONE"}, k.claims(), None).rsplit(
            ".", 1
        )[0]
        + "."
    },
    "empty-signature": lambda k: {"assertion": k.jag().rsplit(".", 1)[0] + "."},
    "hmac-public-key-json": lambda k: {"assertion": _hmac_with_public_key(k, "json")},
    "hmac-public-key-x": lambda k: {"assertion": _hmac_with_public_key(k, "x")},
    "hmac-public-key-pem": lambda k: {"assertion": _hmac_with_public_key(k, "pem")},
    "alg-header-disagrees": lambda k: {"assertion": k.jag({"alg": "EdDSA"})},
    "jwk-header-attacker-key": lambda k: {"assertion": _attacker(k, "jwk")},
    "jku-header": lambda k: {"assertion": _attacker(k, "jku")},
    "x5u-header": lambda k: {"assertion": _attacker(k, "x5u")},
    "x5c-header": lambda k: {"assertion": _attacker(k, "x5c")},
    "right-kid-wrong-key": lambda k: {
        "assertion": k.jag(key=SigningKey.generate("ES256", kid="idp-1"))
    },
    "unknown-kid": lambda k: {"assertion": k.jag(key=SigningKey.generate("ES256", kid="nope"))},
    "ecdsa-r-s-zero": lambda k: {"assertion": _with_signature(k.jag(), b"\x00" * 64)},
    "ecdsa-short-signature": lambda k: {"assertion": _with_signature(k.jag(), _sig(k)[:63])},
    "ecdsa-long-signature": lambda k: {"assertion": _with_signature(k.jag(), _sig(k) + b"\0")},
    "crit-header": lambda k: {"assertion": k.jag({"crit": ["exp"]})},
    **{
        f"missing-{name}": (lambda n: lambda k: {"assertion": k.jag(**{n: DROP})})(name)
        for name in ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
    },
    "exp-as-string": lambda k: {"assertion": k.jag(exp=str(NOW + 290))},
    "iat-as-float": lambda k: {"assertion": k.jag(iat=NOW - 10.5)},
    "exp-as-bool": lambda k: {"assertion": k.jag(exp=True)},
    "sub-as-number": lambda k: {"assertion": k.jag(sub=12345)},
    "client_id-as-list": lambda k: {"assertion": k.jag(client_id=[CLIENT])},
    "jti-empty": lambda k: {"assertion": k.jag(jti="")},
    "scope-as-list": lambda k: {"assertion": k.jag(scope=["chat.read"])},
    "iss-untrusted": lambda k: {"assertion": k.jag(iss="https://evil.example")},
    "iss-trailing-slash": lambda k: {"assertion": k.jag(iss=IDP + "/")},
    "iss-uppercase": lambda k: {"assertion": k.jag(iss="https://IDP.example")},
    "iss-prefix": lambda k: {"assertion": k.jag(iss=IDP + ".evil")},
    "aud-another-as": lambda k: {"assertion": k.jag(aud="https://other-as.example")},
    "aud-token-endpoint": lambda k: {"assertion": k.jag(aud=TOKEN_URL)},
    "aud-array-of-two": lambda k: {"assertion": k.jag(aud=[AS, "https://other-as.example"])},
    "aud-empty-array": lambda k: {"assertion": k.jag(aud=[])},
    "aud-trailing-slash": lambda k: {"assertion": k.jag(aud=AS + "/")},
    "expired-beyond-leeway": lambda k: {"assertion": k.jag(), "now": NOW + 290 + 30},
    "nbf-future-beyond-skew": lambda k: {"assertion": k.jag(nbf=NOW + 31)},
    "iat-future-beyond-skew": lambda k: {"assertion": k.jag(iat=NOW + 31, exp=NOW + 300)},
    "lifetime-over-maximum": lambda k: {"assertion": k.jag(iat=NOW - 10, exp=NOW + 291)},
    "client_id-claim-other-client": lambda k: {"assertion": k.jag(client_id=OTHER)},
    "cnf-without-dpop": lambda k: {"assertion": k.jag(cnf={"jkt": "abc"})},
    "id-token-as-assertion": lambda k: {
        "assertion": k.jag({"typ": "JWT"}, aud=CLIENT, client_id=DROP)
    },
    "access-token-as-assertion": lambda k: {"assertion": k.jag({"typ": "at+jwt"}, aud=RESOURCE)},
    "id-jag-for-another-as": lambda k: {"assertion": k.jag(aud="https://slack.example")},
}


def _attacker(kit: Kit, header: str) -> str:
    attacker = SigningKey.generate("ES256", kid="idp-1")
    value: Any = {
        "jwk": attacker.public_jwk(),
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "x5c": ["MIIB"],
    }[header]
    return kit.jag({header: value}, key=attacker)


def _sig(kit: Kit) -> bytes:
    return base64.urlsafe_b64decode(kit.jag().split(".")[2] + "==")


@pytest.mark.parametrize("case", sorted(INVALID_GRANT))
def test_invalid_grant(kit: Kit, case: str) -> None:
    args = INVALID_GRANT[case](kit)
    response = kit.post(**args)
    assert_rejected(response, 400, "invalid_grant", args["assertion"], SECRET)
    assert kit.audit.events[-1].decision == "denied"


@pytest.mark.parametrize("leeway_edge", [NOW + 290 + 29])
def test_expiry_boundary_inside_leeway_passes(kit: Kit, leeway_edge: int) -> None:
    assert kit.post(kit.jag(), now=leeway_edge).status == 200


def test_time_boundaries_one_second_apart(kit: Kit) -> None:
    assert kit.post(kit.jag(nbf=NOW + 30)).status == 200
    assert kit.post(kit.jag(iat=NOW + 30, exp=NOW + 300)).status == 200
    assert kit.post(kit.jag(iat=NOW - 10, exp=NOW + 290)).status == 200
    assert_rejected(kit.post(kit.jag(nbf=NOW + 31)), 400, "invalid_grant")


def test_one_element_aud_array_is_accepted(kit: Kit) -> None:
    assert kit.post(kit.jag(aud=[AS])).status == 200


def test_rsa_key_not_pinned_for_issuer_is_refused_and_accepted_when_pinned() -> None:
    rsa = SigningKey.generate("RS256", kid="rsa-1")
    pinned_es256 = make_kit(extra_jwks=[rsa.public_jwk()])
    token = pinned_es256.jag(key=rsa)
    assert_rejected(pinned_es256.post(token), 400, "invalid_grant")
    both = make_kit(extra_jwks=[rsa.public_jwk()], algorithms=frozenset({"ES256", "RS256"}))
    assert both.post(both.jag(key=rsa)).status == 200


def test_rsa_under_2048_bits_is_refused() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric import rsa as crsa

    small = crsa.generate_private_key(public_exponent=65537, key_size=1024)
    numbers = small.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "rsa-weak",
        "alg": "RS256",
        "n": b64(numbers.n.to_bytes(128, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        kit = make_kit(extra_jwks=[jwk], algorithms=frozenset({"ES256", "RS256"}))
        header = {"typ": "oauth-id-jag+jwt", "alg": "RS256", "kid": "rsa-weak"}
        h = b64(json.dumps(header).encode())
        p = b64(json.dumps(kit.claims()).encode())
        sig = small.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
        assert_rejected(kit.post(f"{h}.{p}.{b64(sig)}"), 400, "invalid_grant")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"assertion": None}, "invalid_request"),
        ({"grant_type": None}, "invalid_request"),
    ],
)
def test_missing_parameters(kit: Kit, form: dict[str, Any], error: str) -> None:
    headers, raw = kit.request(kit.jag())
    params = dict(p.split("=", 1) for p in raw.decode().split("&"))
    for name in form:
        params.pop(name)
    response = kit.endpoint.handle(
        headers, "&".join(f"{k}={v}" for k, v in params.items()).encode(), now=NOW
    )
    assert_rejected(response, 400, error)


@pytest.mark.parametrize("name", ["assertion", "grant_type", "scope", "client_id"])
def test_duplicated_parameter_is_invalid_request(kit: Kit, name: str) -> None:
    headers, raw = kit.request(kit.jag(), form={"scope": "chat.read", "client_id": CLIENT})
    value = dict(p.split("=", 1) for p in raw.decode().split("&"))[name]
    response = kit.endpoint.handle(headers, raw + f"&{name}={value}".encode(), now=NOW)
    assert_rejected(response, 400, "invalid_request")


def test_other_grant_type_is_unsupported(kit: Kit) -> None:
    response = kit.post(kit.jag(), form={"grant_type": spec.GRANT_TOKEN_EXCHANGE})
    assert_rejected(response, 400, "unsupported_grant_type")


def test_no_client_authentication_is_invalid_client(kit: Kit) -> None:
    response = kit.post(kit.jag(), auth="none")
    assert_rejected(response, 401, "invalid_client")


def test_wrong_secret_is_invalid_client_with_basic_challenge(kit: Kit) -> None:
    response = kit.post(kit.jag(), secret="wrong")
    assert_rejected(response, 401, "invalid_client", "wrong")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_basic_and_post_at_once_is_invalid_client(kit: Kit) -> None:
    response = kit.post(kit.jag(), form={"client_secret": SECRET, "client_id": CLIENT})
    assert_rejected(response, 401, "invalid_client")


def test_client_id_field_next_to_basic_naming_another_client(kit: Kit) -> None:
    assert_rejected(kit.post(kit.jag(), form={"client_id": OTHER}), 401, "invalid_client")
    assert kit.post(kit.jag(), form={"client_id": CLIENT}).status == 200


def test_grant_not_enabled_is_unauthorized_client(kit: Kit) -> None:
    token = kit.jag(client_id=NO_GRANT)
    response = kit.post(token, client=NO_GRANT, secret=NO_GRANT_SECRET)
    assert_rejected(response, 400, "unauthorized_client")


def test_client_secret_post_is_accepted() -> None:
    kit = make_kit()
    token = kit.jag(client_id="poster")
    assert kit.post(token, auth="post", client="poster", secret="poster-secret").status == 200


def test_replay_single_use(kit: Kit) -> None:
    token = kit.jag()
    assert kit.post(token).status == 200
    assert_rejected(kit.post(token), 400, "invalid_grant")


def test_same_jti_from_another_issuer_is_another_token() -> None:
    from xaa.resource import TrustedIssuer

    kit = make_kit()
    other = SigningKey.generate("ES256", kid="idp2-1")
    kit.endpoint.trust.add(
        TrustedIssuer("https://idp2.example", jwks={"keys": [other.public_jwk()]})
    )
    assert kit.post(kit.jag(jti="same")).status == 200
    other_user = kit.jag(key=other, jti="same", iss="https://idp2.example", email="b@example.com")
    assert kit.post(other_user).status == 200


def test_reuse_until_exp_only_for_the_same_client() -> None:
    from xaa.resource import ReplayPolicy
    from xaa.stores import MemoryReplayStore

    store = MemoryReplayStore()
    kit = make_kit(store, replay_policy=ReplayPolicy.REUSE_UNTIL_EXP)
    token = kit.jag()
    assert kit.post(token).status == 200
    assert kit.post(token).status == 200
    # Another client holding the same (iss, jti): simulate a first use by someone else.
    store.claim("id-jag", IDP, "taken", holder=OTHER, expires_at=NOW + 600, now=NOW)
    assert_rejected(kit.post(kit.jag(jti="taken")), 400, "invalid_grant")


class _DownStore:
    def claim(self, *args: Any, **kwargs: Any) -> str | None:
        raise ReplayStoreUnavailable("down")


def test_replay_store_unavailable_fails_closed_with_503() -> None:
    kit = make_kit(_DownStore())
    response = kit.post(kit.jag())
    assert_rejected(response, 503, "temporarily_unavailable")


def test_unresolvable_subject_without_jit_is_invalid_grant() -> None:
    kit = make_kit(jit=JitPolicy(link_aud_sub=False, link_email=False, create_from_email=False))
    assert_rejected(kit.post(kit.jag()), 400, "invalid_grant")


def test_jit_needs_an_email() -> None:
    kit = make_kit()
    assert_rejected(kit.post(kit.jag(email=DROP)), 400, "invalid_grant")
    assert kit.post(kit.jag()).status == 200


def test_existing_link_is_used_and_tenant_separates_subjects(kit: Kit) -> None:
    first = body(kit.post(kit.jag(jti="a")))
    again = body(kit.post(kit.jag(jti="b", email="changed@example.com")))
    assert _sub(kit, first) == _sub(kit, again)
    other_tenant = body(kit.post(kit.jag(jti="c", tenant="t2", email="bob@example.com")))
    assert _sub(kit, other_tenant) != _sub(kit, first)


def _sub(kit: Kit, data: dict[str, Any]) -> str:
    payload = data["access_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "==="))["sub"])


def test_requested_scope_beyond_id_jag_is_invalid_scope(kit: Kit) -> None:
    response = kit.post(kit.jag(), form={"scope": "chat.read chat.write"})
    assert_rejected(response, 400, "invalid_scope")


def test_requested_scope_subset_is_reflected(kit: Kit) -> None:
    data = body(kit.post(kit.jag(), form={"scope": "chat.read"}))
    assert data["scope"] == "chat.read"


def test_policy_narrows_scope_and_response_reflects_it(kit: Kit) -> None:
    data = body(kit.post(kit.jag(client_id=OTHER), client=OTHER, secret=OTHER_SECRET))
    assert data["scope"] == "chat.read"


def test_nothing_grantable_is_invalid_scope(kit: Kit) -> None:
    assert_rejected(kit.post(kit.jag(scope="admin")), 400, "invalid_scope")
    assert_rejected(kit.post(kit.jag(scope=DROP)), 400, "invalid_scope")


@pytest.mark.parametrize(
    ("claims", "form"),
    [
        ({"resource": "https://elsewhere.example/api"}, {}),
        ({}, {"resource": "https://elsewhere.example/api"}),
        ({"resource": RESOURCE}, {"resource": RESOURCE + "/other"}),
    ],
)
def test_unserved_resource_is_invalid_target(
    kit: Kit, claims: dict[str, Any], form: dict[str, Any]
) -> None:
    assert_rejected(kit.post(kit.jag(**claims), form=form), 400, "invalid_target")


def test_resource_defaults_to_the_only_served_one(kit: Kit) -> None:
    assert body(kit.post(kit.jag(resource=DROP)))["resource"] == RESOURCE


def test_authorization_details_filtered_by_policy_and_reflected(kit: Kit) -> None:
    details = [{"type": "chat_channel", "channel": "general"}, {"type": "payments"}]
    data = body(kit.post(kit.jag(authorization_details=details)))
    assert data["authorization_details"] == [details[0]]


def test_authorization_details_beyond_id_jag(kit: Kit) -> None:
    details = [{"type": "chat_channel", "channel": "general"}]
    extra = json.dumps([{"type": "chat_channel", "channel": "random"}])
    response = kit.post(
        kit.jag(authorization_details=details), form={"authorization_details": extra}
    )
    assert_rejected(response, 400, "invalid_authorization_details")
    malformed = kit.post(kit.jag(jti="m"), form={"authorization_details": "{"})
    assert_rejected(malformed, 400, "invalid_authorization_details")


def test_dpop_header_without_a_verifier_is_refused(kit: Kit) -> None:
    response = kit.post(kit.jag(), headers={"dpop": "proof"})
    assert_rejected(response, 400, "invalid_dpop_proof")


def test_invalid_client_audit_names_the_attempted_client(kit: Kit) -> None:
    response = kit.post(kit.jag(), secret="s3cr3t-guess")
    assert_rejected(response, 401, "invalid_client", "s3cr3t-guess")
    event = kit.audit.events[-1]
    assert (event.decision, event.client_id) == ("denied", None)
    assert event.extra == {"attempted_client_id": CLIENT}
    assert "s3cr3t-guess" not in event.model_dump_json()


def test_attempted_client_id_at_the_resource_as_is_bounded_and_escaped(kit: Kit) -> None:
    forged = "\u2028" + "a" * 1000
    response = kit.post(kit.jag(), client=forged, secret="nope")
    assert_rejected(response, 401, "invalid_client")
    audited = kit.audit.events[-1].extra["attempted_client_id"]
    assert audited.startswith("\\u2028a") and audited.endswith("...") and len(audited) <= 140
