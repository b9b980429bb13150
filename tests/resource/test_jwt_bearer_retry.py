"""A refused redemption does not burn the ID-JAG: the ``jti`` is claimed last (RFC 7523 §3).

Every other check runs first, so a request refused for its scope, resource or
authorization details can be corrected and retried with the same ID-JAG; once
an access token is issued, the ID-JAG is spent.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.resource.resource_kit import RESOURCE, assert_rejected, make_kit
from xaa import HttpResponse


@pytest.mark.parametrize(
    ("refused_form", "error", "corrected_form"),
    [
        ({"scope": "chat.read chat.write"}, "invalid_scope", {"scope": "chat.read"}),
        ({"resource": "https://other.example/api"}, "invalid_target", {"resource": RESOURCE}),
        ({"authorization_details": "[1]"}, "invalid_authorization_details", {}),
    ],
    ids=["invalid_scope", "invalid_target", "invalid_authorization_details"],
)
def test_failed_redemption_does_not_burn_the_id_jag(
    refused_form: dict[str, Any], error: str, corrected_form: dict[str, Any]
) -> None:
    kit = make_kit()
    token = kit.jag()
    assert_rejected(kit.post(token, form=refused_form), 400, error, token)
    retried = kit.post(token, form=corrected_form)
    assert retried.status == 200, retried.body
    replayed = kit.post(token, form=corrected_form)
    assert_rejected(replayed, 400, "invalid_grant", token)
    assert kit.audit.events[-1].reason == "invalid_grant: ID-JAG already used"


def test_unresolvable_subject_does_not_burn_the_id_jag() -> None:
    kit = make_kit()
    local = kit.accounts.create("alice@example.com")  # a local account no issuer may claim
    token = kit.jag()
    assert_rejected(kit.post(token), 400, "invalid_grant", token)
    kit.accounts.link(kit.claims()["iss"], None, kit.claims()["sub"], local)  # linked by hand
    assert kit.post(token).status == 200


def test_concurrent_redemptions_of_one_id_jag_issue_exactly_once() -> None:
    kit = make_kit()
    token = kit.jag()

    def redeem(_: int) -> HttpResponse:
        return kit.post(token)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(redeem, range(32)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [400] * 31
    errors = {json.loads(r.body)["error"] for r in responses if r.status == 400}
    assert errors == {"invalid_grant"}
