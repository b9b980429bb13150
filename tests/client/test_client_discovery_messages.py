"""A discovery failure names the server it is about (docs/client.md, "Errors"): a user with
two IdPs and three apps configured must see which one broke, not only the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from xaa import HttpResponse, ProtocolViolation, rules
from xaa.client import (
    MetadataCache,
    Request,
    discover_authorization_server,
    discover_resource,
    run_sync,
)

AS = "https://as.example"
RESOURCE = "https://api.example/api"


def answering(documents: dict[str, dict[str, Any]]) -> Callable[[Request], HttpResponse]:
    def send(request: Request) -> HttpResponse:
        document = documents.get(request.url)
        if document is None:
            return HttpResponse(404, {}, b"")
        return HttpResponse(
            200, {"content-type": "application/json"}, json.dumps(document).encode()
        )

    return send


def as_metadata(**members: Any) -> dict[str, dict[str, Any]]:
    url = AS + "/.well-known/oauth-authorization-server"
    return {url: {"issuer": AS, "token_endpoint": AS + "/token", **members}}


def violation(flow: Any, send: Callable[[Request], HttpResponse]) -> ProtocolViolation:
    with pytest.raises(ProtocolViolation) as caught:
        run_sync(flow, send)
    return caught.value


def test_as_without_the_id_jag_profile_is_named_in_the_error() -> None:
    flow = discover_authorization_server(AS, MetadataCache(), 0.0, require="accepts-id-jag")
    refused = violation(flow, answering(as_metadata()))
    assert refused.rule == rules.AS_ID_JAG_PROFILE
    assert f"the AS at {AS} does not advertise the id-jag profile" in str(refused)


def test_idp_without_id_jag_issuance_is_named_in_the_error() -> None:
    flow = discover_authorization_server(AS, MetadataCache(), 0.0, require="issues-id-jag")
    refused = violation(flow, answering(as_metadata()))
    assert refused.rule == rules.IDP_ID_JAG and f"the IdP at {AS}" in str(refused)


def test_issuer_mismatch_names_the_expected_and_the_claimed_issuer() -> None:
    flow = discover_authorization_server(AS, MetadataCache(), 0.0, require=None)
    refused = violation(flow, answering(as_metadata(issuer="https://evil.example")))
    assert refused.rule == rules.ISSUER_MISMATCH
    assert AS in str(refused) and "https://evil.example" in str(refused)


def test_resource_url_with_no_metadata_names_the_urls_tried() -> None:
    refused = violation(discover_resource(RESOURCE + "x", MetadataCache(), 0.0), answering({}))
    assert refused.rule == rules.RESOURCE_METADATA
    assert "https://api.example/.well-known/oauth-protected-resource/apix" in str(refused)


def test_resource_metadata_naming_another_resource_names_both() -> None:
    url = "https://api.example/.well-known/oauth-protected-resource/api"
    send = answering({url: {"resource": "https://api.example/", "authorization_servers": [AS]}})
    refused = violation(discover_resource(RESOURCE, MetadataCache(), 0.0), send)
    assert RESOURCE in str(refused) and "'https://api.example/'" in str(refused)


def test_insecure_url_error_names_the_url_without_its_userinfo() -> None:
    refused = violation(
        discover_resource("http://user:pw@api.example/api", MetadataCache(), 0.0), answering({})
    )
    assert refused.rule == rules.RESOURCE_METADATA
    assert "http://api.example/" in str(refused) and "pw" not in str(refused)
