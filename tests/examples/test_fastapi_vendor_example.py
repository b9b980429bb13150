"""examples/fastapi_vendor end to end: reference IdPs on free ports -> ID-JAG -> the
example's token endpoint -> its protected notes routes; a restart keeps the AS key; an
untrusted IdP is refused."""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.fastapi_vendor.app import Settings, create_app
from reference_idp import Store
from reference_idp import create_app as create_idp
from reference_idp.config import IdpConfig
from xaa import basic_header, encode_form, spec
from xaa.adapters.httpx_login import login_with_password
from xaa.adapters.serving import free_port, serve_in_thread
from xaa.client import ClientCredentials

pytestmark = pytest.mark.e2e

WIKI = ClientCredentials.secret_basic("wiki", "wiki-secret")
WIKI_REDIRECT = "http://127.0.0.1:9700/callback"  # registered at the IdP, never fetched
CLIENT, SECRET = "wiki-at-notes", "notes-secret"


IDP_TOML = Path(__file__).parents[2] / "examples" / "fastapi_vendor" / "idp.toml"


def idp_config(issuer: str, vendor: str) -> IdpConfig:
    """The README's reference IdP configuration (``examples/fastapi_vendor/idp.toml``),
    issuing ID-JAGs for the notes app at ``vendor`` instead of http://127.0.0.1:8000."""
    text = IDP_TOML.read_text("utf-8").replace("http://127.0.0.1:8000", vendor)
    return IdpConfig.model_validate(tomllib.loads(text)).with_issuer(issuer)


@contextlib.contextmanager
def idp(vendor: str) -> Iterator[str]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with serve_in_thread(create_idp(idp_config(issuer, vendor), Store(":memory:")), port=port):
        yield issuer


@contextlib.contextmanager
def vendor_app(data_dir: Path, issuer: str, trusted: list[str]) -> Iterator[Any]:
    app = create_app(Settings(issuer, data_dir, trusted))
    app.state.db.add_client(CLIENT, SECRET)
    port = int(issuer.rsplit(":", 1)[1])
    with serve_in_thread(app, port=port):
        yield app


def id_jag(
    idp_issuer: str, vendor: str, user: str = "alice", scope: str = "notes.read notes.write"
) -> str:
    """``user`` signs in to wiki at ``idp_issuer``; wiki exchanges the ID token (draft §4.3)."""
    with httpx.Client(timeout=10) as http:
        session = login_with_password(http, idp_issuer, WIKI, user, user, WIKI_REDIRECT)
        form = {
            "grant_type": spec.GRANT_TOKEN_EXCHANGE,
            "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
            "audience": vendor,
            "resource": f"{vendor}/notes",
            "subject_token": session.id_token,
            "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
            **({"scope": scope} if scope else {}),
        }
        answer = http.post(
            f"{idp_issuer}/token",
            content=encode_form(form),
            headers={"authorization": basic_header("wiki", "wiki-secret"),
                     "content-type": spec.MEDIA_TYPE_FORM},
        )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def redeem(vendor: str, assertion: str, secret: str = SECRET) -> httpx.Response:
    """The jwt-bearer grant at the example's token endpoint (draft §4.4)."""
    form = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion}
    return httpx.post(
        f"{vendor}/token",
        content=encode_form(form),
        headers={"authorization": basic_header(CLIENT, secret),
                 "content-type": spec.MEDIA_TYPE_FORM},
    )  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def notes_round_trip(vendor: str, acme: str) -> None:
    """What a WSGI notes example must do (Flask, Django): redeem an ID-JAG (200, no-store),
    write and list a note attributed to the client and the IdP, refuse bob's read-only token
    a write (403 insufficient_scope), and challenge a request without a token (401 with the
    resource metadata)."""
    answer = redeem(vendor, id_jag(acme, vendor))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json()["access_token"]
    created = httpx.post(f"{vendor}/notes", json={"text": "hi"}, headers=bearer(token))
    assert created.status_code == 201, created.text
    notes = httpx.get(f"{vendor}/notes", headers=bearer(token)).json()
    assert [(n["text"], n["via_client"], n["via_idp"]) for n in notes] == [("hi", CLIENT, acme)]
    reader = redeem(vendor, id_jag(acme, vendor, user="bob")).json()  # read only
    denied = httpx.post(
        f"{vendor}/notes", json={"text": "x"}, headers=bearer(reader["access_token"])
    )
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
    missing = httpx.get(f"{vendor}/notes")
    assert missing.status_code == 401
    assert "resource_metadata=" in missing.headers["www-authenticate"]


@pytest.fixture
def vendor() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_id_jag_from_either_trusted_idp_opens_the_notes_api(tmp_path: Path, vendor: str) -> None:
    with idp(vendor) as acme, idp(vendor) as globex, vendor_app(tmp_path, vendor, [acme, globex]):
        answer = redeem(vendor, id_jag(acme, vendor))
        assert answer.status_code == 200, answer.text
        token = answer.json()
        assert token["token_type"] == "Bearer" and set(token["scope"].split()) == {
            "notes.read", "notes.write",
        }  # fmt: skip
        created = httpx.post(
            f"{vendor}/notes", json={"text": "hello"}, headers=bearer(token["access_token"])
        )
        assert created.status_code == 201, created.text
        notes = httpx.get(f"{vendor}/notes", headers=bearer(token["access_token"])).json()
        assert [(n["text"], n["via_client"], n["via_idp"]) for n in notes] == [
            ("hello", CLIENT, acme)
        ]
        other = redeem(vendor, id_jag(globex, vendor, user="bob"))
        assert other.status_code == 200, other.text


def test_same_email_at_another_idp_never_reaches_the_account(tmp_path: Path, vendor: str) -> None:
    """alice@acme.example signed in at a second trusted IdP is not linked to acme's alice."""
    with idp(vendor) as acme, idp(vendor) as globex, vendor_app(tmp_path, vendor, [acme, globex]):
        assert redeem(vendor, id_jag(acme, vendor)).status_code == 200
        impostor = redeem(vendor, id_jag(globex, vendor))
        assert impostor.status_code == 400 and impostor.json()["error"] == "invalid_grant"
        assert impostor.headers["cache-control"] == "no-store"


def test_protected_routes_need_a_token_with_the_scope(tmp_path: Path, vendor: str) -> None:
    with idp(vendor) as acme, vendor_app(tmp_path, vendor, [acme]):
        missing = httpx.get(f"{vendor}/notes")
        assert missing.status_code == 401
        assert "resource_metadata=" in missing.headers["www-authenticate"]
        bad = httpx.get(f"{vendor}/notes", headers=bearer("not.a.token"))
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"
        reader = redeem(vendor, id_jag(acme, vendor, user="bob")).json()  # sales: read only
        assert reader["scope"] == "notes.read"
        assert httpx.get(f"{vendor}/notes", headers=bearer(reader["access_token"])).json() == []
        denied = httpx.post(
            f"{vendor}/notes", json={"text": "x"}, headers=bearer(reader["access_token"])
        )
        assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
        assert 'scope="notes.write"' in denied.headers["www-authenticate"]


def test_metadata_advertises_only_what_is_served(tmp_path: Path, vendor: str) -> None:
    with idp(vendor) as acme, vendor_app(tmp_path, vendor, [acme]):
        meta = httpx.get(f"{vendor}/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == vendor and meta["token_endpoint"] == f"{vendor}/token"
        assert "authorization_endpoint" not in meta and meta["response_types_supported"] == []
        assert meta["grant_types_supported"] == [spec.GRANT_JWT_BEARER]
        assert meta["authorization_grant_profiles_supported"] == [spec.GRANT_PROFILE_ID_JAG]
        assert acme not in str(meta)  # trusted IdPs are never published (draft §8.4)
        keys = httpx.get(meta["jwks_uri"]).json()["keys"]
        assert len(keys) == 1 and "d" not in keys[0]
        prm = httpx.get(f"{vendor}/.well-known/oauth-protected-resource/notes").json()
        assert prm["resource"] == f"{vendor}/notes" and prm["authorization_servers"] == [vendor]
        assert for_each_route_is_served(vendor, meta)


def for_each_route_is_served(vendor: str, meta: dict[str, Any]) -> bool:
    """Every endpoint the metadata names answers (none is a 404)."""
    urls = [v for k, v in meta.items() if k.endswith(("_endpoint", "_uri"))]
    return all(httpx.request("GET", u).status_code != 404 for u in urls)


def test_restart_keeps_the_signing_key(tmp_path: Path, vendor: str) -> None:
    with idp(vendor) as acme:
        with vendor_app(tmp_path, vendor, [acme]):
            kid = httpx.get(f"{vendor}/jwks.json").json()["keys"][0]["kid"]
            token = redeem(vendor, id_jag(acme, vendor)).json()["access_token"]
        assert (tmp_path / "as-signing-key.jwk").stat().st_mode & 0o777 == 0o600
        with vendor_app(tmp_path, vendor, [acme]):
            assert httpx.get(f"{vendor}/jwks.json").json()["keys"][0]["kid"] == kid
            again = httpx.get(f"{vendor}/notes", headers=bearer(token))
            assert again.status_code == 200  # a token issued before the restart still works


def test_untrusted_idp_is_refused(tmp_path: Path, vendor: str) -> None:
    with idp(vendor) as acme, idp(vendor) as rogue, vendor_app(tmp_path, vendor, [acme]):
        answer = redeem(vendor, id_jag(rogue, vendor))
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
        assert answer.headers["cache-control"] == "no-store"


def test_suspended_client_is_refused_and_audited(tmp_path: Path, vendor: str) -> None:
    with idp(vendor) as acme, vendor_app(tmp_path, vendor, [acme]) as app:
        app.state.db.set_active(CLIENT, False)
        answer = redeem(vendor, id_jag(acme, vendor))
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert answer.headers["cache-control"] == "no-store"
    from examples.fastapi_vendor.stores import JsonLinesAudit

    (event,) = JsonLinesAudit(tmp_path / "audit.jsonl").events()
    assert event.decision == "denied" and event.extra["attempted_client_id"] == CLIENT
