"""One vocabulary for the hops of the flow: every client error naming a hop uses ``HOPS``."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import xaa.client
from tests.client.client_support import AS, IDP, RESOURCE, Clock, World, config, session
from xaa import spec
from xaa._forms import encode_form
from xaa.adapters.httpx_client import XAAClient, send
from xaa.cli._token import _failure
from xaa.client import (
    HOP_DISCOVERY,
    HOP_IDP_REFRESH,
    HOP_IDP_TOKEN_EXCHANGE,
    HOP_RESOURCE_AS,
    HOP_TOKEN_REQUEST,
    HOPS,
    HopDeadlineExceeded,
    PolicyDenied,
    Request,
    ResponseTooLarge,
    ScopeNotGranted,
    TokenRequestRefused,
    TransportLimits,
)
from xaa.client._http import hop_name

READ, WRITE = "chat.read", "chat.write"


def _client(world: World) -> XAAClient:
    http = httpx.Client(transport=world.transport())
    return XAAClient(config(world.clock), session=session(world.clock), http=http)


def _raised(call: Callable[..., object], *args: Any, **kwargs: Any) -> BaseException:
    try:
        call(*args, **kwargs)
    except Exception as exc:  # the error under test, whatever its type
        return exc
    raise AssertionError("no error raised")


def _refusals() -> list[BaseException]:
    """Refusals raised by the flow at each token hop (mock IdP and AS)."""
    idp_refuses = World(Clock(), idp_status=401)
    idp_refuses.idp_error = {"error": "invalid_client"}
    as_refuses, as_denies = World(Clock()), World(Clock())
    as_refuses.as_error = {"error": "invalid_grant"}
    as_denies.as_error = {"error": "access_denied"}
    idp_narrows = World(Clock(), idp_grants=frozenset({READ}))
    as_narrows = World(Clock(), as_grants=frozenset({READ}))
    both, need_write = "chat.read chat.write", frozenset({WRITE})
    return [
        _raised(_client(idp_refuses).get_token, RESOURCE, READ),
        _raised(_client(as_refuses).get_token, RESOURCE, READ),
        _raised(_client(as_denies).get_token, RESOURCE, READ),
        _raised(_client(idp_narrows).get_token, RESOURCE, both, required_scope=need_write),
        _raised(_client(as_narrows).get_token, RESOURCE, both, required_scope=need_write),
    ]


def _requests() -> list[Request]:
    """One request of every kind a driver sends: a metadata GET and each grant's POST."""
    grants = [
        spec.GRANT_TOKEN_EXCHANGE,
        spec.GRANT_JWT_BEARER,
        spec.GRANT_REFRESH_TOKEN,
        spec.GRANT_AUTHORIZATION_CODE,
    ]
    posts = [
        Request("POST", f"{IDP}/token", body=encode_form({spec.P_GRANT_TYPE: grant}))
        for grant in grants
    ]
    return [Request("GET", f"{AS}{spec.WELL_KNOWN_OAUTH_AS}"), *posts]


def _transport_errors() -> list[BaseException]:
    """The transport errors of ``send`` at every kind of hop: too large, and too slow."""

    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2048)

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.06)
        return httpx.Response(200, content=b"{}")

    errors: list[BaseException] = []
    too_large, too_slow = TransportLimits(1024), TransportLimits(hop_deadline=0.02)
    for handler, limits in ((huge, too_large), (slow, too_slow)):
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            errors += [_raised(send, http, request, limits=limits) for request in _requests()]
    return errors


def _hop_carrying_types() -> set[type]:
    """Every exception type exported by ``xaa.client`` whose constructor takes a ``hop``."""
    found: set[type] = set()
    for name in xaa.client.__all__:
        value: Any = getattr(xaa.client, name)
        is_error = isinstance(value, type) and issubclass(value, BaseException)
        if is_error and "hop" in inspect.signature(value.__init__).parameters:
            found.add(value)
    return found


def test_every_client_error_that_names_a_hop_uses_the_one_vocabulary() -> None:
    errors = [*_refusals(), *_transport_errors()]
    assert (
        {type(error) for error in errors}
        == _hop_carrying_types()
        == {
            TokenRequestRefused,
            PolicyDenied,
            ScopeNotGranted,
            HopDeadlineExceeded,
            ResponseTooLarge,
        }
    )
    hops = [vars(error)["hop"] for error in errors]
    assert set(hops) <= HOPS
    assert set(hops) == HOPS  # every hop of the vocabulary is used by some error


def test_refusals_and_transport_errors_name_a_hop_with_the_same_word() -> None:
    refusals = _refusals()
    assert [vars(error)["hop"] for error in refusals] == [
        HOP_IDP_TOKEN_EXCHANGE,
        HOP_RESOURCE_AS,
        HOP_RESOURCE_AS,
        HOP_IDP_TOKEN_EXCHANGE,
        HOP_RESOURCE_AS,
    ]
    assert [hop_name(request) for request in _requests()] == [
        HOP_DISCOVERY,
        HOP_IDP_TOKEN_EXCHANGE,
        HOP_RESOURCE_AS,
        HOP_IDP_REFRESH,
        HOP_TOKEN_REQUEST,
    ]


@pytest.mark.parametrize("hop", sorted(HOPS))
def test_a_transport_error_message_names_its_hop(hop: str) -> None:
    assert str(HopDeadlineExceeded(hop, f"{IDP}/token", 1.0)).startswith(f"{hop} at {IDP}/token")
    assert f"{hop} at {IDP}/token: body over" in str(ResponseTooLarge(hop, f"{IDP}/token", 10))


def test_cli_one_line_failure_names_the_hop_in_the_same_words() -> None:
    late = HopDeadlineExceeded(HOP_IDP_TOKEN_EXCHANGE, f"{IDP}/token", 15.0)
    assert _failure(late) == (
        f"HopDeadlineExceeded: idp-token-exchange at {IDP}/token took longer than its 15 s deadline"
    )
    refused = _refusals()[1]
    assert isinstance(refused, TokenRequestRefused)
    assert _failure(refused).startswith(
        f"the resource AS at {AS} refused the ID-JAG: invalid_grant"
    )
