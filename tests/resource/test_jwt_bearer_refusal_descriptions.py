"""The resource AS's invalid_grant refusals say which check failed, and nothing secret.

A client (and its user) can tell an untrusted IdP, an expired ID-JAG, a replayed one,
one issued to another client and an unknown subject apart (docs/errors.md); before the
signature verifies, only the issuer check speaks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.resource.resource_kit import (
    NOW,
    OTHER,
    SECRET,
    Kit,
    assert_rejected,
    body,
    make_kit,
)
from xaa import SigningKey
from xaa.resource import JitPolicy
from xaa.resource._redemption import (
    ID_JAG_ALREADY_USED,
    ID_JAG_EXPIRED,
    ID_JAG_OTHER_CLIENT,
    ISSUER_NOT_TRUSTED,
)
from xaa.resource._subjects import SUBJECT_UNKNOWN

GENERIC = "The authorization grant is invalid."
NO_JIT = JitPolicy(link_aud_sub=False, link_email=False, create_from_email=False)


def _replayed(kit: Kit) -> dict[str, Any]:
    token = kit.jag()
    assert kit.post(token).status == 200
    return {"assertion": token}


CASES: dict[str, tuple[Callable[[Kit], dict[str, Any]], str]] = {
    "untrusted-issuer": (
        lambda k: {"assertion": k.jag(iss="https://evil.example")},
        ISSUER_NOT_TRUSTED,
    ),
    "expired": (lambda k: {"assertion": k.jag(), "now": NOW + 290 + 30}, ID_JAG_EXPIRED),
    "replayed": (_replayed, ID_JAG_ALREADY_USED),
    "other-client": (lambda k: {"assertion": k.jag(client_id=OTHER)}, ID_JAG_OTHER_CLIENT),
    "bad-signature": (
        lambda k: {"assertion": k.jag(key=SigningKey.generate("ES256", kid="idp-1"))},
        GENERIC,
    ),
    "expired-and-bad-signature": (
        lambda k: {
            "assertion": k.jag(key=SigningKey.generate("ES256", kid="idp-1")),
            "now": NOW + 290 + 30,
        },
        GENERIC,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refusal_descriptions_are_distinct_and_leak_nothing(case: str) -> None:
    kit = make_kit()
    make, description = CASES[case]
    args = make(kit)
    response = kit.post(**args)
    assert_rejected(response, 400, "invalid_grant", args["assertion"], SECRET)
    assert body(response) == {"error": "invalid_grant", "error_description": description}
    assert kit.audit.events[-1].decision == "denied"


def test_unknown_subject_is_described_as_such() -> None:
    kit = make_kit(jit=NO_JIT)
    token = kit.jag()
    response = kit.post(token)
    assert_rejected(response, 400, "invalid_grant", token, SECRET)
    assert body(response) == {"error": "invalid_grant", "error_description": SUBJECT_UNKNOWN}
    assert "U019488227" not in response.body.decode()  # the subject is not echoed
