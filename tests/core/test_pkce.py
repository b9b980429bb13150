"""PKCE S256 (RFC 7636): the Appendix B vector, verifier rules, constant-time match."""

from __future__ import annotations

import pytest

from xaa import pkce

# RFC 7636 Appendix B.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc7636_appendix_b() -> None:
    assert pkce.code_challenge(VERIFIER) == CHALLENGE
    assert pkce.verifier_matches(VERIFIER, CHALLENGE)
    assert pkce.is_challenge(CHALLENGE)


def test_new_pair_matches_and_is_fresh() -> None:
    verifier, challenge = pkce.new_pair()
    assert 43 <= len(verifier) <= 128 and pkce.verifier_matches(verifier, challenge)
    assert pkce.new_verifier() != pkce.new_verifier()


@pytest.mark.parametrize(
    "verifier",
    ["short", "x" * 129, VERIFIER[:-1] + "+", VERIFIER[:-1] + "/", VERIFIER + "="],
)
def test_malformed_verifiers_never_match(verifier: str) -> None:
    assert not pkce.verifier_matches(verifier, pkce.code_challenge(verifier))


def test_wrong_verifier_does_not_match() -> None:
    assert not pkce.verifier_matches(pkce.new_verifier(), CHALLENGE)


@pytest.mark.parametrize("challenge", ["", CHALLENGE[:-1], CHALLENGE + "A", CHALLENGE[:-1] + "="])
def test_challenge_shape(challenge: str) -> None:
    assert not pkce.is_challenge(challenge)
