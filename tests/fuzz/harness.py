"""A seeded HTTP fuzzer for both reference apps, served by real uvicorn on loopback.

Routes are read from the Starlette apps, so a new endpoint is fuzzed without a
change here. Each request belongs to a category (repeated parameters, big
bodies, wrong content types, bad percent-encoding, non-UTF-8 bytes, giant and
nested JWTs, many ``Authorization`` headers, CRLF, conflicting framing, aborted
bodies, ...) and is sent as raw bytes. A finding is: a 5xx other than a 503
``temporarily_unavailable``; a 4xx from an OAuth endpoint that is not RFC 6749
JSON with ``no-store``; a stall; a secret or token of the request echoed in the
response; any warning, error or traceback in the servers' logs
(docs/resource.md, "HTTP edge").
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import random
import re
import select
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Route

from reference_idp.app import create_app as create_idp
from reference_idp.config import load_config
from reference_idp.demo import WIKI_REDIRECT, login
from reference_idp.store import Store
from reference_resource import Settings
from reference_resource import create_app as create_chat
from tests.support.rawhttp import captured_logs, loud, read_response
from xaa import IdJagClaims, SigningKey, basic_header, issue_id_jag, spec
from xaa.adapters.serving import free_port, serve_in_thread

__all__ = ["WEIGHTS", "Fuzzer", "Report", "Target", "app_routes", "fuzz"]

OAUTH_PATHS = frozenset({"/token", "/revoke"})
JSON_PATHS = frozenset({"/notes", "/v1/token"})  # the vendors' notes API, the broker's API
BROKER_JSON_PATHS = frozenset({"/v1/token"})
FORM_PATHS = frozenset({"/token", "/revoke", "/login", "/consent"})
STATIC_SECRETS = ("wiki-secret", "wiki-chat-secret", "agent-chat-secret", "agent-secret")
UVICORN_400 = b"Invalid HTTP request received."
# werkzeug's dev server (http.server) refusing a request line or header it cannot parse,
# before any app runs: its HTML error page, and "code 400, message ..." in its log.
WERKZEUG_PARSER_PAGE = b"<title>Error response</title>"
TIMEOUT = 10.0
PARAMS = (
    "grant_type",
    "assertion",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "scope",
    "resource",
    "audience",
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "actor_token",
    "actor_token_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "refresh_token",
    "token",
    "authorization_details",
    "username",
    "password",
    "request_id",
    "csrf_token",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "sp",
    "acs",
    "RelayState",
    "text",
)
SECRET_PARAMS = frozenset(
    {
        "assertion",
        "client_secret",
        "client_assertion",
        "subject_token",
        "actor_token",
        "code",
        "code_verifier",
        "refresh_token",
        "token",
        "password",
    }
)
GRANTS = (
    spec.GRANT_JWT_BEARER,
    spec.GRANT_TOKEN_EXCHANGE,
    spec.GRANT_AUTHORIZATION_CODE,
    spec.GRANT_REFRESH_TOKEN,
    "client_credentials",
    "",
)


# Categories (each a method of Fuzzer) and how often each is drawn.
WEIGHTS = {
    "valid_mutated": 16,
    "repeat_params": 8,
    "content_type": 6,
    "percent": 8,
    "non_utf8": 6,
    "jwt_giant": 4,
    "jwt_nested": 6,
    "multi_auth": 6,
    "crlf": 4,
    "framing": 5,
    "aborted": 3,
    "json_body": 6,
    "query": 5,
    "method": 3,
    "big_body": 1,
    "dpop": 4,
}


@dataclass
class Target:
    """One served app: its base URL, its routes, and credentials that reach deep paths."""

    name: str
    base: str
    routes: list[tuple[str, tuple[str, ...]]]
    basic: str
    tokens: dict[str, str] = field(default_factory=dict)
    oauth_paths: frozenset[str] = OAUTH_PATHS  # RFC 6749 error JSON with no-store on a 4xx

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


@dataclass
class Case:
    category: str
    target: Target
    path: str
    wire: bytes
    secrets: list[str] = field(default_factory=list)
    abort: bool = False  # the client closes before the request is complete: no answer
    stream: bool = False  # a big body: stop sending once the server has answered


@dataclass
class Report:
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    busy: Counter[str] = field(default_factory=Counter)
    by_target: dict[str, Counter[str]] = field(default_factory=dict)  # statuses per target
    seconds: float = 0.0

    def add(self, finding: str) -> None:
        if len(self.findings) < 200:
            self.findings.append(finding)

    def summary(self) -> str:
        total = sum(self.sent.values())
        rate = total / self.seconds if self.seconds else 0.0
        lines = [f"sent {total} requests in {self.seconds:.1f} s ({rate:.0f}/s)", "by category:"]
        lines += [
            f"  {name:<18} {count:>7}  {self.busy[name]:6.1f} s"
            for name, count in sorted(self.sent.items())
        ]
        lines.append("came back:")
        lines += [f"  {name:<18} {count}" for name, count in sorted(self.statuses.items())]
        lines.append("by target:")
        for name, statuses in sorted(self.by_target.items()):
            found = sum(1 for f in self.findings if f.split(" ")[1:2] == [name])
            counts = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
            lines.append(f"  {name:<8} {statuses.total():>7}  findings {found:<3} {counts}")
        lines.append(f"findings: {len(self.findings)}")
        lines += [f"  {finding}" for finding in self.findings[:50]]
        return "\n".join(lines)


def app_routes(app: Any) -> list[tuple[str, tuple[str, ...]]]:
    """``(path, methods)`` of every route of a Starlette app (``GET`` when none is named)."""
    out = []
    for route in app.routes:
        if isinstance(route, Route):
            methods = tuple(sorted((route.methods or {"GET"}) - {"HEAD"}))
            out.append((route.path, methods))
    return out


# -- request building ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def wire(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes | None = None,
    *,
    framing: str = "length",
) -> bytes:
    """An HTTP/1.1 request as bytes (headers are Latin-1, as on the wire)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    payload = b""
    if body is not None and framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif body is not None and framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        size = 65536
        parts = [body[i : i + size] for i in range(0, len(body), size)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    elif body is not None:
        payload = body
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + payload


class Fuzzer:
    """Makes seeded cases for the targets (one generator per category)."""

    def __init__(self, targets: list[Target], seed: int, jwt_key: SigningKey) -> None:
        self.rng = random.Random(seed)
        self.targets = targets
        self.key = jwt_key
        self.categories: list[tuple[str, Callable[[Target, str, str], Case], int]] = [
            (name, getattr(self, name), weight) for name, weight in WEIGHTS.items()
        ]
        self.weights = [w for _, _, w in self.categories]

    # -- helpers -----------------------------------------------------------------------------

    def marker(self) -> str:
        return "sEcReT" + "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=18))

    def path_of(self, template: str) -> str:
        choices = ["general", "random", "nope", "%ff", "..%2f..", "x" * 300, "%00", "g%C3%A9"]
        return re.sub(r"\{[^}]+\}", lambda _: self.rng.choice(choices), template)

    def jwt(self, *, size: int = 0, depth: int = 0, sign: bool = False) -> str:
        header: Any = {"alg": "ES256", "kid": self.key.kid, "typ": "oauth-id-jag+jwt"}
        claims: Any = {
            "iss": self.rng.choice([self.targets[0].base, "https://evil.example", ""]),
            "sub": "alice",
            "aud": self.rng.choice([t.base for t in self.targets]),
            "client_id": "wiki-at-chat",
            "jti": self.marker(),
            "iat": int(time.time()),
            "exp": int(time.time()) + 300,
            "scope": "chat.read",
        }
        if size:
            claims["pad"] = "A" * size
        if depth:  # nested as text: the encoder would recurse as deep as the parser
            where = self.rng.choice(["header", "claims", "act", "raw"])
            if where == "raw":
                raw = _b64(b"[" * depth)
                return f"{raw}.{_b64(json.dumps(claims).encode())}.{_b64(b'sig' * 20)}"
            if where == "act":
                nested = '{"sub":"x","act":' * depth + '{"sub":"x"}' + "}" * depth
            else:
                nested = "[" * depth + "]" * depth
            doc = header if where == "header" else claims
            text = json.dumps(doc)[:-1] + f',"{"act" if where == "act" else "x"}":{nested}}}'
            h = _b64(json.dumps(header).encode()) if where != "header" else _b64(text.encode())
            p = _b64(text.encode()) if where != "header" else _b64(json.dumps(claims).encode())
            return f"{h}.{p}.{_b64(self.rng.randbytes(64))}"
        h = _b64(json.dumps(header).encode())
        p = _b64(json.dumps(claims).encode())
        if sign:
            return f"{h}.{p}.{_b64(self.key.sign(f'{h}.{p}'.encode()))}"
        return f"{h}.{p}.{_b64(self.rng.randbytes(64))}"

    def value(self, name: str, target: Target, secrets: list[str]) -> str:
        r = self.rng.random()
        if name == "grant_type":
            return self.rng.choice(GRANTS)
        if name in ("subject_token_type", "requested_token_type", "actor_token_type"):
            return self.rng.choice(
                [spec.TOKEN_TYPE_ID_TOKEN, spec.TOKEN_TYPE_ID_JAG, spec.TOKEN_TYPE_REFRESH_TOKEN]
            )
        if name in ("audience", "resource", "redirect_uri", "acs"):
            return self.rng.choice([target.base, target.base + "/api", WIKI_REDIRECT, "x"])
        if name in SECRET_PARAMS:
            token = target.tokens.get(name) if r < 0.4 else None
            token = token or (self.jwt() if r < 0.8 else self.marker())
            secrets.append(token)
            return token
        if name == "authorization_details":
            return self.rng.choice(['[{"type":"chat_read"}]', "[" * 500, '{"a":1,"a":2}', "["])
        return self.rng.choice(["chat.read", "openid", "wiki-at-chat", "wiki", "a b", "", "%"])

    def form(self, target: Target, secrets: list[str], repeat: bool = False) -> bytes:
        names = self.rng.sample(PARAMS, self.rng.randint(1, 8))
        if self.rng.random() < 0.7:
            names.insert(0, "grant_type")
        pairs = []
        for name in names:
            for _ in range(self.rng.randint(2, 4) if repeat and self.rng.random() < 0.5 else 1):
                value = self.value(name, target, secrets)
                pairs.append(name.encode() + b"=" + _quote(value.encode("utf-8")))
        return b"&".join(pairs)

    def auth(self, target: Target, secrets: list[str]) -> list[tuple[str, str]]:
        r = self.rng.random()
        if r < 0.35:
            return [("Authorization", target.basic)]
        if r < 0.6 and "bearer" in target.tokens:
            return [("Authorization", target.tokens["bearer"])]
        if r < 0.75:
            token = self.marker()
            secrets.append(token)
            return [("Authorization", self.rng.choice(["Bearer ", "Basic ", "DPoP "]) + token)]
        return []

    def content_headers(self, path: str) -> list[tuple[str, str]]:
        if _is_json(path):
            return [("Content-Type", "application/json")]
        return [("Content-Type", spec.MEDIA_TYPE_FORM)]

    def body_for(self, target: Target, path: str, secrets: list[str]) -> bytes:
        if path in BROKER_JSON_PATHS:
            return self.broker_json(target, secrets)
        if _is_json(path):
            return json.dumps({"text": self.rng.choice(["hi", "é" * 10, "x" * 5000])}).encode()
        return self.form(target, secrets)

    def broker_json(self, target: Target, secrets: list[str]) -> bytes:
        """A broker ``/v1/token`` body: person, app, scopes and form parameters as members."""
        doc: dict[str, Any] = {
            "person": self.rng.choice(["alice", "bob", "", "x" * 300, None, 1]),
            "app": self.rng.choice(["chat", "legacy-chat", "nope", "", None, ["chat"]]),
            "scopes": self.rng.choice([["chat.read"], "chat.read", [], [1], None, ["x"] * 50]),
        }
        for name in self.rng.sample(PARAMS, self.rng.randint(0, 3)):
            doc[name] = self.value(name, target, secrets)
        if self.rng.random() < 0.4 and "client_assertion" in target.tokens:
            doc["client_assertion_type"] = spec.CLIENT_ASSERTION_TYPE_JWT_BEARER
            doc["client_assertion"] = target.tokens["client_assertion"]
            secrets.append(doc["client_assertion"])
        return json.dumps(doc).encode()

    def case(self, category: str, target: Target, path: str, request: bytes, **kw: Any) -> Case:
        return Case(category, target, path, request, **kw)

    # -- categories ----------------------------------------------------------------------------

    def valid_mutated(self, target: Target, template: str, method: str) -> Case:
        secrets: list[str] = []
        path = self.path_of(template)
        headers = self.auth(target, secrets)
        if method == "GET":
            return self.case(
                "valid_mutated", target, path, wire("GET", path, headers), secrets=secrets
            )
        body = self.body_for(target, path, secrets)
        headers += self.content_headers(path)
        request = wire(method, path, headers, body)
        return self.case("valid_mutated", target, path, request, secrets=secrets)

    def repeat_params(self, target: Target, template: str, method: str) -> Case:
        secrets: list[str] = []
        path = self.path_of(template)
        headers = self.auth(target, secrets) + self.content_headers(path)
        body = self.form(target, secrets, repeat=True)
        if method == "GET":
            return self.case(
                "repeat_params", target, path, wire("GET", f"{path}?{body.decode()}", headers)
            )
        return self.case(
            "repeat_params", target, path, wire(method, path, headers, body), secrets=secrets
        )

    def content_type(self, target: Target, template: str, method: str) -> Case:
        secrets: list[str] = []
        path = self.path_of(template)
        kind = self.rng.choice(
            [
                "application/json",
                "multipart/form-data; boundary=x",
                "text/plain",
                "APPLICATION/X-WWW-FORM-URLENCODED; charset=latin-1",
                "application/x-www-form-urlencoded;;;",
                "",
                "\x7f",
                "application/x-www-form-urlencoded, application/json",
            ]
        )
        headers = self.auth(target, secrets) + ([("Content-Type", kind)] if kind else [])
        body = self.body_for(target, path, secrets)
        if self.rng.random() < 0.3:
            body = json.dumps({"grant_type": spec.GRANT_JWT_BEARER, "text": "x"}).encode()
        return self.case(
            "content_type", target, path, wire(method, path, headers, body), secrets=secrets
        )

    def percent(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        bad = self.rng.choice(
            [
                "%",
                "%z",
                "%zz",
                "%e9",
                "%ff%fe",
                "%00",
                "%c0%af",
                "%ed%a0%80",
                "+%2B+",
                "%%%",
                "%u00e9",
            ]
        )
        name = self.rng.choice(PARAMS)
        body = f"grant_type={spec.GRANT_JWT_BEARER}&{name}=a{bad}b&{bad}=1".encode()
        headers = [("Authorization", target.basic), *self.content_headers(path)]
        if method == "GET" or self.rng.random() < 0.3:
            request = wire(method, f"{path}?{body.decode()}", headers)
        else:
            request = wire(method, path, headers, body)
        return self.case("percent", target, path, request)

    def non_utf8(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        junk = self.rng.randbytes(self.rng.randint(1, 64)).replace(b"\r", b"").replace(b"\n", b"")
        where = self.rng.choice(["body", "header", "query", "basic", "path"])
        headers = [*self.content_headers(path)]
        body: bytes | None = None
        if method != "GET":
            body = b"grant_type=" + junk if where == "body" else self.body_for(target, path, [])
        target_path = path
        if where == "header":
            headers.append(("X-Junk", junk.decode("latin-1")))
        elif where == "basic":
            value = "Basic " + junk.decode("latin-1").strip()
            headers.append(("Authorization", value))
        elif where == "query":
            target_path = path + "?a=" + junk.decode("latin-1").replace(" ", "")
        elif where == "path":
            target_path = path + junk.decode("latin-1").replace(" ", "")
        if _is_json(path) and body is not None:
            body = b'{"text":"' + junk + b'"}'
        request = wire(method, target_path, headers, body)
        return self.case("non_utf8", target, target_path if where == "path" else path, request)

    def jwt_giant(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        token = self.jwt(size=self.rng.choice([9000, 40000, 60000, 200000]))
        where = self.rng.choice(["form", "bearer", "dpop", "client_assertion"])
        headers = self.content_headers(path)
        fields = {"grant_type": self.rng.choice(GRANTS), "assertion": "x", "subject_token": "x"}
        if where == "form":
            fields[self.rng.choice(["assertion", "subject_token", "token", "refresh_token"])] = (
                token
            )
        elif where == "client_assertion":
            fields["client_assertion"] = token
            fields["client_assertion_type"] = spec.CLIENT_ASSERTION_TYPE_JWT_BEARER
        elif where == "bearer":
            headers = [*headers, ("Authorization", "Bearer " + token[:60000])]
        else:
            headers = [*headers, ("DPoP", token[:60000]), ("Authorization", target.basic)]
        body = b"&".join(f"{k}={v}".encode() for k, v in fields.items())
        request = wire(method, path, headers, body if method != "GET" else None)
        return self.case("jwt_giant", target, path, request, secrets=[token], stream=True)

    def jwt_nested(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        token = self.jwt(depth=self.rng.choice([40, 200, 3000]), sign=self.rng.random() < 0.3)
        name = self.rng.choice(["assertion", "subject_token", "client_assertion", "actor_token"])
        fields = {
            "grant_type": self.rng.choice(GRANTS),
            name: token,
            "client_assertion_type": spec.CLIENT_ASSERTION_TYPE_JWT_BEARER,
            "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
        }
        if name == "client_assertion":
            fields["assertion"] = self.jwt()
        headers = [*self.content_headers(path)]
        if self.rng.random() < 0.5:
            headers.append(("Authorization", self.rng.choice([target.basic, "Bearer " + token])))
        elif self.rng.random() < 0.5:
            headers.append(("DPoP", token))
        body = b"&".join(f"{k}={v}".encode() for k, v in fields.items())
        if _is_json(path):
            body = b'{"text":' * self.rng.choice([40, 5000]) + b'"x"'
        request = wire(method, path, headers, body if method != "GET" else None)
        return self.case("jwt_nested", target, path, request, secrets=[token])

    def multi_auth(self, target: Target, template: str, method: str) -> Case:
        secrets: list[str] = []
        path = self.path_of(template)
        values = [target.basic, target.tokens.get("bearer", "Bearer x"), "Basic eA==", "DPoP y"]
        headers = [
            ("Authorization", self.rng.choice(values))
            for _ in range(self.rng.choice([2, 3, 10, 50]))
        ]
        headers = [
            (self.rng.choice(["Authorization", "authorization", "AUTHORIZATION"]), v)
            for _, v in headers
        ]
        headers += self.content_headers(path)
        body = self.body_for(target, path, secrets) if method != "GET" else None
        return self.case(
            "multi_auth", target, path, wire(method, path, headers, body), secrets=secrets
        )

    def crlf(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        trick = self.rng.choice(
            [
                ("X-A", "a\r\nAuthorization: Basic eA=="),
                ("X-A", "a\nb"),
                ("X-A", "a\rb"),
                ("X-A", "a\r\n b"),  # obsolete line folding
                ("X A", "b"),
                ("Authorization", target.basic + "\r\n\r\nGET / HTTP/1.1"),
                ("", "x"),
            ]
        )
        head = wire(method, path, [trick, *self.content_headers(path)], b"grant_type=x")
        if self.rng.random() < 0.3:
            head = head.replace(b"\r\n", b"\n")
        elif self.rng.random() < 0.3:
            head = head.replace(b" HTTP/1.1", b"\r\nHTTP/1.1")
        return self.case("crlf", target, path, head)

    def framing(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        body = b"grant_type=authorization_code&code=x"
        headers = [("Authorization", target.basic), *self.content_headers(path)]
        kind = self.rng.randrange(8)
        if kind == 0:  # Content-Length and chunked
            headers += [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]
            raw = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        elif kind == 1:  # two different lengths
            headers += [("Content-Length", str(len(body))), ("Content-Length", "3")]
            raw = body
        elif kind == 2:
            headers += [
                (
                    "Content-Length",
                    self.rng.choice(["-1", "1e3", "0x10", " ", "99999999999999999999"]),
                )
            ]
            raw = body
        elif kind == 3:  # a malformed chunk size
            headers += [("Transfer-Encoding", "chunked")]
            raw = self.rng.choice(
                [b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nabc\r\n0\r\n\r\n", b"-1\r\n\r\n"]
            )
        elif kind == 4:  # chunk extensions and trailers
            headers += [("Transfer-Encoding", "chunked")]
            raw = b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(body), body)
        elif kind == 5:
            headers += [
                ("Transfer-Encoding", self.rng.choice(["gzip", "chunked, chunked", "identity"]))
            ]
            raw = body
        elif kind == 6:  # body with no length on a POST
            raw = b""
        else:  # pipelined garbage after a complete request
            headers += [("Content-Length", str(len(body)))]
            raw = body + b"\x00\x01 GARBAGE\r\n\r\n"
        return self.case("framing", target, path, wire(method, path, headers, raw, framing="raw"))

    def aborted(self, target: Target, template: str, method: str) -> Case:
        secrets: list[str] = []
        path = self.path_of(template)
        body = self.body_for(target, path, secrets)
        headers = [*self.auth(target, secrets), *self.content_headers(path)]
        request = wire(method if method != "GET" else "POST", path, headers, body)
        cut = (
            self.rng.randint(len(request) - len(body), len(request) - 1)
            if body
            else len(request) // 2
        )
        if self.rng.random() < 0.3:
            cut = self.rng.randint(1, max(1, len(request) - len(body)))  # inside the headers
        return self.case("aborted", target, path, request[:cut], abort=True, secrets=secrets)

    def json_body(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        body = self.rng.choice(
            [
                b'{"text":"\\ud800"}',
                b'{"text":"a\\udfffb"}',
                b'{"text":' + b"[" * 100000,
                b"[" * 60000,
                b'{"text":"' + b"x" * 5000 + b'"}',
                b'{"text":1e99999}',
                b'{"text":' + b"9" * 6000 + b"}",
                b'{"text":"a","text":"b"}',
                b'{"text":NaN}',
                b'{"text":"\xff\xfe"}',
                b'{"text":null}',
                b"",
                b"\x00",
                b'{"text":"' + "é".encode() * 3000 + b'"}',
            ]
        )
        headers = [("Authorization", target.tokens.get("bearer", target.basic))]
        headers.append(("Content-Type", "application/json"))
        return self.case(
            "json_body",
            target,
            path,
            wire(method if method != "GET" else "POST", path, headers, body),
        )

    def query(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        parts = [
            f"{self.rng.choice(PARAMS)}={self.rng.choice(['x', '', '%ff', 'a' * 3000, '%00'])}"
            for _ in range(self.rng.randint(1, 30))
        ]
        if self.rng.random() < 0.3:
            parts.append("access_token=" + self.marker())
        query = "&".join(parts)[:12000]
        headers = [
            ("Authorization", self.rng.choice([target.basic, target.tokens.get("bearer", "x")]))
        ]
        return self.case(
            "query",
            target,
            path,
            wire(method, f"{path}?{query}", headers, b"" if method != "GET" else None),
        )

    def method(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        other = self.rng.choice(
            ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "GET", "POST"]
        )
        request = wire(
            other, path, [("Authorization", target.basic)], b"x=1" if other != "HEAD" else None
        )
        return self.case("method", target, path, request)

    def big_body(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        size = self.rng.randint(1, 10) * 1024 * 1024
        body = (b"grant_type=x&assertion=" + b"A" * size)[:size]
        headers = [("Authorization", target.basic), *self.content_headers(path)]
        framing = self.rng.choice(["length", "chunked"])
        request = wire(method if method != "GET" else "POST", path, headers, body, framing=framing)
        return self.case("big_body", target, path, request, stream=True)

    def dpop(self, target: Target, template: str, method: str) -> Case:
        path = self.path_of(template)
        proofs = [
            self.jwt(),
            self.jwt(depth=self.rng.choice([40, 3000])),
            self.jwt(size=9000),
            "a.b.c",
            "\xe9.\xe9.\xe9",
            "",
        ]
        headers = [("DPoP", self.rng.choice(proofs)) for _ in range(self.rng.choice([1, 1, 2, 5]))]
        bearer = target.tokens.get("bearer", "Bearer x").split(" ", 1)[1]
        headers.append(("Authorization", self.rng.choice([f"DPoP {bearer}", target.basic])))
        headers += self.content_headers(path)
        secrets = [bearer, *(v for _, v in headers if v.count(".") == 2 and len(v) > 40)]
        body = self.body_for(target, path, []) if method != "GET" else None
        if body is not None and self.rng.random() < 0.5 and not _is_json(path):
            body = f"grant_type={spec.GRANT_JWT_DPOP}&assertion={self.jwt()}".encode()
        return self.case("dpop", target, path, wire(method, path, headers, body), secrets=secrets)

    def next_case(self) -> Case:
        target = self.rng.choice(self.targets)
        template, methods = self.rng.choice(target.routes)
        method = self.rng.choice(methods)
        name, make, _ = self.rng.choices(self.categories, weights=self.weights)[0]
        case = make(target, template, method)
        case.category = name
        return case


def _server_parser(body: bytes) -> bool:
    """The HTTP server's own refusal of a request it cannot parse (no app saw it)."""
    return body == UVICORN_400 or WERKZEUG_PARSER_PAGE in body


def _werkzeug_parser(record: logging.LogRecord) -> bool:
    """werkzeug's dev server logging its own 4xx refusal of an unparsable request, or its
    read timeout (``tests/support/wsgi.py``) when it drains a body that stopped arriving
    after the app had answered."""
    text = record.getMessage()
    if record.name == "werkzeug" and text.startswith("Error on request:"):
        return text.rstrip().endswith("OSError: cannot read from timed out object")
    return (
        record.name == "werkzeug"
        and re.match(r".*\] code 4\d\d, message ", record.getMessage()) is not None
    )


def _django_4xx(record: logging.LogRecord) -> bool:
    """Django logs every 4xx answer at WARNING ("Bad Request: /token"): not a fault."""
    status = getattr(record, "status_code", 500)
    return record.name == "django.request" and isinstance(status, int) and status < 500


def _is_json(path: str) -> bool:
    return "messages" in path or path in JSON_PATHS


def _quote(value: bytes) -> bytes:
    out = bytearray()
    for byte in value:
        if chr(byte).isalnum() or byte in b"-._~%":
            out.append(byte)
        else:
            out += b"%%%02X" % byte
    return bytes(out)


# -- sending and judging -----------------------------------------------------------------------


def send(case: Case) -> tuple[int | None, bytes, dict[str, str]]:
    """Send ``case``; ``(status, body, headers)``, ``(None, ...)`` when there is no answer."""
    with socket.create_connection(("127.0.0.1", case.target.port), TIMEOUT) as sock:
        if case.abort:
            sock.sendall(case.wire)
            return None, b"", {}
        if case.stream or len(case.wire) > 65536:  # the server may answer 413 mid-send
            view = memoryview(case.wire)
            for start in range(0, len(view), 65536):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                try:
                    sock.sendall(view[start : start + 65536])
                except OSError:
                    break
        else:
            sock.sendall(case.wire)
        try:
            response = read_response(sock)
        except (IndexError, ValueError):  # http.server's HTTP/0.9 answer to a bad request line
            return 400, WERKZEUG_PARSER_PAGE, {"x-fuzz-closed": "no status line"}
        except (ConnectionError, OSError) as exc:
            if isinstance(exc, TimeoutError | socket.timeout):
                raise
            return None, b"", {"x-fuzz-closed": type(exc).__name__}
        return response.status, response.body, response.headers


def judge(
    case: Case, status: int | None, body: bytes, headers: dict[str, str], report: Report
) -> None:
    where = f"{case.category} {case.target.name} {case.path[:60]}"
    if status is None:
        big = case.stream or len(case.wire) > 65536
        if not case.abort and not big and case.category not in ("framing", "crlf"):
            report.add(f"{where}: no answer ({headers.get('x-fuzz-closed')})")
        return
    if status >= 500:
        unavailable = status == 503 and b"temporarily_unavailable" in body
        if not unavailable:
            report.add(f"{where}: HTTP {status} {body[:120]!r}")
    if (
        400 <= status < 500
        and case.path in case.target.oauth_paths
        and status != 405
        and not _server_parser(body)
    ):
        try:
            parsed = json.loads(body)
            ok = isinstance(parsed, dict) and isinstance(parsed.get("error"), str)
        except ValueError:
            ok = False
        if not ok or headers.get("cache-control") != "no-store":
            report.add(f"{where}: HTTP {status} not RFC 6749 JSON with no-store: {body[:80]!r}")
    text = body.decode("latin-1") + json.dumps(headers)
    for secret in [*STATIC_SECRETS, *case.secrets]:
        pieces = [secret] if status < 300 else [secret, *secret.split(".")]
        if status < 300 and secret.count(".") == 2:
            pieces.append(secret.rsplit(".", 1)[1])
        if any(len(piece) >= 11 and piece in text for piece in pieces):
            report.add(f"{where}: HTTP {status} echoes a secret or token")
            break


def run(fuzzer: Fuzzer, report: Report, *, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        case = fuzzer.next_case()
        report.sent[case.category] += 1
        begun = time.monotonic()
        try:
            status, body, headers = send(case)
        except TimeoutError:
            report.add(f"{case.category} {case.target.name} {case.path}: stalled over {TIMEOUT} s")
            report.statuses["stall"] += 1
            continue
        came = str(status) if status is not None else "no answer"
        report.statuses[came] += 1
        report.by_target.setdefault(case.target.name, Counter())[came] += 1
        report.busy[case.category] += time.monotonic() - begun
        judge(case, status, body, headers, report)
    report.seconds = time.monotonic() - started


# -- the served apps ---------------------------------------------------------------------------


def _idp_tokens(issuer: str) -> dict[str, str]:
    """An authorization code flow at the reference IdP: its ID token and refresh token."""
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        auth = login(http, issuer)
        response = http.post(
            issuer + "/token",
            data={
                "grant_type": spec.GRANT_AUTHORIZATION_CODE,
                "code": auth["code"],
                "code_verifier": auth["code_verifier"],
                "redirect_uri": WIKI_REDIRECT,
            },
            headers={"authorization": basic_header("wiki", "wiki-secret")},
        )
        response.raise_for_status()
        tokens = response.json()
    return {
        "subject_token": tokens["id_token"],
        "refresh_token": tokens["refresh_token"],
        "token": tokens["refresh_token"],
        "bearer": "Bearer " + tokens["access_token"],
    }


def _chat_tokens(chat: str, idp_issuer: str, key: SigningKey) -> dict[str, str]:
    """An ID-JAG signed with the reference IdP's key, redeemed for a chat access token."""

    def jag() -> str:
        claims = IdJagClaims.new(
            issuer=idp_issuer,
            subject="alice",
            audience=chat,
            client_id="wiki-at-chat",
            scope="chat.read chat.history chat.write",
            email="alice@acme.example",
        )
        return issue_id_jag(claims, key)

    response = httpx.post(
        chat + "/token",
        data={"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag()},
        auth=("wiki-at-chat", "wiki-chat-secret"),
    )
    response.raise_for_status()
    return {"assertion": jag(), "bearer": "Bearer " + response.json()["access_token"]}


@contextlib.contextmanager
def served(tmp: Path | None = None) -> Iterator[list[Target]]:
    """Both reference apps on free loopback ports, the chat app trusting the IdP."""
    del tmp  # in memory
    idp_port, chat_port = free_port(), free_port()
    issuer, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    store = Store(":memory:")
    idp_app = create_idp(load_config().with_issuer(issuer), store)
    settings = Settings.make(
        port=chat_port,
        db=":memory:",
        replay="memory",
        trust_idps=[issuer],
        idp_email_domains=[(issuer, "acme.example")],  # the demo users' e-mail domain
    )
    chat_app = create_chat(settings)
    try:
        with serve_in_thread(idp_app, port=idp_port), serve_in_thread(chat_app, port=chat_port):
            idp = Target("idp", issuer, app_routes(idp_app), basic_header("wiki", "wiki-secret"))
            idp.tokens = _idp_tokens(issuer)
            chat_basic = basic_header("wiki-at-chat", "wiki-chat-secret")
            resource = Target("chat", chat, app_routes(chat_app), chat_basic)
            resource.tokens = _chat_tokens(chat, issuer, store.current)
            yield [idp, resource]
    finally:
        store.close()


def fuzz(
    *, count: int, seconds: float, seed: int, stacks: Sequence[str] = ("reference",)
) -> Report:
    """Fuzz the ``stacks`` (names of ``tests.fuzz.targets.STACKS``: ``reference``, ``broker``,
    ``vendors``) with up to ``count`` requests in ``seconds``; the report has the findings."""
    from tests.fuzz.targets import STACKS

    report = Report()
    with contextlib.ExitStack() as running, tempfile.TemporaryDirectory() as tmp:
        targets: list[Target] = []
        for name in stacks:
            targets += running.enter_context(STACKS[name](Path(tmp) / name))
        logs = running.enter_context(captured_logs())  # uvicorn's Config resets its loggers
        fuzzer = Fuzzer(targets, seed, SigningKey.generate("ES256", kid="fuzz"))
        run(fuzzer, report, count=count, seconds=seconds)
        time.sleep(0.3)  # let the servers finish logging the last aborted requests
    for line in dict.fromkeys(
        loud([r for r in logs if not (_django_4xx(r) or _werkzeug_parser(r))])
    ):
        report.add(f"log: {line}")
    return report
