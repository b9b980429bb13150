"""AS metadata advertises only what the deployment serves (RFC 8414 §2).

The documented vendor setup (docs/resource.md "Metadata") serves jwt-bearer
only: its metadata has no ``authorization_endpoint`` and no response type.
Every endpoint URL in the reference apps' metadata answers over loopback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_idp.demo import start_idp
from reference_resource import Settings
from reference_resource.demo import running_chat
from tests.support.servers import free_port, serve
from xaa import spec
from xaa.resource import authorization_server_metadata

DOCS = Path(__file__).parents[2] / "docs" / "resource.md"
AS = "https://chat.example"


def _documented_metadata_block() -> str:
    text = DOCS.read_text()
    section = text[text.index("\n## Metadata\n") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "docs/resource.md has no python example under ## Metadata"
    return match.group(1)


def _endpoints(document: dict[str, Any]) -> dict[str, str]:
    """Every member naming a URL the server should answer at."""
    return {
        name: value
        for name, value in document.items()
        if (name.endswith("_endpoint") or name == "jwks_uri") and isinstance(value, str)
    }


def test_metadata_advertises_no_authorization_endpoint_unless_passed() -> None:
    document = authorization_server_metadata(AS).to_json()
    assert "authorization_endpoint" not in document
    assert document["response_types_supported"] == []  # RFC 8414 §2: required, none served
    assert "code_challenge_methods_supported" not in document
    served = authorization_server_metadata(
        AS,
        grant_types=(spec.GRANT_JWT_BEARER, spec.GRANT_AUTHORIZATION_CODE),
        authorization_endpoint=AS + "/oauth/authorize",
    ).to_json()
    assert served["authorization_endpoint"] == AS + "/oauth/authorize"
    assert served["response_types_supported"] == ["code"]
    assert served["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grant_types": (spec.GRANT_JWT_BEARER, spec.GRANT_AUTHORIZATION_CODE)},
        {"response_types": ("code",)},
    ],
    ids=["code-grant-without-authorization-endpoint", "response-types-without-endpoint"],
)
def test_metadata_promising_an_unserved_endpoint_refuses_to_start(kwargs: Any) -> None:
    with pytest.raises(ValueError):
        authorization_server_metadata(AS, **kwargs)


def test_documented_vendor_metadata_has_no_authorization_endpoint() -> None:
    namespace: dict[str, Any] = {"__name__": "docs_resource_metadata"}
    exec(compile(_documented_metadata_block(), str(DOCS), "exec"), namespace)
    document = namespace["document"]
    assert "authorization_endpoint" not in document
    assert "code" not in document["response_types_supported"]
    assert set(_endpoints(document)) == {"token_endpoint", "jwks_uri"}
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with serve(namespace["build_app"](issuer), port):
        served = httpx.get(issuer + spec.WELL_KNOWN_OAUTH_AS).json()
        for name, url in _endpoints(served).items():
            assert httpx.get(url).status_code != 404, name


@pytest.fixture(scope="module")
def reference_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    tmp = tmp_path_factory.mktemp("meta")
    chat, legacy = (
        Settings.make(port=free_port(), db=str(tmp / "chat.db"), replay="memory"),
        Settings.make(legacy=True, port=free_port(), db=str(tmp / "legacy.db"), replay="memory"),
    )
    with (
        start_idp(port=free_port()) as idp,
        running_chat(chat) as chat_url,
        running_chat(legacy) as legacy_url,
    ):
        yield [
            idp + spec.WELL_KNOWN_OAUTH_AS,
            idp + spec.WELL_KNOWN_OPENID,
            chat_url + spec.WELL_KNOWN_OAUTH_AS,
            chat_url + spec.WELL_KNOWN_PROTECTED_RESOURCE + "/api",
            legacy_url + spec.WELL_KNOWN_OAUTH_AS,
        ]


def test_every_endpoint_advertised_by_the_reference_apps_is_served(
    reference_apps: list[str],
) -> None:
    checked = 0
    for metadata_url in reference_apps:
        response = httpx.get(metadata_url)
        assert response.status_code == 200, metadata_url
        for name, url in _endpoints(response.json()).items():
            status = httpx.get(url).status_code
            assert status != 404, f"{metadata_url}: {name} {url} answers 404"
            checked += 1
    assert checked >= 8
