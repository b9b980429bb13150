"""SAML subject tokens (draft §4.5): DOCTYPE, entity expansion, XXE, PIs, size, token encoding."""

from __future__ import annotations

import base64

import pytest

from tests.saml.saml_kit import ALICE, NOW, SamlKit
from xaa import InvalidRequest
from xaa.adapters import saml
from xaa.adapters.saml import decode_subject_token, encode_subject_token

BILLION_LAUGHS = (
    '<!DOCTYPE saml2:Assertion [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
XXE = '<!DOCTYPE saml2:Assertion [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
EXTERNAL_DTD = '<!DOCTYPE saml2:Assertion SYSTEM "http://127.0.0.1:9/evil.dtd">'
PARAMETER_ENTITY = '<!DOCTYPE saml2:Assertion [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'


def with_prolog(kit: SamlKit, prolog: str, name_id_text: str | None = None) -> bytes:
    xml = kit.assertion().decode()
    if name_id_text is not None:
        xml = xml.replace(f">{ALICE}</saml2:NameID>", f">{name_id_text}</saml2:NameID>")
    return (prolog + xml).encode()


CASES = {
    "doctype": ("<!DOCTYPE saml2:Assertion>", None),
    "billion-laughs": (BILLION_LAUGHS, "&lol9;"),
    "xxe-local-file": (XXE, "&xxe;"),
    "external-dtd": (EXTERNAL_DTD, None),
    "parameter-entity": (PARAMETER_ENTITY, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_doctype_and_entities_refused_before_parsing(kit: SamlKit, case: str) -> None:
    prolog, name_id = CASES[case]
    exc = kit.reject(encode_subject_token(with_prolog(kit, prolog, name_id)))
    assert "markup declaration" in exc.detail


@pytest.mark.parametrize("case", sorted(CASES))
def test_doctype_and_entities_refused_by_the_parser_layer_alone(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """With the lexical gate off, the hardened parser and tree checks still refuse,
    and no file content is ever read into the result or the detail."""
    monkeypatch.setattr(saml, "_check_markup", lambda raw: None)
    prolog, name_id = CASES[case]
    exc = kit.reject(encode_subject_token(with_prolog(kit, prolog, name_id)))
    assert "root:" not in exc.detail
    assert "DOCTYPE" in exc.detail or "not well-formed" in exc.detail


def test_processing_instruction_refused(kit: SamlKit) -> None:
    xml = kit.assertion().replace(b"<saml2:Subject>", b"<?evil data?><saml2:Subject>")
    exc = kit.reject(encode_subject_token(xml))
    assert "processing instruction" in exc.detail


def test_processing_instruction_refused_by_the_tree_check_alone(
    kit: SamlKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saml, "_check_markup", lambda raw: None)
    xml = kit.assertion().replace(b"<saml2:Subject>", b"<?evil data?><saml2:Subject>")
    exc = kit.reject(encode_subject_token(xml))
    assert "processing instruction" in exc.detail


def test_cdata_refused(kit: SamlKit) -> None:
    xml = with_prolog(kit, "", f"<![CDATA[{ALICE}]]>")
    kit.reject(encode_subject_token(xml))


def test_utf16_cannot_smuggle_a_doctype(kit: SamlKit) -> None:
    xml = with_prolog(kit, '<?xml version="1.0" encoding="UTF-16"?>' + XXE, "&xxe;")
    exc = kit.reject(encode_subject_token(xml.decode().encode("utf-16")))
    assert "not UTF-8" in exc.detail


def test_non_utf8_declaration_refused(kit: SamlKit) -> None:
    xml = with_prolog(kit, '<?xml version="1.0" encoding="ISO-8859-1"?>')
    kit.reject(encode_subject_token(xml))


def test_utf8_declaration_accepted(kit: SamlKit) -> None:
    xml = with_prolog(kit, '<?xml version="1.0" encoding="UTF-8"?>\n')
    assert kit.validator.validate(encode_subject_token(xml), client_id="wiki", now=NOW + 5)


def test_not_xml_at_all(kit: SamlKit) -> None:
    exc = kit.reject(encode_subject_token(b"<saml2:Assertion"))
    assert "not well-formed" in exc.detail


def test_oversized_encoded_input_refused_before_decoding(kit: SamlKit) -> None:
    exc = kit.reject("A" * (saml.DEFAULT_MAX_BYTES * 2))
    assert "size cap" in exc.detail


def test_oversized_decoded_input_refused(kit: SamlKit) -> None:
    kit.validator = kit.make_validator(max_bytes=4096)
    exc = kit.reject(encode_subject_token(kit.assertion(groups=["g" * 100] * 40)))
    assert "size cap" in exc.detail


# --- the subject_token encoding --------------------------------------------------------------


def test_standard_base64_with_padding_accepted(kit: SamlKit) -> None:
    """The draft §4.5 example uses the standard alphabet with padding."""
    std = base64.b64encode(kit.assertion()).decode()
    assert kit.validator.validate(std, client_id="wiki", now=NOW + 5)


def test_base64url_with_padding_accepted(kit: SamlKit) -> None:
    padded = base64.urlsafe_b64encode(kit.assertion()).decode()
    assert kit.validator.validate(padded, client_id="wiki", now=NOW + 5)


def payload_with_both_alphabets() -> bytes:
    return bytes(range(256)) * 3


def test_encoding_round_trip() -> None:
    data = payload_with_both_alphabets()
    assert decode_subject_token(encode_subject_token(data)) == data
    assert decode_subject_token(base64.b64encode(data).decode()) == data


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "!!!!",
        "PHNhbWw+",  # fine base64 of "<saml>": decodes, refused later; see next test
        "PHNhbWw+\nPHNhbWw+",  # MIME line breaks
        " PHNhbWw+",
        "PHNh bWw+",
        "PHNhbWw+-_",  # both alphabets
        "PHNhbWw=+",  # padding in the middle
        "PHNhbWw===",  # too much padding
        "PHNhbW=",  # wrong padding
        "PHNhbWx",  # non-canonical: unused bits set
        "PHNhb",  # impossible length
        "%3Csaml%3E",
        "<saml2:Assertion/>",
        "PHNhbWw\uff0b",  # full-width plus
    ],
)
def test_not_base64url(kit: SamlKit, bad: str) -> None:
    kit.reject(bad)


@pytest.mark.parametrize(
    "bad", ["PHNhbWw+\nPHNhbWw+", "PHNhbWw+-_", "PHNhbWw===", "PHNhbW=", "PHNhbWx", "PHNhb"]
)
def test_decode_subject_token_reasons(bad: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_subject_token(bad)
    assert caught.value.detail.startswith("saml subject_token: ")
