"""``xaa resource serve``, ``xaa idp serve`` and ``xaa resource config --check`` with an
issuer that is no URL:
one line naming the option or the key, exit status 2, never a traceback and never a server
that starts and then refuses every ID-JAG (RFC 8414 §2: an issuer is an http(s) URL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_resource.config import check_text, template_text
from tests.support.cli import run_xaa


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--issuer", "127.0.0.1:9555", "http(s) URL with a host"),
        ("--issuer", "http://127.0.0.1:port", "valid port"),
        ("--trust-idp", "127.0.0.1:9400", "http(s) URL with a host"),
        ("--trust-idp", "ftp://idp.example", "http(s) URL with a host"),
        ("--trust-idp", "https://idp.example/?tenant=1", "no query"),
        ("--idp-email-domain", "127.0.0.1:9400=acme.example", "http(s) URL with a host"),
    ],
)
def test_resource_serve_issuer_that_is_no_url_is_one_usage_line(
    tmp_path: Path, option: str, value: str, needle: str
) -> None:
    """Before: ``--issuer 127.0.0.1:9555`` crashed with Starlette's AssertionError traceback,
    and ``--trust-idp 127.0.0.1:9400`` started a server that refused every ID-JAG."""
    result = run_xaa("resource", "serve", "--db", ":memory:", option, value, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and needle in lines[0], result.stderr


def test_resource_serve_never_echoes_userinfo_of_an_issuer(tmp_path: Path) -> None:
    result = run_xaa("resource", "serve", "--trust-idp", "https://u:hunter2@idp.example",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and "hunter2" not in result.stderr
    assert "user:password@" in result.stderr


def test_config_trusted_idp_issuer_that_is_no_url_fails_the_check() -> None:
    """Before: ``--check`` said OK and ``serve`` refused every ID-JAG of that IdP."""
    text = template_text().replace('"CHANGE ME"', '"a-replaced-value"')
    text = text.replace('issuer = "https://idp.example"', 'issuer = "idp.example"')
    problems = [p.render("chat.toml") for p in check_text(text)]
    assert len(problems) == 1
    assert problems[0].startswith("chat.toml:20: trusted_idps[0].issuer: must be an http(s) URL")


def test_config_issuer_without_host_fails_the_check() -> None:
    text = template_text().replace('"CHANGE ME"', '"a-replaced-value"')
    text = text.replace('issuer = "https://chat.example"', 'issuer = "http://"')
    assert [p.render("c.toml") for p in check_text(text)] == [
        "c.toml:10: issuer: must be an http(s) URL with a host, e.g. http://127.0.0.1:9400"
    ]


@pytest.mark.parametrize("value", ["127.0.0.1:9555", "https://idp.example/?tenant=1"])
def test_idp_serve_issuer_that_is_no_url_is_one_usage_line(tmp_path: Path, value: str) -> None:
    """``xaa idp serve --issuer 127.0.0.1:9555`` started with that issuer, so every token it
    issued named an issuer no relying party can discover (RFC 8414 §2)."""
    result = run_xaa("idp", "serve", "--db", str(tmp_path / "idp.db"), "--issuer", value,
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--issuer" in lines[0] and "Traceback" not in result.stderr
