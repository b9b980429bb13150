"""Scope narrowing by the IdP (draft §4.3.3, §4.4.1) and refusals that say which hop and why."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest

from tests.client.client_support import AS, IDP, RESOURCE, Clock, World, config, session
from tests.client.test_client_httpx_auth import ADAPTERS, API, MODES
from xaa import HttpResponse, json_response, spec
from xaa.adapters.httpx_client import AsyncXAAClient, XAAClient
from xaa.client import (
    PolicyDenied,
    ScopeNotGranted,
    TokenRequestRefused,
    XaaClientError,
    raise_for_refusal,
)

READ, WRITE = "chat.read", "chat.write"
BOTH = frozenset({READ, WRITE})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make(world: World, **options: Any) -> XAAClient:
    http = httpx.Client(transport=world.transport())
    return XAAClient(config(world.clock, **options), session=session(world.clock), http=http)


def test_client_redeems_the_scope_the_idp_granted() -> None:
    world = World(Clock(), idp_grants=frozenset({READ}))
    token = make(world).get_token(RESOURCE, "chat.read chat.write")
    jwt_bearer = [f for f in world.forms if f["grant_type"] == spec.GRANT_JWT_BEARER]
    assert [f["scope"] for f in jwt_bearer] == [READ]  # not the original request
    assert token.requested_scopes == BOTH
    assert token.granted_scopes == token.scopes == frozenset({READ})
    assert token.declined_scopes == frozenset({WRITE})


def test_narrowed_token_is_cached_under_the_request() -> None:
    world = World(Clock(), idp_grants=frozenset({READ}))
    client = make(world)
    first = client.get_token(RESOURCE, "chat.read chat.write")
    assert client.get_token(RESOURCE, "chat.read chat.write") is first
    assert world.exchanges() == 1


def test_required_scope_the_idp_declines_raises_scope_not_granted() -> None:
    world = World(Clock(), idp_grants=frozenset({READ}))
    client = make(world)
    client.get_token(RESOURCE, "chat.read chat.write")
    with pytest.raises(ScopeNotGranted) as caught:
        client.get_token(RESOURCE, "chat.read chat.write", required_scope=frozenset({WRITE}))
    error = caught.value
    assert isinstance(error, XaaClientError)
    assert (error.hop, error.issuer) == ("idp-token-exchange", IDP)
    assert (error.missing, error.granted) == (frozenset({WRITE}), frozenset({READ}))
    assert str(error).startswith(f"the IdP at {IDP} declined scope 'chat.write'")
    assert world.exchanges() == 2  # the cached narrowed token was not used; the AS was not asked
    assert len(world.issued) == 1


def test_required_scope_the_as_declines_names_the_as() -> None:
    world = World(Clock(), as_grants=frozenset({READ}))
    with pytest.raises(ScopeNotGranted) as caught:
        make(world).get_token(RESOURCE, "chat.read chat.write", required_scope=frozenset({WRITE}))
    assert (caught.value.hop, caught.value.issuer) == ("resource-as-jwt-bearer", AS)
    assert str(caught.value).startswith(f"the resource AS at {AS} declined scope 'chat.write'")


async def _auth_call(module: ModuleType, mode: str, world: World, scope: str) -> Any:
    adapter = ADAPTERS[module]
    if mode == "sync":
        client = adapter.XAAClient(
            config(world.clock),
            session=session(world.clock),
            http=module.Client(transport=world.transport()),
        )
        auth = adapter.XAAAuth(client, resource=RESOURCE, scope=scope)
        with module.Client(transport=world.transport(), auth=auth) as api:
            return api.get(API)
    aclient = adapter.AsyncXAAClient(
        config(world.clock),
        session=session(world.clock),
        http=module.AsyncClient(transport=world.transport()),
    )
    auth = adapter.XAAAuth(aclient, resource=RESOURCE, scope=scope)
    async with module.AsyncClient(transport=world.transport(), auth=auth) as api:
        return await api.get(API)


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES)
@pytest.mark.parametrize("scope", ["chat.read", "chat.read chat.write"])
async def test_step_up_the_idp_narrows_again_raises_scope_not_granted(
    module: ModuleType, mode: str, scope: str
) -> None:
    world = World(Clock(), module=module, idp_grants=frozenset({READ}))
    world.rs_script = [(403, 'Bearer error="insufficient_scope", scope="chat.write"')]
    with pytest.raises(ScopeNotGranted) as caught:
        await _auth_call(module, mode, world, scope)
    assert caught.value.hop == "idp-token-exchange" and caught.value.missing == {WRITE}
    assert "the IdP at" in str(caught.value) and "declined" in str(caught.value)
    assert world.seen_authorization == ["Bearer at-0"]  # one try, then the typed error
    assert world.exchanges() == 2


@pytest.mark.anyio
@pytest.mark.parametrize("module", [httpx, httpx2])
async def test_step_up_the_idp_grants_is_retried_once(module: ModuleType) -> None:
    world = World(Clock(), module=module, idp_grants=BOTH)
    world.rs_script = [(403, 'Bearer error="insufficient_scope", scope="chat.write"')]
    response = await _auth_call(module, "sync", world, "chat.read")
    assert response.status_code == 200
    assert world.seen_authorization == ["Bearer at-0", "Bearer at-1"]


def test_as_refusal_names_the_hop_and_the_servers_description() -> None:
    world = World(Clock())
    world.as_error = {"error": "invalid_grant", "error_description": "ID-JAG already used"}
    with pytest.raises(TokenRequestRefused) as caught:
        make(world).get_token(RESOURCE, "chat.read")
    error = caught.value
    assert (error.hop, error.issuer, error.error, error.status) == (
        "resource-as-jwt-bearer",
        AS,
        "invalid_grant",
        400,
    )
    assert error.description == "ID-JAG already used"
    assert str(error) == (
        f"the resource AS at {AS} refused the ID-JAG: invalid_grant (ID-JAG already used)"
    )


def test_idp_refusal_names_the_idp_hop() -> None:
    world = World(Clock(), idp_status=401)
    world.idp_error = {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    with pytest.raises(TokenRequestRefused) as caught:
        make(world).get_token(RESOURCE, "chat.read")
    assert (caught.value.hop, caught.value.issuer, caught.value.status) == (
        "idp-token-exchange",
        IDP,
        401,
    )
    assert str(caught.value) == (
        f"the IdP at {IDP} refused the token exchange: "
        "invalid_client (Client authentication failed.)"
    )


def test_policy_denial_names_the_hop_too() -> None:
    world = World(Clock())
    world.as_error = {"error": "access_denied", "error_description": "not for you"}
    with pytest.raises(PolicyDenied) as caught:
        make(world).get_token(RESOURCE, "chat.read")
    assert caught.value.where == "authorization server"
    assert caught.value.hop == "resource-as-jwt-bearer" and caught.value.issuer == AS
    assert (
        str(caught.value)
        == f"the resource AS at {AS} refused the ID-JAG: access_denied (not for you)"
    )


def _error(description: str) -> HttpResponse:
    return json_response(400, {"error": "invalid_grant", "error_description": description})


def test_refusal_description_is_cleaned_of_control_characters_and_capped() -> None:
    with pytest.raises(TokenRequestRefused) as caught:
        raise_for_refusal(_error("bad\x1b[31m\nred"), hop="idp-token-exchange", issuer=IDP)
    assert caught.value.description == "bad?[31m?red"
    with pytest.raises(TokenRequestRefused) as caught:
        raise_for_refusal(_error("x" * 5000), hop="idp-token-exchange", issuer=IDP)
    assert caught.value.description is not None and len(caught.value.description) == 200


def test_refusal_without_description_says_only_the_code() -> None:
    response = json_response(400, {"error": "invalid_grant"})
    with pytest.raises(TokenRequestRefused) as caught:
        raise_for_refusal(response, hop="resource-as-jwt-bearer", issuer=AS)
    assert caught.value.description is None
    assert str(caught.value) == f"the resource AS at {AS} refused the ID-JAG: invalid_grant"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_required_scope_as_a_string_is_scopes_not_letters(mode: str) -> None:
    """``scope`` takes "a b"; so does ``required_scope`` (was: a TypeError deep in the flow,
    or a set of the string's letters)."""
    world = World(Clock(), idp_grants=frozenset({READ}))
    with pytest.raises(ScopeNotGranted) as caught:
        if mode == "sync":
            make(world).get_token(RESOURCE, "chat.read chat.write", required_scope="chat.write")
        else:
            http = httpx.AsyncClient(transport=world.transport())
            client = AsyncXAAClient(config(world.clock), session=session(world.clock), http=http)
            try:
                await client.get_token(RESOURCE, "chat.read chat.write", required_scope=WRITE)
            finally:
                await client.aclose()
    assert caught.value.missing == frozenset({WRITE})
