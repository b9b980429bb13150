"""``xaa conformance ...``: tell an IdP or a resource AS exactly which rule it breaks.

- ``xaa conformance resource-as --issuer URL --client-id ID --client-secret S ...``
- ``xaa conformance idp --issuer URL --client-id ID --audience URL (--id-token-file F | --login)``
- ``xaa conformance client --command "CMD"``: run a client against mock servers
- ``xaa conformance test-idp [--test-idp-url URL]``: serve the test IdP alone
- ``xaa conformance list [--suite S]``: every case with its section and level

Exit status: 1 when any MUST case fails, 2 on a usage error, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import spec
from .._errors import ConfigurationError

_SECRET_METHODS = (spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_CLIENT_SECRET_POST)


def register(subparsers: Any) -> None:
    """Add ``xaa conformance`` and its subcommands."""
    from ..conformance._test_idp import DEFAULT_TEST_IDP_URL

    top = subparsers.add_parser("conformance", help="conformance suites for IdPs and resource ASes")
    commands = top.add_subparsers(dest="conformance_command", required=True)

    ras = commands.add_parser("resource-as", help="test a resource authorization server")
    ras.add_argument("--issuer", required=True, help="the resource AS issuer identifier")
    _client_options(ras)
    ras.add_argument("--resource", default=None, help="an RFC 8707 resource the AS serves")
    ras.add_argument("--scope", default=None, help="scopes to put in the ID-JAGs")
    ras.add_argument("--token-endpoint", default=None, help="default: from the AS metadata")
    ras.add_argument("--subject", default="xaa-conformance-user", help="the ID-JAG sub")
    ras.add_argument("--email", default="conformance-user@xaa.example", help="the ID-JAG email")
    _test_idp_options(ras, DEFAULT_TEST_IDP_URL)
    _output_options(ras)
    ras.set_defaults(func=_resource_as)

    idp = commands.add_parser("idp", help="test an IdP's token exchange for ID-JAGs")
    idp.add_argument("--issuer", required=True, help="the IdP issuer identifier")
    _client_options(idp)
    subject = idp.add_mutually_exclusive_group(required=True)
    subject.add_argument("--id-token-file", type=Path, help="an ID token issued to the client")
    subject.add_argument("--login", metavar="USER:PASSWORD", help="sign in through the login form")
    idp.add_argument("--redirect-uri", default=None, help="the client's redirect URI (--login)")
    idp.add_argument("--audience", required=True, help="the resource AS to ask an ID-JAG for")
    idp.add_argument("--expect-client-id", default=None, help="the client's id at that AS")
    idp.add_argument("--scope", default=None)
    idp.add_argument("--resource", default=None)
    idp.add_argument(
        "--other-client-id-token", type=Path, default=None, help="an ID token of another client"
    )
    idp.add_argument(
        "--other-client-refresh-token",
        type=Path,
        default=None,
        metavar="FILE",
        help="a refresh token the IdP issued to another client (with --login)",
    )
    _output_options(idp)
    idp.set_defaults(func=_idp)

    client = commands.add_parser("client", help="test a client against mock servers")
    client.add_argument("--command", required=True, help="shell command running the client")
    client.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    _output_options(client)
    client.set_defaults(func=_client)

    test_idp = commands.add_parser("test-idp", help="serve the test IdP alone (configure trust)")
    _test_idp_options(test_idp, DEFAULT_TEST_IDP_URL)
    test_idp.set_defaults(func=_test_idp)

    listing = commands.add_parser("list", help="list the cases")
    listing.add_argument("--suite", choices=("resource-as", "idp", "client"), default=None)
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--markdown", action="store_true", help="the tables of the docs")
    listing.set_defaults(func=_list)


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", required=True)
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--client-secret", help="for client_secret_basic / client_secret_post")
    secret.add_argument("--key", type=Path, help="private JWK (JSON, with kid): private_key_jwt")
    parser.add_argument(
        "--auth-method",
        choices=spec.CONFIDENTIAL_AUTH_METHODS,
        default=None,
        help="default: client_secret_basic with a secret, private_key_jwt with a key",
    )


def _test_idp_options(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--test-idp-url", default=default, help=f"default: {default}")
    parser.add_argument(
        "--no-extra-keys",
        action="store_true",
        help="publish only ES256 keys (skips the EdDSA and weak-RSA cases)",
    )
    parser.add_argument(
        "--keys-file",
        type=Path,
        default=None,
        help="keep the test IdP's private keys in FILE (created if absent) across runs",
    )


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", default=[], help="case ids or tags (repeat)")
    parser.add_argument("--skip", action="append", default=[], help="case ids or tags (repeat)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--junit", type=Path, default=None, help="write JUnit XML to FILE")
    parser.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="write a self-contained HTML report to FILE (failures first, tokens redacted)",
    )


def _selectors(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _credentials(args: argparse.Namespace) -> Any:
    from .._keys import SigningKey
    from ..conformance._credentials import ClientCredentials

    if args.key is not None:
        key = SigningKey.load(args.key)
        method = args.auth_method or spec.AUTH_PRIVATE_KEY_JWT
        return ClientCredentials(args.client_id, method, key=key)
    method = args.auth_method or spec.AUTH_CLIENT_SECRET_BASIC
    return ClientCredentials(args.client_id, method, secret=args.client_secret)


def _finish(report: Any, args: argparse.Namespace) -> int:
    from ..conformance._reporters import render_json, render_table, write_junit

    print(render_json(report) if args.json else render_table(report))
    if args.junit is not None:
        write_junit(report, args.junit)
    if args.html is not None:
        from ..conformance._html_report import render_html

        args.html.write_text(render_html(report), encoding="utf-8")
    return int(report.exit_code)


def _usage(message: str) -> int:
    print(f"xaa conformance: {message}", file=sys.stderr)
    return 2


def _resource_as(args: argparse.Namespace) -> int:
    from ..conformance._resource_as import RESOURCE_AS, ResourceAsTarget, run_resource_as_suite
    from ..conformance._test_idp import running_test_idp

    try:
        RESOURCE_AS.select(_selectors(args.only), _selectors(args.skip))
        target = ResourceAsTarget(
            issuer=args.issuer,
            client=_credentials(args),
            resource=args.resource,
            scope=args.scope,
            subject=args.subject,
            email=args.email,
            token_endpoint=args.token_endpoint,
        )
    except (ValueError, OSError) as exc:
        return _usage(str(exc))
    try:
        with running_test_idp(
            args.test_idp_url, extra_keys=not args.no_extra_keys, keys_file=args.keys_file
        ) as idp:
            report = run_resource_as_suite(
                target, idp, only=_selectors(args.only), skip=_selectors(args.skip)
            )
            issuer = idp.url
    except (ConfigurationError, RuntimeError) as exc:  # the test IdP could not listen
        return _usage(str(exc))
    code = _finish(report, args)
    _hint_when_no_id_jag_is_redeemed(report, issuer, args.client_id)
    return code


# The case that redeems a valid ID-JAG: when it fails, most of the suite fails with it.
_BASELINE = "ras-accepts-valid-id-jag"


def _hint_when_no_id_jag_is_redeemed(report: Any, issuer: str, client_id: str) -> None:
    """One line on stderr naming the likely cause when the AS refused a valid ID-JAG: it
    does not trust the test IdP, or does not know the client (draft §4.4.1)."""
    baseline = [r for r in report.results if r.case.id == _BASELINE and r.broken]
    if not baseline:
        return
    print(
        f"xaa conformance: the AS refused a valid ID-JAG ({baseline[0].message}); does it"
        f" trust the test IdP {issuer} (--test-idp-url) and know client {client_id!r}?",
        file=sys.stderr,
    )


def _read(path: Path | None) -> str | None:
    return path.read_text().strip() if path is not None else None


def _idp(args: argparse.Namespace) -> int:
    from ..conformance._idp import IDP, IdpTarget, run_idp_suite

    try:
        IDP.select(_selectors(args.only), _selectors(args.skip))
        login = None
        if args.login is not None:
            user, sep, password = args.login.partition(":")
            if not sep:
                return _usage("--login takes USER:PASSWORD")
            login = (user, password)
        target = IdpTarget(
            issuer=args.issuer,
            client=_credentials(args),
            audience=args.audience,
            id_token=_read(args.id_token_file),
            login=login,
            redirect_uri=args.redirect_uri,
            expect_client_id=args.expect_client_id,
            scope=args.scope,
            resource=args.resource,
            other_client_id_token=_read(args.other_client_id_token),
            other_client_refresh_token=_read(args.other_client_refresh_token),
        )
    except (ValueError, OSError) as exc:
        return _usage(str(exc))
    report = run_idp_suite(target, only=_selectors(args.only), skip=_selectors(args.skip))
    return _finish(report, args)


def _client(args: argparse.Namespace) -> int:
    from ..conformance._client import CLIENT, ClientTarget, run_client_suite

    try:
        CLIENT.select(_selectors(args.only), _selectors(args.skip))
    except ValueError as exc:
        return _usage(str(exc))
    target = ClientTarget(args.command, timeout=args.timeout)
    report = run_client_suite(target, only=_selectors(args.only), skip=_selectors(args.skip))
    return _finish(report, args)


def _test_idp(args: argparse.Namespace) -> int:
    from ..adapters.serving import serve
    from ..conformance._serving import host_port
    from ..conformance._test_idp import TestIdp

    try:
        idp = TestIdp(
            args.test_idp_url, extra_keys=not args.no_extra_keys, keys_file=args.keys_file
        )
        host, port = host_port(idp.url)
    except ValueError as exc:
        return _usage(str(exc))
    print(f"xaa conformance test IdP: issuer {idp.url}, JWKS {idp.jwks_uri}", flush=True)
    serve(idp.app(), host, port)
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..conformance import SUITES

    suites = [s for s in SUITES if args.suite in (None, s.name)]
    rows = [
        {
            "id": c.id,
            "suite": c.suite,
            "level": c.level.value,
            "section": c.section,
            "tags": sorted(c.tags),
            "risk": c.risk,
        }
        for s in suites
        for c in s.cases
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif args.markdown:
        from ..conformance._reporters import render_cases_markdown

        print(render_cases_markdown(suites), end="")
    else:
        for row in rows:
            print(f"{row['id']:<60} {row['level']:<13} {row['section']}")
        print(f"\n{len(rows)} cases")
    return 0
