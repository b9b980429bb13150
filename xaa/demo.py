"""``make demo``: the ID-JAG flow on the embedded defaults, printed hop by hop."""

from __future__ import annotations

import json
import time
from typing import Any

from . import IdJagClaims, JwkSet, SigningKey, issue_id_jag, verify_id_jag


def show(title: str, value: Any) -> None:
    """Print one step."""
    print(f"\n== {title}")
    print(json.dumps(value, indent=2, sort_keys=True) if not isinstance(value, str) else value)


def core_demo() -> None:
    """Issue an ID-JAG with a fresh IdP key, verify it as the resource AS would."""
    idp_issuer, as_issuer = "http://127.0.0.1:9400", "http://127.0.0.1:9500"
    key = SigningKey.generate()
    claims = IdJagClaims.new(
        issuer=idp_issuer,
        subject="alice",
        audience=as_issuer,
        client_id="wiki-at-chat",
        scope="chat.read chat.history",
        resource="http://127.0.0.1:9500/api",
        email="alice@acme.example",
    )
    token = issue_id_jag(claims, key)
    show("ID-JAG issued by the IdP (compact JWS)", token)
    verified = verify_id_jag(
        token,
        keys=JwkSet.from_jwks({"keys": [key.public_jwk()]}),
        issuer=idp_issuer,
        audience=as_issuer,
        client_id="wiki-at-chat",
        now=time.time(),
    )
    show("verified header", verified.header)
    show("verified claims", verified.claims.to_json())


def main() -> int:
    """Run the demo."""
    core_demo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
