"""The reference chat app trusts only the IdPs its deployer configured (docs/resource.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_resource import create_app
from reference_resource.settings import DEFAULT_IDP, DEMO_EMAIL_DOMAIN
from xaa.cli import build_parser
from xaa.cli._resource import settings_from_args


def _trusted(tmp_path: Path, *argv: str) -> dict[str, frozenset[str]]:
    args = build_parser().parse_args(["resource", "serve", "--db", str(tmp_path / "c.db"), *argv])
    trust = create_app(settings_from_args(args)).state.endpoint.trust
    return {issuer: trust.email_authorities(f"x@{DEMO_EMAIL_DOMAIN}") for issuer in trust.issuers}


def test_trust_idp_replaces_the_demo_idp(tmp_path: Path) -> None:
    trusted = _trusted(tmp_path, "--trust-idp", "http://127.0.0.1:9401")
    assert list(trusted) == ["http://127.0.0.1:9401"]
    assert trusted["http://127.0.0.1:9401"] == frozenset()


def test_trust_idp_is_repeatable_and_keeps_an_explicit_demo_idp(tmp_path: Path) -> None:
    trusted = _trusted(
        tmp_path,
        *("--trust-idp", DEFAULT_IDP, "--trust-idp", "http://127.0.0.1:9401"),
        *("--idp-email-domain", f"{DEFAULT_IDP}={DEMO_EMAIL_DOMAIN}"),
    )
    assert list(trusted) == [DEFAULT_IDP, "http://127.0.0.1:9401"]
    assert trusted[DEFAULT_IDP] == frozenset({DEFAULT_IDP})


def test_demo_idp_is_trusted_only_when_nothing_is_configured(tmp_path: Path) -> None:
    trusted = _trusted(tmp_path)
    assert list(trusted) == [DEFAULT_IDP]
    assert trusted[DEFAULT_IDP] == frozenset({DEFAULT_IDP})  # authoritative for the demo users


def test_idp_email_domain_must_be_url_equals_domain() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["resource", "serve", "--idp-email-domain", "acme.example"])
