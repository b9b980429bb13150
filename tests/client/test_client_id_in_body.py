"""``client_id`` in the form next to Basic (RFC 6749 §3.2.1) on the grant requests.

xaa sends it by default with ``client_secret_basic`` on the token exchange
(draft §4.3) and jwt-bearer (draft §4.4) requests; xaa's own IdP and resource
AS accept it when it names the Basic client and refuse it with 401
``invalid_client`` (no-store, Basic challenge) when it names another.
"""

from __future__ import annotations

import json

from tests.idp.idp_support import AS as IDP_AUDIENCE
from tests.idp.idp_support import IDP as IDP_ISSUER
from tests.idp.idp_support import NOW as IDP_NOW
from tests.idp.idp_support import Idp, idp
from tests.resource.resource_kit import AS, CLIENT, NOW, OTHER, SECRET, TOKEN_URL, make_kit
from xaa import HttpResponse, IdJagClaims, SigningKey, parse_form, spec
from xaa.client import ClientCredentials, IdJag, jwt_bearer_request, token_exchange_request

__all__ = ["idp"]  # the IdP fixture


def exchange(credentials: ClientCredentials, subject_token: str = "id.token.x") -> dict[str, str]:
    request = token_exchange_request(
        IDP_ISSUER + "/token",
        credentials,
        idp_issuer=IDP_ISSUER,
        audience=IDP_AUDIENCE,
        subject_token=subject_token,
        now=IDP_NOW,
    )
    return dict(parse_form(request.body).items())


def assert_invalid_client(response: HttpResponse) -> None:
    data = json.loads(response.body)
    assert (response.status, data["error"]) == (401, "invalid_client"), data
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_basic_grant_requests_carry_client_id_in_the_body() -> None:
    form = exchange(ClientCredentials.secret_basic("wiki", "wiki-secret"))
    assert form[spec.P_CLIENT_ID] == "wiki" and spec.P_CLIENT_SECRET not in form
    kit = make_kit()
    claims = IdJagClaims.model_validate(kit.claims())
    request = jwt_bearer_request(
        TOKEN_URL,
        ClientCredentials.secret_basic(CLIENT, SECRET),
        as_issuer=AS,
        assertion=IdJag(kit.jag(), claims, claims.scopes),
        now=NOW,
    )
    bearer = parse_form(request.body)
    assert bearer[spec.P_CLIENT_ID] == CLIENT and spec.P_CLIENT_SECRET not in bearer
    assert request.headers["authorization"].startswith("Basic ")


def test_client_id_in_the_body_can_be_turned_off() -> None:
    bare = ClientCredentials.secret_basic("wiki", "wiki-secret", include_client_id_in_body=False)
    assert spec.P_CLIENT_ID not in exchange(bare)


def test_private_key_jwt_requests_do_not_add_client_id() -> None:
    key = SigningKey.generate("ES256", kid="k")
    assert spec.P_CLIENT_ID not in exchange(ClientCredentials.private_key_jwt("agent", key))


def test_xaa_idp_accepts_basic_with_the_same_client_id_in_the_body(idp: Idp) -> None:
    request = token_exchange_request(
        IDP_ISSUER + "/token",
        ClientCredentials.secret_basic("wiki", "wiki-secret"),
        idp_issuer=IDP_ISSUER,
        audience=IDP_AUDIENCE,
        subject_token=idp.id_token(),
        scope=frozenset({"chat.read"}),
        now=IDP_NOW,
    )
    response = idp.endpoint.handle(request.headers, request.body, now=IDP_NOW)
    assert response.status == 200, response.body


def test_xaa_idp_refuses_a_body_client_id_naming_another_client(idp: Idp) -> None:
    response = idp.post(idp.form(client_id="poster"))
    assert_invalid_client(response)


def test_xaa_resource_as_accepts_the_client_built_basic_request() -> None:
    kit = make_kit()
    claims = IdJagClaims.model_validate(kit.claims())
    request = jwt_bearer_request(
        TOKEN_URL,
        ClientCredentials.secret_basic(CLIENT, SECRET),
        as_issuer=AS,
        assertion=IdJag(kit.jag(), claims, claims.scopes),
        now=NOW,
    )
    assert kit.endpoint.handle(request.headers, request.body, now=NOW).status == 200


def test_xaa_resource_as_refuses_a_body_client_id_naming_another_client() -> None:
    kit = make_kit()
    assert_invalid_client(kit.post(kit.jag(), form={"client_id": OTHER}))
