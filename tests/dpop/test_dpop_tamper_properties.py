"""Properties: any change to a valid proof is refused with an OAuthError, nothing else;
the iat window is exact; a proof is accepted once, even under concurrency."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dpop.dpop_support import ED_KEY, ES_KEY, HTM, HTU, NOW, forge
from xaa import OAuthError
from xaa.dpop import make_proof, verify_proof
from xaa.stores import MemoryReplayStore

PROOFS = [
    make_proof(ES_KEY, HTM, HTU, now=NOW, access_token="at"),
    make_proof(ED_KEY, HTM, HTU, now=NOW, access_token="at"),
]


def check(proof: str) -> None:
    verify_proof(proof, htm=HTM, htu=HTU, replay=MemoryReplayStore(), now=NOW, access_token="at")


def test_the_untouched_proofs_verify() -> None:
    for proof in PROOFS:
        check(proof)


@settings(max_examples=400)
@given(which=st.sampled_from(PROOFS), data=st.data())
def test_any_flipped_byte_is_rejected_with_an_oauth_error(which: str, data: st.DataObject) -> None:
    raw = bytearray(which.encode())
    index = data.draw(st.integers(0, len(raw) - 1))
    flip = data.draw(st.integers(1, 255))
    raw[index] ^= flip
    tampered = raw.decode("latin-1")
    try:
        check(tampered)
    except OAuthError:
        return
    raise AssertionError("a tampered proof was accepted")


@given(st.text(max_size=300))
def test_arbitrary_text_is_rejected_with_an_oauth_error(text: str) -> None:
    try:
        check(text)
    except OAuthError:
        return
    raise AssertionError("arbitrary text was accepted")


@settings(max_examples=200)
@given(
    offset=st.integers(-200, 200),
    max_age=st.integers(0, 120),
    leeway=st.integers(0, 30),
)
def test_iat_accepted_exactly_inside_the_window(offset: int, max_age: int, leeway: int) -> None:
    proof = forge(payload={"iat": NOW + offset})
    inside = -max_age - leeway <= offset <= leeway
    try:
        verify_proof(
            proof,
            htm=HTM,
            htu=HTU,
            replay=MemoryReplayStore(),
            now=NOW,
            max_age=max_age,
            leeway=leeway,
        )
    except OAuthError as exc:
        assert not inside
        assert exc.detail in ("iat in the future", "proof too old")
        return
    assert inside


def test_concurrent_presentations_of_one_proof_succeed_once() -> None:
    store = MemoryReplayStore()
    proof = PROOFS[0]
    outcomes: list[str] = []

    def present() -> None:
        try:
            verify_proof(proof, htm=HTM, htu=HTU, replay=store, now=NOW, access_token="at")
            outcomes.append("ok")
        except OAuthError as exc:
            outcomes.append(exc.detail)

    threads = [threading.Thread(target=present) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["jti replayed"] * 7 + ["ok"]
