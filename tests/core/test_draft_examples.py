"""The draft's example ID-JAGs, one generated test per example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xaa import IdJagClaims, JwkSet, SigningKey, issue_id_jag, verify_id_jag

EXAMPLES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "draft-03-id-jag-examples.json").read_text()
)


@pytest.mark.parametrize("example", EXAMPLES["examples"], ids=lambda e: f"section-{e['section']}")
def test_draft_example_round_trips(example: dict[str, Any]) -> None:
    claims = IdJagClaims.model_validate(example["claims"])
    assert claims.to_json() == example["claims"]
    key = SigningKey.generate(kid="idp")
    token = issue_id_jag(claims, key)
    verified = verify_id_jag(
        token,
        keys=JwkSet([key.verification_key()]),
        issuer=claims.iss,
        audience="https://acme.chat.example/",
        client_id="f53f191f9311af35",
        now=claims.iat + 1,
        max_lifetime=1000,
        allow_cnf=claims.cnf is not None,
    )
    assert verified.header["typ"] == example["header"]["typ"]
    assert verified.claims == claims
