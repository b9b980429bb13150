"""A deployment's unusable configuration raises ``xaa.ConfigurationError``: an ``XaaError``
(docs/errors.md, one root) that is still a ``ValueError`` for callers catching that."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from xaa import ConfigurationError, MalformedEncoding, XaaError, spec
from xaa._client_auth import RegisteredClient
from xaa._dpop import HmacNonceSource, normalize_htu
from xaa._keys import JwkSet
from xaa.actors._chain import ConfigResourceActorPolicy
from xaa.actors._policy import ConfigActorPolicy
from xaa.actors._validation import ActorIssuer, ActorTrust
from xaa.idp import ExchangePolicy, actor_validator_from_config
from xaa.idp._token_exchange import TokenExchangeEndpoint
from xaa.resource._access import ResourceServer
from xaa.resource._jwt_bearer import JwtBearerEndpoint
from xaa.resource._metadata import authorization_server_metadata
from xaa.resource._trust import TrustedIssuer

NONE: Any = None
EMPTY_KEYS = JwkSet()


def _jwt_bearer(**fields: Any) -> JwtBearerEndpoint:
    names = ("issuer", "token_endpoint", "signing_key", "clients", "grants", "trust")
    return JwtBearerEndpoint(
        **dict.fromkeys(names, NONE),
        replay=NONE,
        subjects=NONE,
        audit=NONE,
        **fields,
    )


class _Served:
    identifier = "https://api.example"
    requires_dpop = False


MISCONFIGURED: dict[str, Callable[[], object]] = {
    "public client method": lambda: RegisteredClient("c", "none"),
    "private_key_jwt without keys": lambda: RegisteredClient("c", spec.AUTH_PRIVATE_KEY_JWT),
    "secret method without secret": lambda: RegisteredClient("c", "client_secret_basic"),
    "no method at all": lambda: RegisteredClient.with_methods("c", []),
    "short nonce secret": lambda: HmacNonceSource(b"short"),
    "nonce step zero": lambda: HmacNonceSource(b"k" * 32, step=0),
    "actor max_depth zero": lambda: ConfigActorPolicy([], max_depth=0),
    "unknown actor requirement": lambda: ConfigResourceActorPolicy({}, default=NONE),
    "resource actor max_depth zero": lambda: ConfigResourceActorPolicy(
        {}, default="allow", max_depth=0
    ),
    "actor issuer without identifier": lambda: ActorIssuer("", EMPTY_KEYS),
    "actor issuer of another token type": lambda: ActorIssuer("i", EMPTY_KEYS, token_type="x"),
    "actor issuer without keys": lambda: ActorIssuer("i", EMPTY_KEYS),
    "trusted issuer without identifier": lambda: TrustedIssuer(""),
    "static jwks and jwks_uri": lambda: TrustedIssuer("i", jwks={}, jwks_uri="https://i/j"),
    "symmetric pinned algorithm": lambda: TrustedIssuer("i", algorithms=frozenset({"HS256"})),
    "e-mail domain not lowercase": lambda: TrustedIssuer(
        "i", authoritative_email_domains=frozenset({"Example.COM"})
    ),
    "resource server require_dpop without verifier": lambda: ResourceServer(
        "https://api.example", "https://as.example", EMPTY_KEYS, "https://m", require_dpop=True
    ),
    "resource AS serving nothing": lambda: _jwt_bearer(resources=[]),
    "default resource not served": lambda: _jwt_bearer(
        resources=[_Served()], default_resource="https://other.example"
    ),
    "resource AS require_dpop without verifier": lambda: _jwt_bearer(
        resources=[_Served()], require_dpop=True
    ),
    "ID-JAG lifetime over the maximum": lambda: TokenExchangeEndpoint(
        *([NONE] * 6), lifetime=600, max_lifetime=300
    ),
    "code grant without authorization endpoint": lambda: authorization_server_metadata(
        "https://as.example", grant_types=(spec.GRANT_AUTHORIZATION_CODE,)
    ),
}


@pytest.mark.parametrize("build", MISCONFIGURED.values(), ids=MISCONFIGURED.keys())
def test_misconfiguration_raises_a_xaa_configuration_error(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build()
    assert isinstance(caught.value, XaaError)
    assert isinstance(caught.value, ValueError)  # callers catching ValueError keep working


def test_actor_issuer_configured_twice_raises_a_xaa_configuration_error() -> None:
    keys = JwkSet.from_jwks(
        {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                    "alg": "EdDSA",
                    "kid": "k",
                }
            ]
        }
    )
    with pytest.raises(ConfigurationError, match="configured twice"):
        ActorTrust([ActorIssuer("i", keys), ActorIssuer("i", keys)])


@pytest.mark.parametrize(
    "uri", ["", "ftp://as.example/token", "https://u@as.example/", "https://as.example:99999/"]
)
def test_normalize_htu_refuses_with_a_xaa_error(uri: str) -> None:
    with pytest.raises(MalformedEncoding) as caught:
        normalize_htu(uri)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("build", "source"),
    [
        (lambda doc: ExchangePolicy.from_config(doc), "IssuancePolicy"),
        (lambda doc: ConfigActorPolicy.from_config(doc), "ActorPolicyConfig"),
        (lambda doc: actor_validator_from_config("https://idp.example", doc), "ActorsConfig"),
    ],
)
def test_a_configuration_document_that_does_not_validate_is_a_configuration_error(
    build: Callable[[dict[str, Any]], object], source: str
) -> None:
    """Not pydantic's ValidationError: one line naming the document and the key, never the
    value (a configuration holds secrets)."""
    with pytest.raises(ConfigurationError) as caught:
        build({"sekrit-key-name": "s3cr3t-value"})
    message = str(caught.value)
    assert message.startswith(f"{source}: ")
    assert "s3cr3t-value" not in message and "\n" not in message
    assert isinstance(caught.value, XaaError)
