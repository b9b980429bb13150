"""A real ``redis-server`` for tests: free loopback port, no persistence, stopped after use.

When ``redis-server`` is missing the tests skip locally but FAIL when the
environment variable ``CI`` is set (CI must not skip them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.servers import free_port


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("redis-server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("redis-server did not start")


def start_redis(
    port: int | None = None, *, cwd: str | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``redis-server`` (on ``port``, else a free one; files it writes go to ``cwd``);
    returns its URL and process (the caller stops it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (CI must run the Redis tests)")
        pytest.skip("redis-server is not installed")
    port = port or free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
    )
    try:
        _wait_for(port, proc)
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise
    return f"redis://127.0.0.1:{port}/0", proc


def stop_redis(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start_redis`."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a fresh ``redis-server`` for this test session."""
    url, proc = start_redis()
    try:
        yield url
    finally:
        stop_redis(proc)
