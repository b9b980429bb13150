"""Raw HTTP/1.1 over a socket (for requests httpx will not send) and server log capture."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["RawResponse", "captured_logs", "raw_request", "read_response"]

# Every logger a served app writes through: uvicorn's own do not propagate to the root.
SERVER_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio")


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    raw_headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _read_until(sock: socket.socket, buf: bytearray, marker: bytes) -> int:
    while (index := buf.find(marker)) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before " + repr(marker))
        buf += chunk
    return index


def read_response(sock: socket.socket) -> RawResponse:
    """One response from ``sock`` (Content-Length or chunked or read-to-close)."""
    buf = bytearray()
    end = _read_until(sock, buf, b"\r\n\r\n")
    head, rest = bytes(buf[:end]).decode("latin-1"), bytearray(buf[end + 4 :])
    lines = head.split("\r\n")
    status = int(lines[0].split(" ")[1])
    raw = [
        (k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])
    ]
    headers: dict[str, str] = {}
    for key, value in raw:
        headers.setdefault(key, value)
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(rest) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return RawResponse(status, headers, bytes(rest[:size]), raw)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            end = _read_until(sock, rest, b"\r\n")
            size = int(bytes(rest[:end]).split(b";")[0], 16)
            del rest[: end + 2]
            while len(rest) < size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("chunked body cut")
                rest += chunk
            if size == 0:
                return RawResponse(status, headers, bytes(body), raw)
            body += rest[:size]
            del rest[: size + 2]
    while chunk := sock.recv(65536):
        rest += chunk
    return RawResponse(status, headers, bytes(rest), raw)


def raw_request(base: str, request: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send ``request`` (bytes as they go on the wire) to ``base``; read one response."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout) as s:
        s.sendall(request)
        return read_response(s)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Records of every server logger at WARNING or above, while the block runs."""
    handler = _Collect()
    handler.setLevel(logging.WARNING)
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def loud(records: list[logging.LogRecord]) -> list[str]:
    """The records a bad request must never cause: warnings, errors, tracebacks."""
    return [
        f"{r.name} {r.levelname} {r.getMessage()[:200]}"
        for r in records
        if r.levelno >= logging.WARNING or r.exc_info
    ]
