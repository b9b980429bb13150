"""The trust registry: discovery, TTL, one rate-limited refresh on unknown kid, stale keys."""

from __future__ import annotations

from typing import Any

import pytest

from xaa import SigningKey
from xaa.resource import TrustedIssuer, TrustRegistry, drive

IDP = "https://idp.example"


class Web:
    """A fake web: URL -> document (None = unreachable); records every fetch."""

    def __init__(self, pages: dict[str, Any]) -> None:
        self.pages = pages
        self.fetched: list[str] = []

    def __call__(self, url: str) -> Any:
        self.fetched.append(url)
        return self.pages.get(url)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("ES256", kid="k1")


def _web(key: SigningKey, **meta: Any) -> Web:
    return Web(
        {
            IDP + "/.well-known/oauth-authorization-server": {
                "issuer": IDP,
                "jwks_uri": IDP + "/jwks",
                **meta,
            },
            IDP + "/jwks": {"keys": [key.public_jwk()]},
        }
    )


def test_discovery_uses_oauth_metadata_then_jwks(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)])
    assert registry.needs_refresh(IDP, "k1", 0)
    web = _web(key)
    drive(registry.refresh_flow(IDP, 0), web)
    assert web.fetched == [IDP + "/.well-known/oauth-authorization-server", IDP + "/jwks"]
    assert registry.keys(IDP).select("k1") is not None
    assert not registry.needs_refresh(IDP, "k1", 1)


def test_falls_back_to_openid_configuration(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)])
    web = Web(
        {
            IDP + "/.well-known/openid-configuration": {"issuer": IDP, "jwks_uri": IDP + "/k"},
            IDP + "/k": {"keys": [key.public_jwk()]},
        }
    )
    drive(registry.refresh_flow(IDP, 0), web)
    assert web.fetched[0].endswith("/.well-known/oauth-authorization-server")
    assert registry.keys(IDP).select("k1") is not None


def test_path_issuer_discovery_urls() -> None:
    urls = TrustedIssuer("https://idp.example/tenant1").metadata_urls()
    assert urls == [
        "https://idp.example/.well-known/oauth-authorization-server/tenant1",
        "https://idp.example/tenant1/.well-known/openid-configuration",
    ]


def test_metadata_naming_another_issuer_is_refused(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)])
    web = _web(key, issuer="https://evil.example")
    drive(registry.refresh_flow(IDP, 0), web)
    assert len(registry.keys(IDP)) == 0
    assert IDP + "/jwks" not in web.fetched


def test_unknown_kid_refreshes_at_most_once_per_interval(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)], min_refresh_interval=30)
    drive(registry.refresh_flow(IDP, 0), _web(key))
    assert registry.needs_refresh(IDP, "rotated", 31)
    drive(registry.refresh_flow(IDP, 31), _web(key))
    assert not registry.needs_refresh(IDP, "rotated", 32)  # still unknown: rate limited
    assert not registry.needs_refresh(IDP, "rotated", 60)
    assert registry.needs_refresh(IDP, "rotated", 61)


def test_rotated_key_is_picked_up(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)], min_refresh_interval=0)
    drive(registry.refresh_flow(IDP, 0), _web(key))
    new = SigningKey.generate("ES256", kid="k2")
    assert registry.needs_refresh(IDP, "k2", 1)
    drive(registry.refresh_flow(IDP, 1), _web(new))
    assert registry.keys(IDP).select("k2") is not None


def test_stale_keys_kept_while_idp_unreachable(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)], ttl=10, min_refresh_interval=0)
    drive(registry.refresh_flow(IDP, 0), _web(key))
    assert registry.needs_refresh(IDP, "k1", 11)  # TTL passed
    drive(registry.refresh_flow(IDP, 11), Web({}))
    assert registry.keys(IDP).select("k1") is not None
    garbage = _web(key)
    garbage.pages[IDP + "/jwks"] = {"keys": "nope"}
    drive(registry.refresh_flow(IDP, 12), garbage)
    assert registry.keys(IDP).select("k1") is not None


def test_one_bad_key_and_unpinned_algorithms_are_dropped(key: SigningKey) -> None:
    rsa = SigningKey.generate("RS256", kid="r1")
    jwks = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "EC", "crv": "P-256", "kid": "broken"},
            rsa.public_jwk(),
            key.public_jwk(),
        ]
    }
    registry = TrustRegistry([TrustedIssuer(IDP, jwks=jwks)])
    keys = registry.keys(IDP)
    assert [k.kid for k in keys] == ["k1"]
    assert not registry.needs_refresh(IDP, "other", 0)  # static JWKS: never fetched


def test_explicit_jwks_uri_skips_discovery(key: SigningKey) -> None:
    registry = TrustRegistry([TrustedIssuer(IDP, jwks_uri=IDP + "/jwks")])
    web = _web(key)
    drive(registry.refresh_flow(IDP, 0), web)
    assert web.fetched == [IDP + "/jwks"]


def test_trust_is_exact() -> None:
    registry = TrustRegistry([TrustedIssuer(IDP)])
    assert registry.is_trusted(IDP)
    for near in (IDP + "/", "https://IDP.example", IDP + ".evil", "http://idp.example", None):
        assert not registry.is_trusted(near)


def test_configuration_errors() -> None:
    with pytest.raises(ValueError):
        TrustedIssuer(IDP, jwks={"keys": []}, jwks_uri=IDP + "/jwks")
    with pytest.raises(ValueError):
        TrustedIssuer(IDP, algorithms=frozenset({"HS256"}))
