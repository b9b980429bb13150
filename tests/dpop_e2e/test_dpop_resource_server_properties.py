"""Properties of the resource server's DPoP check (sans-I/O, injected clock): the ``iat``
window and tamper detection, each against the one valid presentation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xaa import AccessTokenClaims, DpopVerifier, JwkSet, OAuthError, SigningKey, issue_access_token
from xaa.dpop import DEFAULT_LEEWAY, DEFAULT_MAX_AGE, DpopKey, make_proof
from xaa.resource import ResourceServer
from xaa.stores import MemoryReplayStore

NOW = 1_800_000_000
ISSUER = "https://as.example"
RESOURCE = "https://api.example/api"
URL = "https://api.example/api/channels"
AS_KEY = SigningKey.generate("ES256", kid="as")
KEY = DpopKey.generate()
TOKEN = issue_access_token(
    AccessTokenClaims.model_validate(
        {
            "iss": ISSUER,
            "sub": "alice",
            "aud": RESOURCE,
            "client_id": "wiki-at-chat",
            "jti": "at-1",
            "iat": NOW,
            "exp": NOW + 900,
            "scope": "chat.read",
            "cnf": {"jkt": KEY.jkt},
        }
    ),
    AS_KEY,
)


def _server() -> ResourceServer:
    return ResourceServer(
        RESOURCE,
        ISSUER,
        JwkSet([AS_KEY.verification_key()]),
        "https://api.example/.well-known/oauth-protected-resource/api",
        dpop=DpopVerifier(MemoryReplayStore()),
    )


def _present(proof: str, now: float = NOW) -> str | None:
    """None when accepted, else the error code (and 401 with a DPoP challenge)."""
    server = _server()
    headers = {"authorization": f"DPoP {TOKEN}", "dpop": proof}
    try:
        server.authorize(headers, (), ("chat.read",), now=now, path="/api/channels")
    except OAuthError as exc:
        response = server.response(exc)
        assert response.status == 401
        assert response.headers["www-authenticate"].startswith("DPoP ")
        return exc.error
    return None


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-3 * DEFAULT_MAX_AGE, max_value=3 * DEFAULT_MAX_AGE))
def test_iat_window(offset: int) -> None:
    proof = make_proof(KEY, "GET", URL, now=NOW + offset, access_token=TOKEN)
    inside = -DEFAULT_MAX_AGE - DEFAULT_LEEWAY <= offset <= DEFAULT_LEEWAY
    assert _present(proof) == (None if inside else "invalid_dpop_proof")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_tampered_character_is_refused(data: st.DataObject) -> None:
    proof = make_proof(KEY, "GET", URL, now=NOW, access_token=TOKEN)
    assert _present(proof) is None
    index = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.x"))
    tampered = proof[:index] + replacement + proof[index + 1 :]
    if tampered != proof:
        assert _present(tampered) in ("invalid_dpop_proof", "invalid_token")
