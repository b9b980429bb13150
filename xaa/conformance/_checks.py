"""What every answer of a token endpoint must look like, checked from outside.

A rejection (RFC 6749 §5.2, docs/errors.md): the expected status and ``error``
code, a JSON object body, ``Cache-Control: no-store``, no ``access_token`` and
no ``refresh_token``, never a 5xx, and none of the presented token's bytes echoed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from xaa import spec
from xaa._forms import encode_form
from xaa._safejson import parse_json

from ._registry import CaseFailed


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP response: status, lowercase headers, body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        """From an httpx response."""
        return cls(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    def json(self) -> dict[str, Any] | None:
        """The body as a JSON object, or ``None``."""
        try:
            value = parse_json(self.body)  # a hostile server's body: bounded (xaa._safejson)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def describe(self) -> str:
        """``HTTP 400 invalid_grant`` (for messages; never the body's tokens)."""
        body = self.json() or {}
        error = body.get("error")
        return f"HTTP {self.status}" + (f" {error}" if isinstance(error, str) else "")


def post_form(
    http: httpx.Client,
    url: str,
    params: Mapping[str, str | list[str]],
    *,
    client_auth: Callable[[dict[str, str | list[str]]], dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    raw_body: bytes | None = None,
) -> Answer:
    """POST ``params`` as a form (RFC 6749 §3.2), authenticated by ``client_auth`` (which adds
    to the form and returns headers), then ``headers``; ``raw_body`` replaces the encoded form."""
    form = dict(params)
    out = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
    if client_auth is not None:
        out.update(client_auth(form))
    out.update(headers or {})
    body = raw_body if raw_body is not None else encode_form(form)
    return Answer.of(http.post(url, content=body, headers=out))


def _one_of(value: object, expected: str | int | Iterable[Any]) -> bool:
    if isinstance(expected, str | int):
        return value == expected
    return value in set(expected)


def _show(expected: str | int | Iterable[Any]) -> str:
    if isinstance(expected, str | int):
        return str(expected)
    return " or ".join(str(e) for e in expected)


def expect_no_store(answer: Answer) -> None:
    """``Cache-Control: no-store`` (RFC 6749 §5.1)."""
    directives = {d.strip().lower() for d in answer.headers.get("cache-control", "").split(",")}
    if "no-store" not in directives:
        raise CaseFailed(f"{answer.describe()} without Cache-Control: no-store")


def expect_error(
    answer: Answer,
    *,
    error: str | Iterable[str],
    status: int | Iterable[int] = 400,
    secrets: Iterable[str] = (),
) -> None:
    """The answer is the expected RFC 6749 §5.2 rejection and issued nothing."""
    body = answer.json()
    if body is not None and (spec.R_ACCESS_TOKEN in body or answer.status == 200):
        raise CaseFailed(f"accepted: {answer.describe()} issued a token, expected {_show(error)}")
    if answer.status >= 500 and answer.status != 503:
        raise CaseFailed(f"{answer.describe()}: a server error instead of {_show(error)}")
    if body is None:
        raise CaseFailed(f"HTTP {answer.status} with a body that is not a JSON object")
    if spec.R_REFRESH_TOKEN in body:
        raise CaseFailed("a refresh token in an error response")
    if not _one_of(body.get("error"), error) or not _one_of(answer.status, status):
        raise CaseFailed(f"{answer.describe()}, expected HTTP {_show(status)} {_show(error)}")
    expect_no_store(answer)
    text = answer.body.decode("utf-8", "replace") + json.dumps(answer.headers)
    for secret in secrets:
        pieces = [secret, *secret.split(".")]
        if any(len(piece) >= 16 and piece in text for piece in pieces):
            raise CaseFailed("the error response echoes the presented token or secret")


def expect_token(answer: Answer) -> dict[str, Any]:
    """A 200 token response (RFC 6749 §5.1) with ``no-store``; returns its body."""
    body = answer.json()
    if answer.status != 200 or body is None:
        raise CaseFailed(f"{answer.describe()}, expected HTTP 200 with a token")
    token = body.get(spec.R_ACCESS_TOKEN)
    if not isinstance(token, str) or not token:
        raise CaseFailed("HTTP 200 without access_token")
    if not isinstance(body.get(spec.R_TOKEN_TYPE), str):
        raise CaseFailed("token response without token_type")
    expect_no_store(answer)
    return body


def metadata_url(issuer: str, well_known: str = spec.WELL_KNOWN_OAUTH_AS) -> str:
    """RFC 8414 §3.1: the well-known path inserted between host and issuer path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, well_known + path, "", ""))


def fetch_json(http: httpx.Client, url: str) -> dict[str, Any]:
    """GET a JSON object or fail the case."""
    answer = Answer.of(http.get(url, headers={"accept": "application/json"}))
    body = answer.json()
    if answer.status != 200 or body is None:
        raise CaseFailed(f"GET {url}: {answer.describe()}, expected a JSON object")
    return body


def expect_issuer(metadata: dict[str, Any], issuer: str) -> None:
    """The metadata names the issuer identifier it was fetched for (RFC 8414 §3.3)."""
    if metadata.get(spec.M_ISSUER) != issuer:
        raise CaseFailed("the metadata issuer is not the issuer identifier it was fetched for")


def expect_listed(metadata: dict[str, Any], member: str, value: str, what: str) -> None:
    """The metadata ``member`` is an array holding ``value`` (``what``, for the message)."""
    values = metadata.get(member)
    if not isinstance(values, list) or value not in values:
        raise CaseFailed(f"{member} lacks {what}")


def expect_basic_challenge(answer: Answer) -> None:
    """A 401 ``invalid_client`` after Basic carries a Basic challenge (RFC 6749 §5.2)."""
    if not answer.headers.get("www-authenticate", "").lower().startswith("basic"):
        raise CaseFailed("401 invalid_client after Basic without a Basic WWW-Authenticate")


def expect_public_jwks(jwks: dict[str, Any]) -> None:
    """A published JWKS holds public asymmetric keys only (:func:`jwks_problems`)."""
    problems = jwks_problems(jwks)
    if problems:
        raise CaseFailed("JWKS: " + ", ".join(problems))


_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def jwks_problems(jwks: dict[str, Any]) -> list[str]:
    """What is wrong with a published JWKS (RFC 7517 §5, OpenID Connect Discovery §3)."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return ["no keys array"]
    problems = []
    kids = [k.get("kid") for k in keys if isinstance(k, dict)]
    if len([k for k in kids if k is not None]) != len({k for k in kids if k is not None}):
        problems.append("duplicate kid")
    for key in keys:
        if not isinstance(key, dict):
            problems.append("a key that is not an object")
            continue
        if key.get("kty") == "oct":
            problems.append("a symmetric key")
        if _PRIVATE_MEMBERS & key.keys():
            problems.append(f"private members {sorted(_PRIVATE_MEMBERS & key.keys())}")
    return problems
