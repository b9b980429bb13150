"""Helpers for the top-level ``make demo``: start the chat app, redeem an ID-JAG, use the API.

- :func:`running_chat` starts the app (in this process on a thread, or as an
  ``xaa resource serve`` subprocess) and yields its base URL.
- :func:`redeem_id_jag` presents an ID-JAG at ``/token`` (draft §4.4).
- :func:`chat_round_trip` reads channels, reads messages, posts a message
  and returns everything it got.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from xaa import spec
from xaa.adapters.serving import serve_in_thread

from .app import create_app
from .settings import Settings


def _wait_until_up(base: str, alive: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the chat app exited")
        try:
            if httpx.get(base + "/jwks.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the chat app did not start")


@contextlib.contextmanager
def running_chat(
    settings: Settings | None = None, *, subprocess_args: Sequence[str] | None = None
) -> Iterator[str]:
    """Run the chat app; yields its base URL and stops it afterwards.

    With ``subprocess_args`` (extra ``xaa resource serve`` options, may be
    empty) it runs as a subprocess; otherwise in this process under uvicorn.
    """
    chosen = settings or Settings.make()
    base = f"http://{chosen.host}:{chosen.port}"
    if subprocess_args is not None:
        cmd = [
            sys.executable,
            "-m",
            "xaa",
            "resource",
            "serve",
            "--port",
            str(chosen.port),
            "--issuer",
            chosen.issuer,
            "--db",
            chosen.db,
            *subprocess_args,
        ]
        if chosen.legacy:
            cmd.append("--legacy")
        proc = subprocess.Popen(cmd)  # noqa: S603 (our own interpreter and arguments)
        try:
            _wait_until_up(base, lambda: proc.poll() is None)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return
    with serve_in_thread(create_app(chosen), chosen.host, chosen.port) as url:
        yield url


def redeem_id_jag(
    base: str, assertion: str, client_id: str = "wiki-at-chat", secret: str = "wiki-chat-secret"
) -> dict[str, Any]:
    """Present an ID-JAG with the jwt-bearer grant; returns the JSON token response."""
    response = httpx.post(
        base + "/token",
        data={"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion},
        auth=(client_id, secret),
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise RuntimeError(f"token request refused: {body.get('error')}")
    return body


def chat_round_trip(
    base: str, access_token: str, *, channel: str = "general", text: str = "Hello from the demo"
) -> dict[str, Any]:
    """Read channels, read messages, post ``text``; returns what each call answered."""
    headers = {"authorization": f"Bearer {access_token}"}
    with httpx.Client(base_url=base, headers=headers) as api:
        channels = api.get("/api/channels")
        before = api.get(f"/api/channels/{channel}/messages")
        posted = api.post(f"/api/channels/{channel}/messages", json={"text": text})
        after = api.get(f"/api/channels/{channel}/messages")
    return {
        "channels": {"status": channels.status_code, "body": channels.json()},
        "messages_before": {"status": before.status_code, "body": before.json()},
        "posted": {"status": posted.status_code, "body": posted.json()},
        "messages_after": {"status": after.status_code, "body": after.json()},
    }
