"""The test IdP of the resource-AS suite: OAuth metadata and a JWKS, plus the keys it signs with.

The resource AS under test trusts this IdP (``--trust-idp http://127.0.0.1:9401``);
the suite then mints ID-JAGs with these keys, each carrying one defect.
Besides its real ES256 key the JWKS publishes, unless ``extra_keys`` is off,
every kind of key a JWKS can carry that an AS pinned to ES256 for this IdP must
not verify with (RFC 7517, RFC 8725 §3.1): an EdDSA key, a PS256 RSA key, P-384
(ES384), P-521 (ES512) and secp256k1 (ES256K) keys, a 1024-bit RSA key, a symmetric
``oct`` key (its secret is public once published), a P-256 key published for
encryption (``use: enc``), an ES256 key without ``kid`` and two ES256 keys sharing
one ``kid``. An attacker key is served on another path for the
``jku``/``x5u`` cases: a correct AS never fetches it.
Key ids carry a per-run suffix so an AS that cached an earlier run's keys refetches
(an AS that rate-limits refreshes may then need a pause between runs); with a
keys file the same keys serve every run.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xaa import SigningKey, spec
from xaa._keys import b64url

from ._forge import CurveKey, WeakRsaKey
from ._serving import host_port, serve_in_thread

DEFAULT_TEST_IDP_URL = "http://127.0.0.1:9401"
ATTACKER_JWKS_PATH = "/attacker/jwks.json"


class TestIdp:
    """Keys, documents and fetch counters of the test IdP at ``url``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        url: str = DEFAULT_TEST_IDP_URL,
        *,
        extra_keys: bool = True,
        keys_file: str | Path | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        keys = _load_or_make_keys(Path(keys_file) if keys_file is not None else None)
        self.key, self.other_key = keys["es256"], keys["other"]
        self.attacker_key, self.eddsa_key = keys["attacker"], keys["eddsa"]
        self.extra_keys = extra_keys
        run = secrets.token_hex(3)
        self.weak_rsa_key = WeakRsaKey(kid=f"xaa-conformance-rsa1024-{run}")
        self.rsa_key = SigningKey.generate(spec.ALG_PS256, kid=f"xaa-conformance-ps256-{run}")
        self.es384_key = CurveKey("P-384", "ES384", f"xaa-conformance-es384-{run}")
        self.es512_key = CurveKey("P-521", "ES512", f"xaa-conformance-es512-{run}")
        self.secp256k1_key = CurveKey("secp256k1", "ES256K", f"xaa-conformance-es256k-{run}")
        self.oct_kid = f"xaa-conformance-oct-{run}"
        self.oct_secret = secrets.token_bytes(32)
        self.enc_key = SigningKey.generate(spec.ALG_ES256, kid=f"xaa-conformance-enc-{run}")
        self.kidless_key = SigningKey.generate(spec.ALG_ES256, kid=f"xaa-conformance-nokid-{run}")
        dup = f"xaa-conformance-dup-{run}"
        self.duplicate_keys = (
            SigningKey.generate(spec.ALG_ES256, kid=dup),
            SigningKey.generate(spec.ALG_ES256, kid=dup),
        )
        self._lock = threading.Lock()
        self._fetches: dict[str, int] = {}

    @property
    def jwks_uri(self) -> str:
        """Where the JWKS is served."""
        return self.url + spec.PATH_JWKS

    @property
    def attacker_jwks_uri(self) -> str:
        """Where the attacker's JWKS is served (a correct AS never fetches it)."""
        return self.url + ATTACKER_JWKS_PATH

    def jwks(self) -> dict[str, Any]:
        """The published keys."""
        keys = [self.key.public_jwk(), self.other_key.public_jwk()]
        if self.extra_keys:
            keys += [self.eddsa_key.public_jwk(), self.weak_rsa_key.public_jwk()]
            keys += [k.public_jwk() for k in (self.rsa_key, self.es384_key, self.es512_key)]
            keys += [self.secp256k1_key.public_jwk(), self.oct_jwk()]
            enc = {k: v for k, v in self.enc_key.public_jwk().items() if k != "alg"}
            keys.append({**enc, "use": "enc"})
            keys.append({k: v for k, v in self.kidless_key.public_jwk().items() if k != "kid"})
            keys += [k.public_jwk() for k in self.duplicate_keys]
        return {"keys": keys}

    def oct_jwk(self) -> dict[str, Any]:
        """The symmetric key as published: a JWKS is public, so is its secret."""
        return {"kty": "oct", "kid": self.oct_kid, "alg": "HS256", "use": "sig",
                "k": b64url(self.oct_secret)}  # fmt: skip

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata (also served as OpenID Discovery)."""
        return {
            spec.M_ISSUER: self.url,
            spec.M_JWKS_URI: self.jwks_uri,
            spec.M_TOKEN_ENDPOINT: self.url + "/token",
            spec.M_GRANT_TYPES_SUPPORTED: [spec.GRANT_TOKEN_EXCHANGE],
            spec.M_IDENTITY_CHAINING_TOKEN_TYPES: [spec.TOKEN_TYPE_ID_JAG],
            spec.M_TOKEN_ENDPOINT_AUTH_METHODS: [spec.AUTH_CLIENT_SECRET_BASIC],
            "id_token_signing_alg_values_supported": [spec.ALG_ES256],
            "subject_types_supported": ["public"],
            "response_types_supported": ["code"],
        }

    def fetches(self, path: str) -> int:
        """How many times ``path`` was fetched."""
        with self._lock:
            return self._fetches.get(path, 0)

    def _count(self, path: str) -> None:
        with self._lock:
            self._fetches[path] = self._fetches.get(path, 0) + 1

    def app(self) -> Starlette:
        """The ASGI app serving metadata, JWKS and the attacker's JWKS."""

        def document(path: str, body: Any) -> Route:
            async def endpoint(request: Request) -> Response:
                del request
                self._count(path)
                return JSONResponse(body() if callable(body) else body)

            return Route(path, endpoint, methods=["GET"])

        async def token(request: Request) -> Response:
            del request
            return JSONResponse(
                {"error": "unsupported_grant_type"}, 400, headers={"cache-control": "no-store"}
            )

        attacker = {"keys": [self.attacker_key.public_jwk()]}
        return Starlette(
            routes=[
                document(spec.WELL_KNOWN_OAUTH_AS, self.metadata),
                document(spec.WELL_KNOWN_OPENID, self.metadata),
                document(spec.PATH_JWKS, self.jwks),
                document(ATTACKER_JWKS_PATH, attacker),
                Route("/token", token, methods=["POST"]),
            ]
        )


@contextlib.contextmanager
def running_test_idp(
    url: str = DEFAULT_TEST_IDP_URL,
    *,
    extra_keys: bool = True,
    keys_file: str | Path | None = None,
) -> Iterator[TestIdp]:
    """Serve a :class:`TestIdp` at ``url`` (``http://host:port``) until the block ends."""
    idp = TestIdp(url, extra_keys=extra_keys, keys_file=keys_file)
    host, port = host_port(idp.url)
    with serve_in_thread(idp.app(), host, port):
        yield idp


_KEY_ALGS = {"es256": spec.ALG_ES256, "other": spec.ALG_ES256, "attacker": spec.ALG_ES256,
             "eddsa": spec.ALG_EDDSA}  # fmt: skip


def _load_or_make_keys(path: Path | None) -> dict[str, SigningKey]:
    """The test IdP's keys: fresh ones (new kids each run), or kept in ``path`` across runs."""
    if path is not None and path.exists():
        stored = json.loads(path.read_text())
        return {name: SigningKey.from_jwk(stored[name], alg) for name, alg in _KEY_ALGS.items()}
    run = secrets.token_hex(3)
    keys = {
        name: SigningKey.generate(alg, kid=f"xaa-conformance-{name}-{run}")
        for name, alg in _KEY_ALGS.items()
    }
    if path is not None:
        path.write_text(json.dumps({name: key.private_jwk() for name, key in keys.items()}))
        path.chmod(0o600)
    return keys
