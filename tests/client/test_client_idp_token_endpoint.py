"""An IdP token endpoint handed to the client (IdpConfig.token_endpoint, --idp-token-endpoint)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.client.client_support import IDP, RESOURCE, Clock, World, config, session
from tests.client.reference_stacks import reference_stack
from xaa import ConfigurationError, ProtocolViolation, spec
from xaa.adapters.httpx_client import XAAClient
from xaa.cli import main
from xaa.client import ClientCredentials, IdpConfig, TokenRequestRefused

CREDENTIALS = ClientCredentials.secret_basic("agent", "agent-secret")
IDP_METADATA = IDP + spec.WELL_KNOWN_OAUTH_AS


def explicit(world: World, issuer: str = IDP) -> XAAClient:
    base = config(world.clock)
    idp = replace(base.idp, issuer=issuer, token_endpoint=IDP + "/token")
    http = httpx.Client(transport=world.transport())
    return XAAClient(replace(base, idp=idp), session=session(world.clock), http=http)


def test_explicit_idp_token_endpoint_skips_discovery() -> None:
    world = World(Clock())
    world.idp_meta = {"token_endpoint": "https://elsewhere.example/token"}  # never read
    token = explicit(world).get_token(RESOURCE, "chat.read")
    assert token.scopes == frozenset({"chat.read"})
    assert world.count(IDP_METADATA) == 0 and world.count(IDP + "/token") == 1


def test_explicit_idp_token_endpoint_keeps_the_issuer_check() -> None:
    world = World(Clock())
    with pytest.raises(ProtocolViolation) as caught:
        explicit(world, issuer="https://other-idp.example").get_token(RESOURCE, "chat.read")
    assert caught.value.rule == "id-jag-iss"


def test_discovery_stays_the_default() -> None:
    world = World(Clock())
    http = httpx.Client(transport=world.transport())
    XAAClient(config(world.clock), session=session(world.clock), http=http).get_token(
        RESOURCE, "chat.read"
    )
    assert world.count(IDP_METADATA) == 1


@pytest.mark.parametrize(
    "endpoint",
    ["http://idp.example/token", "ftp://idp.example/token", "https:///token", "/token"],
)
def test_explicit_idp_token_endpoint_must_be_https_unless_loopback(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        IdpConfig(IDP, CREDENTIALS, token_endpoint=endpoint)


@pytest.mark.parametrize(
    "endpoint", ["https://idp.example/token", "http://127.0.0.1:8/token", "http://[::1]:8/t"]
)
def test_explicit_idp_token_endpoint_accepted(endpoint: str) -> None:
    assert IdpConfig(IDP, CREDENTIALS, token_endpoint=endpoint).token_endpoint == endpoint


def _argv(idp: str, endpoint: str, api: str, token_file: Path) -> list[str]:
    return [
        "token",
        "--idp", idp,
        "--idp-token-endpoint", endpoint,
        "--idp-client-id", "wiki",
        "--idp-client-secret", "wiki-secret",
        "--subject-token-file", str(token_file),
        "--resource", api,
        "--authorization-server", api.removesuffix("/api"),
        "--client-id", "wiki-at-chat",
        "--client-secret", "wiki-chat-secret",
        "--scope", "chat.read",
        "--json",
    ]  # fmt: skip


@pytest.mark.e2e
def test_cli_idp_token_endpoint_against_the_reference_idp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xaa.adapters.httpx_login import login_with_password

    with reference_stack(tmp_path) as stack, httpx.Client() as http:
        wiki = ClientCredentials.secret_basic("wiki", "wiki-secret")
        login = login_with_password(
            http, stack.idp, wiki, "alice", "alice", "http://127.0.0.1:9700/callback"
        )
        assert login.id_token is not None
        token_file = tmp_path / "id_token.jwt"
        token_file.write_text(login.id_token)
        assert main(_argv(stack.idp, stack.idp + "/token", stack.api, token_file)) == 0
    assert '"granted_scope": "chat.read"' in capsys.readouterr().out


def test_cli_idp_token_endpoint_not_https_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "id_token.jwt"
    token_file.write_text("x")
    argv = _argv(IDP, "http://idp.example/token", "https://as.example/api", token_file)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "https" in err[0]
    # one line the user reads: the option's problem, not the exception's class name
    assert err[0].startswith("xaa token: IdpConfig.token_endpoint: ")


def test_refusal_at_a_handed_idp_token_endpoint_names_that_endpoint() -> None:
    """A handed endpoint on another origin than the issuer (a wrong ``--idp-token-endpoint``):
    the refusal names the URL that answered, not only the issuer it was configured for."""
    world = World(Clock())
    world.idp_error = {"error": "invalid_client", "error_description": "Unknown client."}
    with pytest.raises(TokenRequestRefused) as caught:
        explicit(world, issuer="https://other-idp.example").get_token(RESOURCE, "chat.read")
    assert caught.value.endpoint == IDP + "/token"
    assert str(caught.value) == (
        f"the IdP at https://other-idp.example (its token endpoint {IDP}/token) refused the "
        "token exchange: invalid_client (Unknown client.)"
    )


def test_refusal_at_the_discovered_idp_token_endpoint_names_only_the_issuer() -> None:
    world = World(Clock())
    world.idp_error = {"error": "invalid_client"}
    with pytest.raises(TokenRequestRefused) as caught:
        explicit(world).get_token(RESOURCE, "chat.read")
    assert str(caught.value) == f"the IdP at {IDP} refused the token exchange: invalid_client"
