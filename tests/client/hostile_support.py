"""A raw-socket HTTP/1.1 server on loopback whose routes misbehave on purpose.

Each route is a function writing whatever bytes it likes to the socket, so a
test can serve an endless body, a lying ``Content-Length`` or a drip feed.
Every misbehaviour is bounded in time (``MAX_ABUSE`` seconds) and stops when
the client hangs up, so a test never outlives it by much.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import socketserver
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.client.client_support import AS_CLIENT, IDP_CLIENT, NOW, Clock, id_jag, id_token
from xaa import spec
from xaa.client import ClientConfig, ClientCredentials, IdentitySession, IdpConfig

MAX_ABUSE = 4.0
MAX_ENDLESS = 64 * 1024 * 1024  # an "endless" body stops here (a client reading it all holds it)
CHUNK = b"x" * 16384


@dataclass
class Seen:
    """One request the server read."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Hostile:
    """What a route can do: write to the client, count what it sent, stop on shutdown."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.sent = 0

    def write(self, data: bytes) -> bool:
        """Send ``data``; False once the client is gone."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        return True

    def until(self, seconds: float = MAX_ABUSE) -> Iterator[None]:
        """Loop ticks for at most ``seconds``, ending early on server shutdown."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.stop.is_set():
            yield


Route = Callable[[Hostile, Seen], None]


def head(status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_route(body: dict[str, Any], status: int = 200, **headers: str) -> Route:
    """An honest JSON answer (keep-alive unless the client asked to close)."""

    def route(out: Hostile, seen: Seen) -> None:
        data = json.dumps(body).encode()
        extra = {k.replace("_", "-"): v for k, v in headers.items()}
        fields = {"content-type": "application/json", "content-length": str(len(data)), **extra}
        out.write(head(status, fields) + data)

    return route


def endless_route(out: Hostile, seen: Seen) -> None:
    """A 200 JSON whose chunked body never ends."""
    if not out.write(
        head(200, {"content-type": "application/json", "transfer-encoding": "chunked"})
    ):
        return
    out.write(b"1\r\n{\r\n")
    for _ in out.until():
        if out.sent > MAX_ENDLESS or not out.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)):
            return


def unframed_endless_route(out: Hostile, seen: Seen) -> None:
    """A 200 with neither length nor chunking: the body runs until the server closes."""
    if not out.write(head(200, {"content-type": "application/json", "connection": "close"})):
        return
    for _ in out.until():
        if out.sent > MAX_ENDLESS or not out.write(CHUNK):
            return


def huge_length_route(out: Hostile, seen: Seen) -> None:
    """Announce a gigabyte, then send nothing (a client that reads would wait)."""
    out.write(head(200, {"content-type": "application/json", "content-length": str(10**9)}))
    for _ in out.until():
        time.sleep(0.05)


def drip_headers_route(out: Hostile, seen: Seen) -> None:
    """The status line, then one header byte every 20 ms, never finishing the headers."""
    if not out.write(b"HTTP/1.1 200 OK\r\nx-drip: "):
        return
    for _ in out.until():
        if not out.write(b"a"):
            return
        time.sleep(0.02)


def drip_body_route(out: Hostile, seen: Seen) -> None:
    """Headers at once, then one body byte every 20 ms."""
    if not out.write(head(200, {"content-type": "application/json", "content-length": "1000"})):
        return
    for _ in out.until():
        if not out.write(b" "):
            return
        time.sleep(0.02)


@dataclass
class Server:
    """A loopback server: ``routes`` by path, every request kept in ``seen``."""

    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    sent: int = 0
    url: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def handle(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        while not self.stop.is_set():
            seen = _read_request(reader)
            if seen is None:
                return
            self.seen.append(seen)
            out = Hostile(sock, self.stop)
            self.routes.get(seen.path, json_route({"error": "not_found"}, 404))(out, seen)
            self.sent += out.sent
            if seen.headers.get("connection", "").lower() == "close":
                return

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


def _read_request(reader: Any) -> Seen | None:
    line = reader.readline(65536)
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (raw := reader.readline(65536)) not in (b"\r\n", b"\n", b""):
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return Seen(method, target.split("?")[0], headers, body)


def loopback_tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        with open(f"{folder}/cert.pem", "wb") as out:
            out.write(cert_pem + key_pem)
        server.load_cert_chain(f"{folder}/cert.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


@contextlib.contextmanager
def serve(
    routes: dict[str, Route] | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[Server]:
    """Serve ``routes`` on a free loopback port until the block ends (https with ``tls``)."""
    server = Server(dict(routes or {}))

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with contextlib.suppress(OSError, ValueError):
                if tls is None:
                    server.handle(self.request)
                    return
                self.request.settimeout(MAX_ABUSE)
                with tls.wrap_socket(self.request, server_side=True) as sock:
                    server.handle(sock)

    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    tcp.daemon_threads = True
    scheme = "http" if tls is None else "https"
    server.url = f"{scheme}://127.0.0.1:{tcp.server_address[1]}"
    thread = threading.Thread(target=tcp.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        tcp.shutdown()
        tcp.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Parties:
    """An IdP at ``/idp`` and a resource AS at ``/as`` on one hostile server."""

    url: str

    @property
    def idp(self) -> str:
        return self.url + "/idp"

    @property
    def as_(self) -> str:
        return self.url + "/as"

    @property
    def resource(self) -> str:
        return self.url + "/api"

    def idp_metadata(self, **changes: Any) -> dict[str, Any]:
        meta = {
            "issuer": self.idp,
            "token_endpoint": self.idp + "/token",
            "authorization_endpoint": self.idp + "/authorize",
            "identity_chaining_requested_token_types_supported": [spec.TOKEN_TYPE_ID_JAG],
        }
        return {**meta, **changes}

    def as_metadata(self, **changes: Any) -> dict[str, Any]:
        meta = {
            "issuer": self.as_,
            "token_endpoint": self.as_ + "/token",
            "response_types_supported": ["code"],
            "grant_types_supported": [spec.GRANT_JWT_BEARER],
            "authorization_grant_profiles_supported": [spec.GRANT_PROFILE_ID_JAG],
        }
        return {**meta, **changes}

    def exchange_answer(self) -> dict[str, Any]:
        jag = id_jag(NOW, iss=self.idp, aud=self.as_, resource=self.resource)
        return {
            "access_token": jag,
            "issued_token_type": spec.TOKEN_TYPE_ID_JAG,
            "token_type": "N_A",
            "expires_in": 300,
        }

    def honest_routes(self) -> dict[str, Route]:
        """Every hop answered correctly: an ID-JAG, then an access token ``at-1``."""
        well_known = spec.WELL_KNOWN_OAUTH_AS
        return {
            f"{well_known}/idp": json_route(self.idp_metadata()),
            f"{well_known}/as": json_route(self.as_metadata()),
            "/idp/token": json_route(self.exchange_answer()),
            "/as/token": json_route(
                {"access_token": "at-1", "token_type": "Bearer", "expires_in": 300}
            ),
        }

    def config(self) -> ClientConfig:
        return ClientConfig(
            idp=IdpConfig(
                self.idp,
                ClientCredentials.secret_basic(IDP_CLIENT, "agent-secret"),
                redirect_uri="http://127.0.0.1:8000/cb",
            ),
            authorization_servers={
                self.as_: ClientCredentials.secret_post(AS_CLIENT, "agent-chat-secret")
            },
            clock=Clock(),
        )


def session() -> IdentitySession:
    return IdentitySession(id_token=id_token(NOW))
