"""Property tests: tamper detection over the encoded token and the XML, and the time window.

"Meaning" of a document: its exclusive canonical form with whitespace removed
from base64 text (SignatureValue, X509Certificate). A tampered token may only be
accepted when its meaning is unchanged (a tab for a space between attributes,
say) and it then yields exactly the original subject; anything else must be
``invalid_request``.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.saml.saml_kit import DS, NOW, SKEW, SamlKit
from xaa import InvalidRequest
from xaa.adapters.saml import SamlSubject, encode_subject_token
from xaa.stores import MemoryReplayStore

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def world() -> tuple[SamlKit, bytes, str, SamlSubject]:
    kit = SamlKit()
    xml = kit.assertion()
    token = encode_subject_token(xml)
    subject = kit.make_validator(replay=MemoryReplayStore()).validate(
        token, client_id="wiki", now=NOW + 5
    )
    return kit, xml, token, subject


def meaning(xml: bytes) -> bytes | None:
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.LxmlError:
        return None
    for name in ("SignatureValue", "X509Certificate"):
        for el in root.iter(f"{{{DS}}}{name}"):
            el.text = "".join((el.text or "").split())
    return bytes(etree.tostring(root, method="c14n", exclusive=True, with_comments=True))


def outcome(token: str) -> SamlSubject | InvalidRequest:
    kit, *_ = world()
    try:
        return kit.make_validator(replay=MemoryReplayStore()).validate(
            token, client_id="wiki", now=NOW + 5
        )
    except InvalidRequest as exc:
        return exc


def decoded(token: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None


def check_tamper(token: str) -> None:
    _, xml, original_token, subject = world()
    result = outcome(token)
    if isinstance(result, InvalidRequest):
        return
    assert token != original_token
    raw = decoded(token)
    assert raw is not None and meaning(raw) == meaning(xml), "accepted a meaningful change"
    assert result == subject


@PROPS
@given(data=st.data())
def test_any_character_change_in_the_token_is_refused_or_meaningless(data: Any) -> None:
    _, _, token, _ = world()
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from(B64URL + "+/= \n!").filter(lambda c: c != token[position])
    )
    check_tamper(token[:position] + replacement + token[position + 1 :])


@PROPS
@given(data=st.data())
def test_any_byte_change_in_the_xml_is_refused_or_meaningless(data: Any) -> None:
    _, xml, _, _ = world()
    position = data.draw(st.integers(0, len(xml) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != xml[position]))
    check_tamper(encode_subject_token(xml[:position] + bytes([value]) + xml[position + 1 :]))


@PROPS
@given(data=st.data())
def test_insertions_and_deletions_in_the_xml(data: Any) -> None:
    _, xml, _, _ = world()
    position = data.draw(st.integers(0, len(xml) - 1))
    if data.draw(st.booleans()):
        tampered = xml[:position] + xml[position + 1 :]
    else:
        tampered = xml[:position] + data.draw(st.binary(min_size=1, max_size=8)) + xml[position:]
    check_tamper(encode_subject_token(tampered))


def test_every_single_byte_case_flip_of_the_xml() -> None:
    """Exhaustive: xor 0x20 at every position (letter case, space <-> NUL, '<' <-> NUL...)."""
    _, xml, _, _ = world()
    for position in range(len(xml)):
        flipped = xml[:position] + bytes([xml[position] ^ 0x20]) + xml[position + 1 :]
        check_tamper(encode_subject_token(flipped))


@settings(max_examples=200, deadline=None)
@given(offset=st.floats(min_value=-1000, max_value=1000, allow_nan=False))
def test_time_window(offset: float) -> None:
    """Issued at NOW, valid until NOW + 300: accepted iff NOW - skew <= now < NOW + 300 + skew."""
    kit, _, token, _ = world()
    now = NOW + offset
    expected = NOW - SKEW <= now < NOW + 300 + SKEW
    try:
        kit.make_validator(replay=MemoryReplayStore()).validate(token, client_id="wiki", now=now)
        accepted = True
    except InvalidRequest:
        accepted = False
    assert accepted is expected


def test_meaningless_changes_are_accepted_with_the_same_subject() -> None:
    """The accepting branch of the properties is reachable, and only for c14n-equal input."""
    _, xml, _, subject = world()
    for variant in (
        xml.replace(b" IssueInstant", b"\tIssueInstant"),
        xml + b"\n",
        xml.replace(b"<ds:X509Certificate>", b"<ds:X509Certificate>\n"),
        xml.replace(b'"/>', b'" />', 1),
    ):
        assert variant != xml and meaning(variant) == meaning(xml)
        assert outcome(encode_subject_token(variant)) == subject


@PROPS
@given(garbage=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(encode_subject_token)))
def test_arbitrary_input_is_invalid_request_and_nothing_else(garbage: str) -> None:
    assert isinstance(outcome(garbage), InvalidRequest)
