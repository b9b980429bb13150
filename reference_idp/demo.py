"""The IdP half of ``make demo``: log alice in through the real login form, get her ID
token, exchange it for an ID-JAG, and show the decoded ID-JAG.

``run_idp_demo(issuer_url)`` talks HTTP (httpx) to a running reference IdP;
``start_idp()`` runs one in-process (a thread) and ``start_idp_process()`` as a
subprocess (``xaa idp serve``). Uses the demo configuration's clients.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from xaa import JwkSet, basic_header, encode_form, pkce, spec, verify_id_jag, verify_id_token

WIKI = "wiki"
WIKI_SECRET = "wiki-secret"  # demo configuration: public, demo only
WIKI_REDIRECT = "http://127.0.0.1:9700/callback"
CHAT_AS = "http://127.0.0.1:9500"
CHAT_API = "http://127.0.0.1:9500/api"
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def login(
    http: httpx.Client,
    issuer_url: str,
    *,
    username: str = "alice",
    password: str = "alice",
    client_id: str = WIKI,
    redirect_uri: str = WIKI_REDIRECT,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Authorization code flow with PKCE through the HTML login form; returns the code,
    the PKCE verifier and the nonce."""
    verifier, challenge = pkce.new_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    page = http.get(
        f"{issuer_url}/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email offline_access",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **(extra or {}),
        },
    )
    if page.status_code == 200:  # the login form: fill it in like a browser would
        hidden = dict(_HIDDEN.findall(page.text))
        page = http.post(
            f"{issuer_url}/login",
            data={**hidden, "username": username, "password": password},
        )
    if page.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {page.status_code}")
    location = urlsplit(page.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    if query.get("state") != state or query.get("iss") != issuer_url or "code" not in query:
        raise RuntimeError("authorization response is not for this request")
    return {"code": query["code"], "code_verifier": verifier, "nonce": nonce}


def run_idp_demo(issuer_url: str) -> dict[str, Any]:
    """Every HTTP step against a running reference IdP (demo configuration); returns the
    ID token, the ID-JAG, the token exchange response and the decoded, verified ID-JAG."""
    issuer_url = issuer_url.rstrip("/")
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        meta = http.get(f"{issuer_url}{spec.WELL_KNOWN_OPENID}").json()
        if meta["issuer"] != issuer_url:
            raise RuntimeError("metadata issuer differs from the IdP we asked")
        auth = login(http, issuer_url)
        basic = {"authorization": basic_header(WIKI, WIKI_SECRET)}
        tokens = http.post(
            meta["token_endpoint"],
            headers={**basic, "content-type": spec.MEDIA_TYPE_FORM},
            content=encode_form(
                {
                    "grant_type": spec.GRANT_AUTHORIZATION_CODE,
                    "code": auth["code"],
                    "code_verifier": auth["code_verifier"],
                    "redirect_uri": WIKI_REDIRECT,
                }
            ),
        ).json()
        keys = JwkSet.from_jwks(http.get(meta["jwks_uri"]).json())
        id_token = verify_id_token(
            tokens["id_token"], keys=keys, issuer=issuer_url, client_id=WIKI
        ).claims
        if id_token.nonce != auth["nonce"]:
            raise RuntimeError("ID token nonce mismatch")
        exchange = http.post(
            meta["token_endpoint"],
            headers={**basic, "content-type": spec.MEDIA_TYPE_FORM},
            content=encode_form(
                {
                    "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                    "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
                    "audience": CHAT_AS,
                    "resource": CHAT_API,
                    "scope": "chat.read chat.history",
                    "subject_token": tokens["id_token"],
                    "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
                }
            ),
        ).json()
        id_jag = verify_id_jag(
            exchange["access_token"],
            keys=keys,
            issuer=issuer_url,
            audience=CHAT_AS,
            client_id="wiki-at-chat",
        )
    return {
        "id_token": tokens["id_token"],
        "refresh_token": tokens["refresh_token"],
        "id_token_claims": id_token.to_json(),
        "token_exchange_response": exchange,
        "id_jag": exchange["access_token"],
        "id_jag_header": id_jag.header,
        "id_jag_claims": id_jag.claims.to_json(),
    }


@contextlib.contextmanager
def start_idp(port: int = 9400, db: str = ":memory:", host: str = "127.0.0.1") -> Iterator[str]:
    """Run the reference IdP (demo configuration) in this process; yields its issuer URL."""
    from xaa.adapters.serving import serve_in_thread

    from .app import create_app
    from .config import load_config
    from .store import Store

    issuer = f"http://{host}:{port}"
    with serve_in_thread(create_app(load_config().with_issuer(issuer), Store(db)), host, port):
        yield issuer


@contextlib.contextmanager
def start_idp_process(
    port: int = 9400, db: str = ":memory:", host: str = "127.0.0.1"
) -> Iterator[str]:
    """Run ``xaa idp serve`` as a subprocess; yields its issuer URL once it answers."""
    issuer = f"http://{host}:{port}"
    cmd = [sys.executable, "-m", "xaa", "idp", "serve", "--host", host, "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--db", db], stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{issuer}{spec.WELL_KNOWN_OPENID}", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the IdP did not start") from None
                time.sleep(0.1)
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Start the IdP in-process (on a free port unless ``--port``), run the demo, print
    the decoded ID-JAG. A port that cannot be served is one line and exit 2."""
    import argparse

    from xaa.adapters.serving import free_port

    parser = argparse.ArgumentParser(prog="python -m reference_idp.demo")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    args = parser.parse_args(argv)
    port = free_port() if args.port is None else args.port
    try:
        with socket.socket() as probe:  # before uvicorn, which would log and raise
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
    except OSError as exc:
        print(f"{parser.prog}: cannot listen on 127.0.0.1:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    with start_idp(port) as issuer:
        print(f"reference IdP (demo configuration) at {issuer}", flush=True)
        result = run_idp_demo(issuer)
    print("ID-JAG header:", json.dumps(result["id_jag_header"], indent=2))
    print("ID-JAG claims:", json.dumps(result["id_jag_claims"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
