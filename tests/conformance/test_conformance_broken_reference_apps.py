"""Can every check fail? The reference apps with exactly one check disabled (an endpoint
class of tests/conformance/broken_resource.py or broken_idp.py, composed from the public
endpoint steps): the suite flags exactly the broken rule, and nothing against the unbroken
app. Nothing installed can switch a check off."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_idp.config import IdpConfig
from reference_resource import Settings, create_app
from tests.conformance.broken_idp import BROKEN as BROKEN_IDP_STEPS
from tests.conformance.broken_resource import BROKEN as BROKEN_AS_STEPS
from tests.conformance.broken_resource import endpoint_class
from tests.conformance.conftest import running_reference_idp
from tests.conformance.test_conformance_idp_e2e import wiki_target
from tests.support.servers import free_port, serve
from xaa.cli import main as xaa_main
from xaa.conformance import (
    IDP,
    RESOURCE_AS,
    ClientCredentials,
    Level,
    Outcome,
    Report,
    ResourceAsTarget,
    TestIdp,
    run_idp_suite,
    run_resource_as_suite,
)

pytestmark = pytest.mark.e2e

# variant -> the cases that must fail (FAIL or ERROR, any level); every other case passes.
RESOURCE_AS_VARIANTS: dict[str | None, set[str]] = {
    None: set(),
    "typ": {
        "ras-rejects-typ-missing",
        "ras-rejects-typ-jwt",
        "ras-rejects-typ-at-jwt",
        "ras-rejects-typ-dpop-jwt",
        "ras-rejects-typ-client-authentication-jwt",
    },
    "aud": {
        "ras-rejects-aud-of-another-as",
        "ras-rejects-aud-array-with-two-values",
        "ras-rejects-aud-token-endpoint-url",
        "ras-rejects-aud-with-trailing-slash",
    },
    "client-binding": {"ras-rejects-client-id-claim-of-another-client"},
    "replay": {"ras-rejects-replayed-id-jag"},
    "cnf": {"ras-rejects-cnf-with-dpop-proof-of-another-key"},
    "scope-subset": {"ras-rejects-scope-beyond-id-jag"},
    "refresh-token": {"ras-issues-no-refresh-token"},
}
# The lenient ways of handling keys (tests/conformance/broken_keys.py): run on the cases
# about algorithms, keys and signatures only (KEY_TAGS), which is where they can show.
KEY_TAGS = ("alg", "keys", "signature")
KEY_VARIANTS: dict[str, set[str]] = {
    "hmac-public-key": {
        f"ras-rejects-hs256-keyed-with-{key}public-key-{enc}"
        for key in ("", "rsa-", "eddsa-")
        for enc in ("pem", "der", "jwk")
    },
    "jwks-oct-key": {"ras-rejects-hs256-with-symmetric-key-from-jwks"},
    "key-use": {"ras-rejects-signature-by-encryption-key"},
    "alg-from-header": {"ras-rejects-rs256-with-key-pinned-to-ps256"},
    "curve": {"ras-rejects-es256-signature-by-secp256k1-key"},
    "issuer-algs": {
        "ras-rejects-alg-not-pinned-for-issuer",
        "ras-rejects-alg-not-pinned-for-issuer-es384",
        "ras-rejects-alg-not-pinned-for-issuer-es512",
        "ras-rejects-alg-not-pinned-for-issuer-ps256",
    },
    "weak-rsa": {"ras-rejects-rsa-key-below-2048-bits"},
    "kid-less": {"ras-rejects-token-without-kid-when-several-keys"},
    "duplicate-kid": {"ras-rejects-kid-shared-by-two-keys"},
    "embedded-key": {"ras-ignores-embedded-jwk-header", "ras-ignores-x5c-header"},
    "jku": {
        "ras-ignores-jku-header",
        "ras-ignores-x5u-header",
        "ras-never-fetches-jku-url-from-token",
    },
    "alg-none": {
        "ras-rejects-alg-none",
        "ras-rejects-alg-none-capitalized",
        "ras-rejects-alg-none-uppercase",
        "ras-rejects-alg-none-mixed-case",
    },
}
IDP_VARIANTS: dict[str | None, set[str]] = {
    None: set(),
    "token-type": {"idp-response-token-type-is-n-a"},
    "refresh-token": {"idp-response-has-no-refresh-token"},
    "subject-aud": {"idp-rejects-id-token-of-another-client"},
    "refresh-client": {"idp-rejects-refresh-token-of-another-client"},
    "typ": {"idp-id-jag-typ-is-oauth-id-jag-jwt"},
}


MUST_CASES = {c.id for c in (*RESOURCE_AS.cases, *IDP.cases) if c.level is Level.MUST}


def flagged(report: Report[Any]) -> set[str]:
    return {r.case.id for r in report.results if r.broken}


def test_every_variant_is_tested() -> None:
    assert {*RESOURCE_AS_VARIANTS, *KEY_VARIANTS} == {None, *BROKEN_AS_STEPS}
    assert not set(RESOURCE_AS_VARIANTS) & set(KEY_VARIANTS)
    assert set(IDP_VARIANTS) == {None, *BROKEN_IDP_STEPS}


@contextlib.contextmanager
def reference_resource_as(
    tmp_path: Path, idp: TestIdp, broken: str | None
) -> Iterator[ResourceAsTarget]:
    """The reference chat app (in-process) trusting the test IdP, one check disabled."""
    port = free_port()
    settings = Settings.make(
        port=port, db=str(tmp_path / "chat.db"), replay="memory", trust_idps=[idp.url]
    )
    app = create_app(settings, endpoint_type=endpoint_class(broken))
    with serve(app, port=port):
        yield ResourceAsTarget(
            settings.issuer,
            ClientCredentials("wiki-at-chat", secret="wiki-chat-secret"),
            resource=settings.resource,
            scope="chat.read chat.history",
        )


@pytest.mark.parametrize("variant", list(RESOURCE_AS_VARIANTS), ids=str)
def test_the_suite_flags_exactly_the_broken_resource_as_rule(
    xaa_test_idp: TestIdp, tmp_path: Path, variant: str | None
) -> None:
    with reference_resource_as(tmp_path, xaa_test_idp, variant) as target:
        report = run_resource_as_suite(target, xaa_test_idp)
    assert flagged(report) == RESOURCE_AS_VARIANTS[variant]
    assert report.count(Outcome.SKIP) == 0
    assert report.exit_code == int(bool(RESOURCE_AS_VARIANTS[variant] & MUST_CASES))


@pytest.mark.parametrize("variant", list(KEY_VARIANTS), ids=str)
def test_the_suite_flags_exactly_the_lenient_key_handling(
    xaa_test_idp: TestIdp, tmp_path: Path, variant: str
) -> None:
    with reference_resource_as(tmp_path, xaa_test_idp, variant) as target:
        report = run_resource_as_suite(target, xaa_test_idp, only=KEY_TAGS)
    assert flagged(report) == KEY_VARIANTS[variant]
    assert report.count(Outcome.SKIP) == 0


def test_every_key_case_is_proven_by_a_lenient_variant() -> None:
    """Each case about keys and algorithms can fail: some lenient variant makes it fail."""
    proven = {case for cases in KEY_VARIANTS.values() for case in cases}
    key_cases = {c.id for c in RESOURCE_AS.cases if "extra-keys" in c.tags}
    key_cases |= {c.id for c in RESOURCE_AS.cases if c.id.startswith("ras-rejects-alg-none")}
    assert key_cases <= proven, key_cases - proven


@pytest.mark.parametrize("variant", list(IDP_VARIANTS), ids=str)
def test_the_suite_flags_exactly_the_broken_idp_rule(tmp_path: Path, variant: str | None) -> None:
    with running_reference_idp(tmp_path / "idp.sqlite3", variant) as issuer:
        report = run_idp_suite(wiki_target(issuer), skip=["private-key-jwt"])
    assert flagged(report) == IDP_VARIANTS[variant]
    assert report.count(Outcome.SKIP) == 0
    assert report.exit_code == int(bool(IDP_VARIANTS[variant] & MUST_CASES))


def test_no_installed_code_can_switch_a_check_off(tmp_path: Path) -> None:
    """The broken variants are test code: no CLI flag, setting or module ships them."""
    for name in (
        "reference_idp.broken",
        "reference_resource.broken",
        "reference_resource.broken_keys",
    ):
        assert importlib.util.find_spec(name) is None
    assert not hasattr(Settings.make(db=str(tmp_path / "chat.db")), "test_only_break")
    assert "test_only_break" not in IdpConfig.model_fields
    for command in (["idp", "serve"], ["resource", "serve"]):
        with pytest.raises(SystemExit):
            xaa_main([*command, "--port", str(free_port()), "--test-only-break", "typ"])


def test_cli_names_a_missing_reference_app_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "reference_idp.config", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "reference_idp", None)
    assert xaa_main(["idp", "keys", "list", "--db", str(tmp_path / "i.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "reference_idp is not importable" in err


def test_jku_fetch_case_counts_only_the_fetches_of_its_own_run(
    xaa_test_idp: TestIdp, tmp_path: Path
) -> None:
    """An earlier run (or another target) that fetched the attacker's JWKS does not fail a
    correct AS: the case compares the counter before and after its own requests."""
    xaa_test_idp._count("/attacker/jwks.json")
    with reference_resource_as(tmp_path, xaa_test_idp, None) as target:
        report = run_resource_as_suite(
            target, xaa_test_idp, only=["ras-never-fetches-jku-url-from-token"]
        )
    assert [r.outcome for r in report.results] == [Outcome.PASS]
