"""The library endpoint behind xaa.adapters._starlette_idp, over real HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.idp.idp_support import AS, IDP, Idp
from tests.support.servers import serve
from xaa import JwkSet, basic_header, encode_form, spec, verify_id_jag
from xaa.adapters.starlette import idp_routes
from xaa.idp import idp_metadata

pytestmark = pytest.mark.e2e


def test_token_exchange_jwks_and_metadata_over_http(idp: Idp) -> None:
    idp.endpoint.clock = lambda: 1_800_000_000
    app = Starlette(routes=idp_routes(idp.endpoint, idp_metadata(IDP)))
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        meta = http.get(spec.WELL_KNOWN_OAUTH_AS).json()
        assert meta == http.get(spec.WELL_KNOWN_OPENID).json()
        assert meta["issuer"] == IDP and meta["token_endpoint"] == f"{IDP}/token"
        keys = JwkSet.from_jwks(http.get("/jwks").json())
        headers = {
            "authorization": basic_header("wiki", "wiki-secret"),
            "content-type": spec.MEDIA_TYPE_FORM,
        }
        resp = http.post("/token", content=encode_form(idp.form()), headers=headers)
        assert resp.status_code == 200, resp.text
        jag = verify_id_jag(
            resp.json()["access_token"],
            keys=keys,
            issuer=IDP,
            audience=AS,
            client_id="wiki-at-chat",
            now=1_800_000_000,
        )
        assert jag.claims.sub == "alice"
        wrong_type = http.post(
            "/token",
            content=encode_form(idp.form()),
            headers={**headers, "content-type": "text/plain"},
        )
        assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "invalid_request"
        assert wrong_type.headers["cache-control"] == "no-store"
