"""End to end over loopback with the demo configuration: SAML login at the reference IdP
(real login form, HTTP-POST binding), assertion -> refresh token -> ID-JAG -> access token
-> chat API call, through the ``xaa`` client, the CLI and the demo script."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from lxml import etree

from demo.saml import run_saml_demo
from reference_idp.app import create_app as create_idp
from reference_idp.config import load_config
from reference_idp.store import Store
from tests.saml_e2e.saml_stack import DemoStack, demo_idp_config, demo_stack
from tests.support.servers import free_port, serve
from xaa import spec
from xaa.adapters.httpx_client import XAAClient
from xaa.adapters.httpx_login import login_with_saml
from xaa.adapters.saml import MD, SAML, assertion_from_response
from xaa.cli import main
from xaa.client import ClientConfig, ClientCredentials, IdpConfig, saml_session

pytestmark = pytest.mark.e2e

SP = "wiki-saml"
ACS = "http://127.0.0.1:9700/saml/acs"
WIKI = ClientCredentials.secret_basic("wiki", "wiki-secret")
WIKI_AT_CHAT = ClientCredentials.secret_basic("wiki-at-chat", "wiki-chat-secret")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    with demo_stack(tmp_path) as running:
        yield running


def signed_assertion(http: httpx.Client, stack: DemoStack) -> bytes:
    login = login_with_saml(http, stack.idp, SP, "alice", "alice")
    assert login.acs == ACS
    return assertion_from_response(login.saml_response)


def test_saml_login_refresh_token_id_jag_access_token_chat(stack: DemoStack) -> None:
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        assertion = signed_assertion(http, stack)
        root = etree.fromstring(assertion)
        assert root.findtext(f".//{{{SAML}}}NameID") == "alice@acme.example"
        assert root.findtext(f".//{{{SAML}}}Audience") == SP
        values = {a.get("Name"): [v.text for v in a] for a in root.iter(f"{{{SAML}}}Attribute")}
        assert values == {"email": ["alice@acme.example"], "groups": ["engineering"]}
        assert b"xmldsig-more#rsa-sha256" in assertion and b"xml-exc-c14n#" in assertion

        session = saml_session(base64.urlsafe_b64encode(assertion).rstrip(b"=").decode())
        config = ClientConfig(IdpConfig(stack.idp, WIKI), {stack.chat: WIKI_AT_CHAT})
        client = XAAClient(config, session=session, http=http)
        token = client.get_token(stack.chat + "/api", "chat.read chat.history")
        # the assertion was used once and dropped; the IdP refresh token is kept
        assert session.id_token is None and session.refresh_token
        kept = session.refresh_token
        api = http.get(
            stack.chat + "/api/channels", headers={"authorization": token.authorization()}
        )
        assert api.status_code == 200, api.text
        # a later ID-JAG (another scope) comes from the same refresh token, no new SAML login
        write = client.get_token(stack.chat + "/api", "chat.write")
        assert write.token != token.token and session.refresh_token == kept
        posted = http.post(
            stack.chat + "/api/channels/general/messages",
            headers={"authorization": write.authorization()},
            json={"text": "hello from SAML"},
        )
        assert posted.status_code in (200, 201), posted.text


def test_second_sso_uses_the_live_session(stack: DemoStack) -> None:
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        signed_assertion(http, stack)
        again = http.get(f"{stack.idp}/saml/sso", params={"sp": SP, "RelayState": "r<1>"})
        assert again.status_code == 200 and "SAMLResponse" in again.text
        assert 'name="RelayState" value="r&lt;1&gt;"' in again.text


@pytest.mark.parametrize(
    "params",
    [
        {"sp": "unknown-sp"},
        {},
        {"sp": SP, "acs": "https://evil.example/acs"},
        {"sp": SP, "RelayState": "r" * 81},
    ],
)
def test_sso_refuses_unknown_sp_or_acs(stack: DemoStack, params: dict[str, str]) -> None:
    response = httpx.get(f"{stack.idp}/saml/sso", params=params)
    assert response.status_code == 400
    assert "SAMLResponse" not in response.text and "password" not in response.text


def test_sso_login_for_an_unknown_sp_says_what_to_check(stack: DemoStack) -> None:
    """It said only "the SSO page ... answered HTTP 400" (``xaa token --saml-sp``)."""
    from xaa import ProtocolViolation

    unknown = "https://unknown-sp.example"
    with (
        httpx.Client(follow_redirects=False, timeout=10) as http,
        pytest.raises(ProtocolViolation) as caught,
    ):
        login_with_saml(http, stack.idp, unknown, "alice", "alice")
    assert "HTTP 400" in str(caught.value)
    assert "'https://unknown-sp.example' a service provider the IdP knows?" in str(caught.value)


def test_wrong_password_gets_no_assertion(stack: DemoStack) -> None:
    from xaa import ProtocolViolation, SignInFailed

    with httpx.Client(follow_redirects=False, timeout=10) as http, pytest.raises(SignInFailed) as e:
        login_with_saml(http, stack.idp, SP, "alice", "wrong")
    assert not isinstance(e.value, ProtocolViolation)  # a wrong password breaks no protocol


def metadata_certificate(url: str) -> bytes:
    response = httpx.get(url + "/saml/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/samlmetadata+xml")
    root = etree.fromstring(response.content)
    assert root.get("entityID") == url + "/saml"
    descriptor = root.find(f"{{{MD}}}IDPSSODescriptor")
    assert descriptor is not None
    sso = descriptor.find(f"{{{MD}}}SingleSignOnService")
    assert sso is not None and sso.get("Location") == url + "/saml/sso"
    text = root.findtext(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")
    assert text
    return base64.b64decode(text)


def test_metadata_certificate_signs_assertions_and_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = load_config(demo_idp_config(tmp_path, url, "http://127.0.0.1:9500"))
    store = Store(tmp_path / "idp.sqlite3")
    with serve(create_idp(config, store), port):
        first = metadata_certificate(url)
        with httpx.Client(follow_redirects=False, timeout=10) as http:
            login = login_with_saml(http, url, SP, "alice", "alice")
        signed_cert = etree.fromstring(assertion_from_response(login.saml_response)).findtext(
            ".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate"
        )
        assert signed_cert and base64.b64decode(signed_cert) == first
    store.close()
    store = Store(tmp_path / "idp.sqlite3")
    with serve(create_idp(config, store), port):
        assert metadata_certificate(url) == first
    store.close()
    cert = x509.load_der_x509_certificate(first)
    assert cert.public_key().key_size >= 2048  # type: ignore[union-attr]


def test_cli_token_from_an_assertion_file(
    stack: DemoStack, capsys: pytest.CaptureFixture[str]
) -> None:
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        login = login_with_saml(http, stack.idp, SP, "alice", "alice")
    path = stack.tmp / "saml-response.txt"
    path.write_text(login.saml_response)
    code = main(
        [
            "token",
            "--idp", stack.idp,
            "--idp-client-id", "wiki",
            "--idp-client-secret", "wiki-secret",
            "--saml-assertion-file", str(path),
            "--resource", stack.chat + "/api",
            "--authorization-server", stack.chat,
            "--client-id", "wiki-at-chat",
            "--client-secret", "wiki-chat-secret",
            "--scope", "chat.read",
            "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out)["scope"] == "chat.read"


def test_cli_token_with_saml_login(stack: DemoStack, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "token",
            "--idp", stack.idp,
            "--idp-client-id", "wiki",
            "--idp-client-secret", "wiki-secret",
            "--login", "alice:alice",
            "--saml-sp", SP,
            "--resource", stack.chat + "/api",
            "--authorization-server", stack.chat,
            "--client-id", "wiki-at-chat",
            "--client-secret", "wiki-chat-secret",
            "--scope", "chat.read",
            "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out)["token_type"].lower() == "bearer"


def test_cli_assertion_file_with_xml(stack: DemoStack, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        assertion = signed_assertion(http, stack)
    path = stack.tmp / "assertion.xml"
    path.write_bytes(assertion)
    args = [
        "token", "--idp", stack.idp, "--idp-client-id", "wiki", "--idp-client-secret",
        "wiki-secret", "--saml-assertion-file", str(path), "--resource", stack.chat + "/api",
        "--authorization-server", stack.chat, "--client-id", "wiki-at-chat",
        "--client-secret", "wiki-chat-secret", "--scope", "chat.read",
    ]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 1  # the same assertion again: single use, refused
    assert "ReauthenticationRequired" in capsys.readouterr().err


def test_run_saml_demo(stack: DemoStack, capsys: pytest.CaptureFixture[str]) -> None:
    # the demo configuration names the chat AS http://127.0.0.1:9500; the stack rewrote it
    run_saml_demo(stack.idp, stack.chat)
    out = capsys.readouterr().out
    for step in ("1. alice signs in", "2. the signed assertion", "3. the wiki exchanges",
                 "4. the refresh token", "5. the chat AS", "-> HTTP 200"):  # fmt: skip
        assert step in out
    assert spec.TOKEN_TYPE_REFRESH_TOKEN in out and "<saml2:NameID" in out


def test_name_id_format_is_configurable(tmp_path: Path) -> None:
    """``name_id_format = "persistent"``: the NameID is the username, and it maps back."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path = demo_idp_config(tmp_path, url, "http://127.0.0.1:9500")
    path.write_text(
        path.read_text().replace('name_id_format = "email"', 'name_id_format = "persistent"')
    )
    store = Store(tmp_path / "idp.sqlite3")
    try:
        with serve(create_idp(load_config(path), store), port), httpx.Client(timeout=10) as http:
            login = login_with_saml(http, url, SP, "bob", "bob")
            name_id = etree.fromstring(assertion_from_response(login.saml_response)).find(
                f".//{{{SAML}}}NameID"
            )
            assert name_id is not None and name_id.text == "bob"
            assert name_id.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
            response = http.post(
                url + "/token",
                auth=("wiki", "wiki-secret"),
                data={
                    "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                    "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
                    "scope": "openid offline_access",
                    "subject_token": login.subject_token(),
                    "subject_token_type": spec.TOKEN_TYPE_SAML2,
                },
            )
            assert response.status_code == 200, response.text
    finally:
        store.close()


def test_sso_refusals_are_typed_and_shown_as_a_400_page(stack: DemoStack) -> None:
    """The SAML IdP's begin step raises SsoRefused (no error strings told apart by type);
    the page shows its message with status 400."""
    cases = [
        ({"sp": "https://unknown-sp.example"}, "Unknown SAML service provider."),
        ({"sp": SP, "acs": "https://evil.example/acs"}, "Unknown assertion consumer service URL."),
    ]
    for params, message in cases:
        page = httpx.get(stack.idp + "/saml/sso", params=params)
        assert page.status_code == 400 and message in page.text
