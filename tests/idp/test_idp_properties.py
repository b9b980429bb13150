"""Property tests: whatever the request, the endpoint answers an RFC 6749 error or an ID-JAG,
never a 5xx, never echoing what it was sent; any tampering with the subject token fails."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.idp.idp_support import NOW, Idp
from xaa import basic_header

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KNOWN = [
    "grant_type",
    "requested_token_type",
    "audience",
    "resource",
    "scope",
    "subject_token",
    "subject_token_type",
    "authorization_details",
    "actor_token",
    "actor_token_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
]


@SETTINGS
@given(body=st.binary(max_size=300))
def test_arbitrary_bodies_are_client_errors(idp: Idp, body: bytes) -> None:
    resp = idp.endpoint.handle(
        {"authorization": basic_header("wiki", "wiki-secret")}, body, now=NOW
    )
    assert 400 <= resp.status < 500 and resp.headers["cache-control"] == "no-store"
    assert "error" in json.loads(resp.body)


@SETTINGS
@given(
    changes=st.dictionaries(
        st.sampled_from(KNOWN),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
        max_size=4,
    )
)
def test_arbitrary_parameters_never_5xx_nor_echo(idp: Idp, changes: dict[str, str]) -> None:
    resp = idp.post(idp.form(**changes))
    data = json.loads(resp.body)
    assert resp.status in (200, 400, 401) and resp.headers["cache-control"] == "no-store"
    if resp.status != 200:
        public = json.dumps(data)
        assert all(len(v) < 8 or v not in public for v in changes.values())
        assert "access_token" not in data


@SETTINGS
@given(index=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_tampered_subject_token_is_rejected(idp: Idp, index: int, flip: int) -> None:
    token = idp.id_token()
    raw = bytearray(token.encode())
    position = index % len(raw)
    raw[position] = (raw[position] ^ flip) % 128 or 65
    tampered = raw.decode("ascii", errors="replace")
    resp = idp.post(idp.form(subject_token=tampered))
    if tampered == token:
        assert resp.status == 200
    else:
        assert json.loads(resp.body)["error"] == "invalid_request"


@SETTINGS
@given(
    st.sets(st.sampled_from(["chat.read", "chat.history", "chat.write", "admin", "x"]), min_size=1)
)
def test_granted_scope_is_within_request_and_policy(idp: Idp, asked: set[str]) -> None:
    resp = idp.post(idp.form(scope=" ".join(sorted(asked)), subject_token=idp.id_token(sub="bob")))
    data = json.loads(resp.body)
    if "chat.read" in asked:
        assert resp.status == 200 and data.get("scope", " ".join(sorted(asked))) == "chat.read"
    else:
        assert data["error"] == "invalid_scope"
