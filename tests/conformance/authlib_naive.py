"""authlib's own ``IDJAGGrant``, completed the way its docstrings suggest: the baseline the
resource-AS suite compares xaa's authlib drop-in with (docs/conformance.md).

Each hook does what authlib documents and nothing more: ``get_audiences`` names the
issuer; ``resolve_issuer_key`` returns the trusted issuer's key named by ``kid`` (its
JWKS discovered from its metadata); ``authenticate_user`` looks the user up by
``(iss, sub)``; ``check_jti`` remembers every ``jti``; ``check_id_jag_permission`` allows.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from authlib.oauth2.drafts import IDJAGGrant
from authlib.oauth2.rfc6749 import InvalidGrantError
from joserfc.jwk import import_key

__all__ = ["naive_grant"]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:  # loopback test IdP only
        return json.loads(answer.read())


def naive_grant(issuer: str, trusted_idps: list[str]) -> type[Any]:
    """An ``IDJAGGrant`` subclass for the AS ``issuer`` trusting ``trusted_idps``."""
    seen: set[str] = set()

    class NaiveIdJagGrant(IDJAGGrant):  # type: ignore[misc]
        db: Any

        def get_audiences(self) -> list[str]:
            return [issuer]

        def resolve_issuer_key(self, iss: str, headers: dict[str, Any]) -> Any:
            if iss not in trusted_idps:
                raise InvalidGrantError(description="untrusted issuer")
            meta = _get_json(iss + "/.well-known/oauth-authorization-server")
            keys = _get_json(meta["jwks_uri"])["keys"]
            for key in keys:  # the key the header's kid names
                if key.get("kid") == headers.get("kid"):
                    return import_key(key)
            raise InvalidGrantError(description="unknown kid")

        def authenticate_user(self, subject: str) -> int:
            claims = self.request.id_jag_claims
            return int(self.db.user_for(claims["iss"], None, subject, None))

        def check_jti(self, claims: dict[str, Any], jti: str) -> bool:
            if jti in seen:
                return False
            seen.add(jti)
            return True

        def check_id_jag_permission(self, client: Any, user: Any, scopes: list[str]) -> bool:
            return True

    return NaiveIdJagGrant
