"""``xaa resource serve --config FILE`` and ``xaa resource config --template/--check``
(docs/resource-config.md): FILE:LINE errors, exit 2; OK, exit 0; the file drives the app."""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
import uvicorn
from pydantic import BaseModel

from reference_resource import create_app
from reference_resource.config import (
    ResourceAppConfig,
    check_text,
    load_config,
    settings_from_config,
    template_text,
)
from tests.resource.loopback_idp import loopback_idp
from tests.support.servers import free_port, serve
from xaa import SigningKey, make_client_assertion, spec
from xaa.cli import main as xaa_main

ROOT = Path(__file__).parents[2]
RAW_TEMPLATE = template_text()
# The template with its CHANGE ME values replaced, as a deployer starts from it.
TEMPLATE = RAW_TEMPLATE.replace('"CHANGE ME"', '"a-replaced-value"')
AGENT_KEY = SigningKey.generate("ES256", kid="both-1")


def models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every model its fields hold."""
    yield model
    for field in model.model_fields.values():
        for kind in (field.annotation, *get_args(field.annotation)):
            for inner in (kind, *get_args(kind)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from models(inner)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = xaa_main(["resource", "config", *args])
    out, err = capsys.readouterr()
    return code, out, err


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str]:
    path = tmp_path / "chat.toml"
    path.write_text(text)
    code, _, err = run(capsys, "--check", str(path))
    return code, err.replace(str(path), "FILE")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_template_passes_check_with_one_ok_line_once_its_placeholders_are_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--template")
    assert code == 0 and out == RAW_TEMPLATE
    path = tmp_path / "chat.toml"
    path.write_text(TEMPLATE)
    code, out, err = run(capsys, "--check", str(path))
    assert (code, err) == (0, "")
    assert out == (
        f"{path}: OK (issuer https://chat.example, 1 trusted IdPs, 2 clients,"
        " resources /api, /mcp)\n"
    )


def test_template_and_docs_document_every_key() -> None:
    commented = "\n".join(line.lstrip("# ") for line in TEMPLATE.splitlines())
    page = (ROOT / "docs" / "resource-config.md").read_text()
    for model in models(ResourceAppConfig):
        for name in model.model_fields:
            shown = rf"(^|[\[.]){name}( =|\]|\.)"
            assert re.search(shown, commented, re.M), f"template: {model.__name__}.{name}"
            assert f"`{name}`" in page, f"docs: {model.__name__}.{name}"


def test_resource_config_page_is_in_the_mkdocs_nav() -> None:
    assert "resource-config.md" in (ROOT / "mkdocs.yml").read_text()


def test_unknown_key_names_its_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace('client_id = "wiki-at-chat"', 'client_id = "wiki-at-chat"\nowner = "x"')
    code, err = check(tmp_path, capsys, text)
    assert code == 2
    assert err == f"FILE:{line_of(text, 'owner = ')}: clients[0].owner: unknown key (a typo?)\n"


def test_wrong_value_and_cross_references_name_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace("access_token_lifetime = 900", "access_token_lifetime = 0  ")
    code, err = check(tmp_path, capsys, text)
    line = line_of(text, "access_token_lifetime = 0")
    assert code == 2 and err.startswith(f"FILE:{line}: access_token_lifetime: Input should be")
    text = TEMPLATE.replace('client_id = "agent-at-chat"', 'client_id = "wiki-at-chat"')
    text = text.replace(
        'scopes = ["chat.read", "chat.write"]\nactors', 'scopes = ["chat.rw"]\nactors'
    )
    code, err = check(tmp_path, capsys, text)
    second = [i for i, s in enumerate(text.splitlines(), 1) if 'client_id = "wiki-at-chat"' in s][1]
    assert code == 2 and err.splitlines() == [
        f"FILE:{second}: clients[1].client_id: 'wiki-at-chat' is configured twice",
        f"FILE:{line_of(text, 'chat.rw')}: clients[1].scopes: 'chat.rw' is no resource's scope",
    ]


def test_a_client_method_without_its_credential_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TEMPLATE.replace('jwks_uri = "https://agent.example/jwks.json"', "")
    code, err = check(tmp_path, capsys, text)
    table = [i for i, s in enumerate(text.splitlines(), 1) if s == "[[clients]]"][1]
    assert code == 2
    assert err == (
        f"FILE:{table}: clients[1]: private_key_jwt needs jwks or jwks_uri, and only it uses them\n"
    )


def test_syntax_error_carries_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(tmp_path, capsys, 'issuer = "x"\n\ndb = \n') == (
        2,
        "FILE:3: TOML syntax: Invalid value\n",
    )


def test_config_needs_template_or_check(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        xaa_main(["resource", "config"])


def toml_inline(value: Any) -> str:
    """A TOML inline value (tables, arrays, strings)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_inline(v) for v in value) + "]"
    return json.dumps(value)


def config_text(idp: str, issuer: str, db: Path, resources: str = '"/api", "/mcp"') -> str:
    jwks = toml_inline({"keys": [AGENT_KEY.public_jwk()]})
    paths = "\n".join(
        f'[[resources]]\npath = {p.strip()}\nscopes = ["chat.read", "chat.write"]\n'
        for p in resources.split(",")
    )
    return f"""
issuer = "{issuer}"
db = "{db}"
replay = "memory"

[[trusted_idps]]
issuer = "{idp}"
authoritative_email_domains = ["acme.example"]

[[clients]]
client_id = "both-at-chat"
auth_methods = ["client_secret_basic", "private_key_jwt"]
secret = "both-secret"
jwks = {jwks}
scopes = ["chat.read"]

{paths}
"""


def test_serve_with_config_uses_the_file_and_flags_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chat.toml"
    path.write_text(config_text("https://idp.example", "http://127.0.0.1:9555", tmp_path / "c.db"))
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    assert xaa_main(["resource", "serve", "--config", str(path)]) == 0
    assert xaa_main(["resource", "serve", "--config", str(path), "--port", "9556"]) == 0
    (first, first_kw), (_, second_kw) = served
    assert first.state.settings.issuer == "http://127.0.0.1:9555" and first_kw["port"] == 9555
    assert first.state.settings.trusted_idps == ("https://idp.example",)
    assert second_kw["port"] == 9556


def test_serve_refuses_trust_flags_mixed_with_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chat.toml"
    path.write_text(config_text("https://idp.example", "http://127.0.0.1:9555", tmp_path / "c.db"))
    args = ["resource", "serve", "--config", str(path), "--trust-idp", "https://other.example"]
    assert xaa_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot be mixed with --config" in err


def test_configured_app_accepts_each_listed_method_and_refuses_others(tmp_path: Path) -> None:
    with loopback_idp() as idp:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        path = tmp_path / "chat.toml"
        path.write_text(config_text(idp.issuer, issuer, tmp_path / "c.db", '"/api"'))
        app = create_app(settings_from_config(load_config(path)))
        with serve(app, port), httpx.Client(base_url=issuer) as http:
            grant = {"grant_type": spec.GRANT_JWT_BEARER}
            basic = http.post(
                "/token",
                data={**grant, "assertion": idp.id_jag(issuer, "both-at-chat")},
                auth=("both-at-chat", "both-secret"),
            )
            assertion = make_client_assertion(
                "both-at-chat", AGENT_KEY, audience=issuer, now=time.time()
            )
            keyed = http.post(
                "/token",
                data={
                    **grant,
                    "assertion": idp.id_jag(issuer, "both-at-chat"),
                    "client_assertion_type": spec.CLIENT_ASSERTION_TYPE_JWT_BEARER,
                    "client_assertion": assertion,
                },
            )
            posted = http.post(
                "/token",
                data={
                    **grant,
                    "assertion": idp.id_jag(issuer, "both-at-chat"),
                    "client_id": "both-at-chat",
                    "client_secret": "both-secret",
                },
            )
            mcp = http.post("/mcp", json={})
            metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert basic.status_code == 200 and keyed.status_code == 200, (basic.text, keyed.text)
    assert basic.json()["scope"] == "chat.read"  # the client's configured scopes
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"
    assert posted.headers["cache-control"] == "no-store"
    assert mcp.status_code == 404  # /mcp left out of [[resources]]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "private_key_jwt",
    ]


def test_template_loads_into_settings() -> None:
    assert check_text(TEMPLATE) == []
    jwks = toml_inline({"keys": [AGENT_KEY.public_jwk()]})
    text = TEMPLATE.replace('jwks_uri = "https://agent.example/jwks.json"', f"jwks = {jwks}")
    settings = settings_from_config(ResourceAppConfig.model_validate(tomllib.loads(text)))
    assert settings.mcp_scopes == ("chat.read", "chat.write") and settings.port == 443


def test_template_fails_check_until_its_change_me_values_are_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The template passed --check, and served, with client secrets and a password
    'CHANGE ME' (public in the repository); docs/resource-config.md shows the lines."""
    path = tmp_path / "chat.toml"
    path.write_text(RAW_TEMPLATE)
    assert xaa_main(["resource", "config", "--check", str(path)]) == 2
    err = capsys.readouterr().err.replace(str(path), "chat.toml")
    page = (Path(__file__).parents[2] / "docs" / "resource-config.md").read_text()
    block = page.split("are\nreplaced", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert err == block and err.count("\n") == 3
