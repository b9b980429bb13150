"""The resource server fails closed on any Authorization or DPoP header (RFC 6750, RFC 9449).

Whatever an attacker sends, ``ResourceServer.authorize`` either returns the
claims of a valid token or raises an ``OAuthError`` with a 4xx status whose
body never echoes what was sent.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from xaa import DpopVerifier, JwkSet, OAuthError, SigningKey
from xaa.resource import ResourceServer
from xaa.stores import MemoryReplayStore

KEY = SigningKey.generate(kid="as-1")
RESOURCE, AS, META = "https://chat.example/api", "https://chat.example", "https://chat.example/m"
BEARER_ONLY = ResourceServer(RESOURCE, AS, JwkSet([KEY.verification_key()]), META)
WITH_DPOP = ResourceServer(
    RESOURCE,
    AS,
    JwkSet([KEY.verification_key()]),
    META,
    dpop=DpopVerifier(MemoryReplayStore()),
)

scheme = st.sampled_from(["Bearer", "DPoP", "bearer", "dpop", "Basic", "", "Bearer  ", "DPoP\t"])
credential = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=120
) | st.from_regex(r"[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{0,40}", fullmatch=True)


@settings(max_examples=300)
@given(scheme, credential, st.none() | credential, st.booleans())
def test_any_header_is_a_client_error_that_echoes_nothing(
    name: str, value: str, proof: str | None, dpop_enabled: bool
) -> None:
    rs = WITH_DPOP if dpop_enabled else BEARER_ONLY
    headers = {"authorization": f"{name} {value}"}
    if proof is not None:
        headers["dpop"] = proof
    try:
        rs.authorize(headers, (), ["chat.read"], method="GET", path="/api/channels")
    except OAuthError as exc:
        status, response_headers, body = rs.response(exc)
        assert 400 <= status < 500
        assert response_headers["cache-control"] == "no-store"
        text = body.decode()
        json.loads(text)
        if len(value) >= 8:
            assert value not in text
            assert value not in response_headers.get("www-authenticate", "")
    else:
        raise AssertionError("a forged credential was accepted")
