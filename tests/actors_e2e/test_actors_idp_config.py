"""The reference IdP's ``[actors]`` table: what loads, what refuses to load."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reference_idp.app import build_idp
from reference_idp.config import load_config
from reference_idp.store import Store
from xaa import spec
from xaa.idp import ActorsConfig, ProfileActorValidator, actor_validator_from_config

DEMO = load_config()


def _table(**changes: Any) -> dict[str, Any]:
    assert DEMO.actors is not None
    table = DEMO.actors.model_dump(mode="json", exclude_none=True)
    table.update(changes)
    return table


def test_demo_config_wires_the_profile_into_the_idp() -> None:
    store = Store(":memory:")
    try:
        validator = build_idp(DEMO, store).exchange.actors
    finally:
        store.close()
    assert isinstance(validator, ProfileActorValidator) and validator.issuer == DEMO.issuer
    spire = validator.trust.find("https://spire.acme.example", spec.TOKEN_TYPE_JWT)
    assert spire is not None and spire.trust_domain == "acme.example"
    assert validator.trust.find("https://spire.acme.example", spec.TOKEN_TYPE_ACCESS_TOKEN) is None
    platform = validator.trust.find("https://agents.acme.example", spec.TOKEN_TYPE_ACCESS_TOKEN)
    assert platform is not None and platform.trust_domain == "acme.example"


def test_without_actors_table_no_validator() -> None:
    store = Store(":memory:")
    try:
        assert build_idp(DEMO.model_copy(update={"actors": None}), store).exchange.actors is None
    finally:
        store.close()


def test_spiffe_bundle_keeps_only_jwt_svid_keys() -> None:
    issuer = _table()["issuers"][0]
    x509_only = {"keys": [{**issuer["spiffe_bundle"]["keys"][0], "use": "x509-svid"}]}
    with pytest.raises(ValueError, match="no usable keys"):
        actor_validator_from_config(
            DEMO.issuer, _table(issuers=[{**issuer, "spiffe_bundle": x509_only}])
        )


@pytest.mark.parametrize(
    "broken",
    [
        {"issuers": []},
        {"max_depth": 9},
        {"max_depth": 0},
        {"rules": [{"actor": "spiffe://acme.example/agent/*", "clients": [], "subjects": ["*"]}]},
        {"rules": [{"actor": "build-bot", "clients": ["*"], "subjects": ["*"]}]},
        {"unknown": 1},
    ],
)
def test_misconfiguration_refuses_to_load(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ActorsConfig.model_validate(_table(**broken))


@pytest.mark.parametrize("keys", ["both", "neither"])
def test_issuer_needs_exactly_one_key_source(keys: str) -> None:
    issuer = dict(_table()["issuers"][0])
    if keys == "both":
        issuer["jwks"] = issuer["spiffe_bundle"]
    else:
        del issuer["spiffe_bundle"]
    with pytest.raises(ValidationError):
        ActorsConfig.model_validate(_table(issuers=[issuer]))
