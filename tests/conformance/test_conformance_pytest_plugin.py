"""The pytest plugin, used the way a vendor would: one test per case, against an ASGI app
served by ``xaa_serve`` (resource AS), a URL (the reference IdP) and a command (``xaa token``)."""

from __future__ import annotations

import pytest

from tests.conformance.conformance_apps import CLIENT, SECRET, XAA_TOKEN, resource_as_app
from xaa.conformance import ClientCredentials, IdpTarget, ResourceAsTarget, TestIdp
from xaa.conformance.pytest_plugin import Serve, client_tests, idp_tests, resource_as_tests

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def my_resource_as(xaa_test_idp: TestIdp, xaa_serve: Serve) -> ResourceAsTarget:
    url = xaa_serve(lambda base: resource_as_app(base, xaa_test_idp.url))
    credentials = ClientCredentials(CLIENT, secret=SECRET)
    return ResourceAsTarget(url, credentials, resource=url + "/api", scope="chat.read")


@pytest.fixture(scope="session")
def my_idp(reference_idp: str) -> IdpTarget:
    return IdpTarget(
        reference_idp,
        ClientCredentials("wiki", secret="wiki-secret"),
        "http://127.0.0.1:9500",
        login=("alice", "alice"),
        redirect_uri="http://127.0.0.1:9700/callback",
        expect_client_id="wiki-at-chat",
    )


test_xaa_resource_as = resource_as_tests(
    "my_resource_as", skip=["ras-response-reflects-granted-scope"]
)
test_xaa_idp = idp_tests(
    "my_idp",
    skip=[
        "private-key-jwt",
        "idp-rejects-id-token-of-another-client",
        "idp-rejects-refresh-token-of-another-client",
    ],
)
test_xaa_client = client_tests(XAA_TOKEN, only=["happy", "client-rejects-200-with-error-body"])
