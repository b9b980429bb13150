"""Property tests: challenge parsing, cache time windows, tampered ID-JAGs."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from tests.client.client_support import AS, AS_CLIENT, IDP, NOW, id_jag
from xaa import ProtocolViolation
from xaa.client import AccessToken, check_id_jag_target, decode_id_jag, parse_www_authenticate

NAMES = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12)
VALUES = st.text(string.ascii_letters + string.digits + " .:/-_", max_size=30)


@given(st.dictionaries(NAMES, VALUES, min_size=1, max_size=5))
def test_quoted_challenge_params_round_trip(params: dict[str, str]) -> None:
    header = "Bearer " + ", ".join(f'{k}="{v}"' for k, v in params.items())
    assert parse_www_authenticate(header) == params


@given(st.text(max_size=200))
def test_challenge_parser_never_crashes(header: str) -> None:
    assert isinstance(parse_www_authenticate(header), dict)


@given(st.integers(1, 10_000), st.integers(0, 120), st.floats(-20_000, 20_000))
def test_access_token_validity_window(lifetime: int, skew: int, offset: float) -> None:
    token = AccessToken("t", "Bearer", NOW + lifetime, frozenset(), None, AS)
    now = NOW + offset
    assert token.valid(now, skew) == (now + skew < NOW + lifetime)


TOKEN = id_jag(NOW)


@given(st.integers(0, len(TOKEN) - 1), st.sampled_from("AQgw_-.x"))
def test_tampered_id_jag_is_a_protocol_violation_or_still_well_formed(i: int, c: str) -> None:
    tampered = TOKEN[:i] + c + TOKEN[i + 1 :]
    try:
        claims = decode_id_jag(tampered, idp_issuer=IDP, now=NOW)
        check_id_jag_target(claims, audience=AS, client_id=AS_CLIENT)
    except ProtocolViolation:
        return
    # decoding does not verify: a surviving token carries the exact expected targets
    assert claims.aud == AS and claims.client_id == AS_CLIENT and claims.iss == IDP
