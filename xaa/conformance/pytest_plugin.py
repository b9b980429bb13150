"""Run the conformance cases inside a vendor's own pytest suite, one test per case.

Enable it (``pytest_plugins = ["xaa.conformance.pytest_plugin"]`` in the root
``conftest.py``), define a fixture that returns the target, and generate the tests::

    from xaa.conformance import ClientCredentials, ResourceAsTarget
    from xaa.conformance.pytest_plugin import resource_as_tests

    @pytest.fixture(scope="session")
    def my_resource_as(xaa_test_idp, xaa_serve):
        url = xaa_serve(lambda base: create_app(issuer=base, trust_idp=xaa_test_idp.url))
        return ResourceAsTarget(url, ClientCredentials("client", secret="secret"))

    test_xaa_resource_as = resource_as_tests("my_resource_as", skip=["extra-keys"])

``idp_tests("my_idp")`` takes a fixture returning an ``IdpTarget``;
``client_tests("my-client --flag")`` runs a client command against mocks.

``xaa_serve`` runs an ASGI app on 127.0.0.1 (an ephemeral port) and returns its
URL; a target may as well point at any URL. MUST, SHOULD and best-practice
failures all fail the test; leave out what you do not want with ``skip``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

import httpx
import pytest

from . import _client as client_suite
from . import _idp as idp_suite
from . import _resource_as as ras_suite
from ._client_mocks import mock_world
from ._registry import Case, Suite
from ._runner import Outcome, Result, run_case
from ._serving import free_port, serve_in_thread
from ._test_idp import TestIdp, running_test_idp

T = TypeVar("T")

__all__ = [
    "Serve",
    "client_tests",
    "idp_tests",
    "resource_as_tests",
    "xaa_contexts",
    "xaa_http",
    "xaa_serve",
    "xaa_test_idp",
]

Serve = Callable[[Callable[[str], Any]], str]


@pytest.fixture(scope="session")
def xaa_test_idp() -> Iterator[TestIdp]:
    """The test IdP, serving on an ephemeral loopback port for the whole session."""
    with running_test_idp(f"http://127.0.0.1:{free_port()}") as idp:
        yield idp


@pytest.fixture(scope="session")
def xaa_serve() -> Iterator[Serve]:
    """``serve(factory)``: serves the ASGI app ``factory(base_url)`` until the session ends."""
    with contextlib.ExitStack() as stack:

        def serve(factory: Callable[[str], Any]) -> str:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            return stack.enter_context(serve_in_thread(factory(base), "127.0.0.1", port))

        yield serve


@pytest.fixture(scope="session")
def xaa_contexts() -> Iterator[dict[str, Any]]:
    """Suite contexts by target: metadata, ID tokens and client mocks are set up once."""
    contexts: dict[str, Any] = {}
    yield contexts
    mocks = contexts.get("client:mocks")
    if mocks is not None:
        mocks.close()


@pytest.fixture(scope="session")
def xaa_http() -> Iterator[httpx.Client]:
    """The HTTP client of the cases (no redirects)."""
    with httpx.Client(timeout=15, follow_redirects=False) as http:
        yield http


def _settle(result: Result[Any]) -> None:
    if result.outcome is Outcome.SKIP:
        pytest.skip(result.message)
    if result.broken:
        case = result.case
        pytest.fail(f"{case.level} {case.section}: {result.message}\nrisk: {case.risk}")


def _ids(cases: Iterable[Case[Any]]) -> list[str]:
    return [c.id for c in cases]


def _suite_tests(
    suite: Suite[T],
    key: str,
    make_context: Callable[[pytest.FixtureRequest, httpx.Client], T],
    happy_path: Callable[[T], None],
    *,
    only: Iterable[str],
    skip: Iterable[str],
) -> Callable[..., None]:
    """A test function parametrized over the selected cases of ``suite``; the context is
    made once per ``key`` and kept for the session."""
    cases = suite.select(only, skip)

    @pytest.mark.parametrize("xaa_case", cases, ids=_ids(cases))
    def test_xaa_suite(
        xaa_case: Case[T],
        xaa_http: httpx.Client,
        xaa_contexts: dict[str, Any],
        request: pytest.FixtureRequest,
    ) -> None:
        if key not in xaa_contexts:
            xaa_contexts[key] = make_context(request, xaa_http)
        _settle(run_case(xaa_case, xaa_contexts[key], happy_path))

    return cast(Callable[..., None], test_xaa_suite)


def resource_as_tests(
    target_fixture: str, *, only: Iterable[str] = (), skip: Iterable[str] = ()
) -> Callable[..., None]:
    """A test function parametrized over the resource-AS cases (one test per case id)."""

    def make(request: pytest.FixtureRequest, http: httpx.Client) -> ras_suite.ResourceAsContext:
        target = request.getfixturevalue(target_fixture)
        idp: TestIdp = request.getfixturevalue("xaa_test_idp")
        return ras_suite.ResourceAsContext(target, idp, http)

    key = f"resource-as:{target_fixture}"
    return _suite_tests(
        ras_suite.RESOURCE_AS, key, make, ras_suite.happy_path, only=only, skip=skip
    )


def idp_tests(
    target_fixture: str, *, only: Iterable[str] = (), skip: Iterable[str] = ()
) -> Callable[..., None]:
    """A test function parametrized over the IdP cases (one test per case id)."""

    def make(request: pytest.FixtureRequest, http: httpx.Client) -> idp_suite.IdpContext:
        return idp_suite.IdpContext(request.getfixturevalue(target_fixture), http)

    key = f"idp:{target_fixture}"
    return _suite_tests(idp_suite.IDP, key, make, idp_suite.happy_path, only=only, skip=skip)


def client_tests(
    command: str, *, only: Iterable[str] = (), skip: Iterable[str] = ()
) -> Callable[..., None]:
    """A test function parametrized over the client cases: ``command`` runs the client
    (see :mod:`xaa.conformance._client` for its environment)."""
    cases = client_suite.CLIENT.select(only, skip)

    @pytest.mark.parametrize("xaa_case", cases, ids=_ids(cases))
    def test_xaa_client(
        xaa_case: Case[client_suite.ClientContext], xaa_contexts: dict[str, Any]
    ) -> None:
        key = f"client:{command}"
        if key not in xaa_contexts:
            stack = xaa_contexts.setdefault("client:mocks", contextlib.ExitStack())
            world = stack.enter_context(mock_world())
            xaa_contexts[key] = client_suite.ClientContext(
                client_suite.ClientTarget(command), world
            )
        _settle(run_case(xaa_case, xaa_contexts[key], client_suite.happy_path))

    return cast(Callable[..., None], test_xaa_client)
