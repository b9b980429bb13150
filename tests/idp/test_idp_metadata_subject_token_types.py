"""``idp_metadata(subject_token_types=...)``: the accepted subject token types are advertised
next to the issued ones (draft-03 §7.1), so the client knows it may present a refresh token."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from reference_idp.app import create_app
from reference_idp.config import load_config
from reference_idp.store import Store
from xaa import spec
from xaa.idp import idp_metadata

ISSUER = "https://idp.example"


def test_idp_metadata_advertises_the_subject_token_types_it_is_given() -> None:
    types = [spec.TOKEN_TYPE_ID_TOKEN, spec.TOKEN_TYPE_REFRESH_TOKEN, spec.TOKEN_TYPE_ID_TOKEN]
    document = idp_metadata(ISSUER, subject_token_types=types).to_json()
    assert document[spec.M_SUBJECT_TOKEN_TYPES] == types[:2]
    assert document[spec.M_IDENTITY_CHAINING_TOKEN_TYPES] == [spec.TOKEN_TYPE_ID_JAG]


def test_idp_metadata_without_subject_token_types_has_no_such_member() -> None:
    assert spec.M_SUBJECT_TOKEN_TYPES not in idp_metadata(ISSUER).to_json()


def test_reference_idp_advertises_what_its_endpoint_accepts(tmp_path: Path) -> None:
    store = Store(tmp_path / "idp.db")
    try:
        with TestClient(create_app(load_config(), store)) as http:
            document = http.get(spec.WELL_KNOWN_OAUTH_AS).json()
    finally:
        store.close()
    assert spec.TOKEN_TYPE_REFRESH_TOKEN in document[spec.M_SUBJECT_TOKEN_TYPES]
    assert spec.TOKEN_TYPE_ID_TOKEN in document[spec.M_SUBJECT_TOKEN_TYPES]
