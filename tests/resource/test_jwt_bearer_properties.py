"""Property tests: tampering never yields a token, malformed input never a 5xx."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.resource.resource_kit import NOW, Kit, make_kit

KIT: Kit = make_kit()
TOKEN = KIT.jag(jti="fixed")
HEADERS, BODY = KIT.request(TOKEN)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(min_value=0, max_value=len(TOKEN) - 1), st.sampled_from("AQgw_-xyz09."))
def test_any_changed_character_is_refused(index: int, char: str) -> None:
    if TOKEN[index] == char:
        return
    tampered = TOKEN[:index] + char + TOKEN[index + 1 :]
    response = KIT.post(tampered)
    assert response.status == 400
    assert b"access_token" not in response.body


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bodies_never_5xx(raw: bytes) -> None:
    response = KIT.endpoint.handle(HEADERS, raw, now=NOW)
    assert 400 <= response.status < 500
    assert response.headers["cache-control"] == "no-store"


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-400, max_value=400))
def test_time_window(offset: int) -> None:
    kit = make_kit()
    token = kit.jag(jti=f"t{offset}")
    ok = kit.post(token, now=NOW + offset).status == 200
    # iat = NOW-10, exp = NOW+290, leeway 30: accepted exactly from iat - leeway
    # until exp + leeway (exclusive).
    assert ok == (-40 <= offset < 290 + 30)
