"""SPIFFE IDs and JWT-SVID trust bundles, checked syntactically (SPIFFE-ID §2, JWT-SVID §6).

A SPIFFE ID is ``spiffe://<trust-domain><path>``: the scheme exactly ``spiffe``;
the trust domain made of ``[a-z0-9._-]`` (no port, no userinfo, at most 255
characters); the path empty or ``/segment`` repeated, each segment non-empty,
made of ``[A-Za-z0-9._-]`` and neither ``.`` nor ``..``; no query, no fragment,
no percent-encoding; at most 2048 bytes in all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import XaaError
from .._keys import JwkSet, UnusableKey

SCHEME_PREFIX = "spiffe://"
MAX_ID_BYTES = 2048
MAX_TRUST_DOMAIN_CHARS = 255
BUNDLE_USE_JWT_SVID = "jwt-svid"

_TRUST_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
_SEGMENT_CHARS = _TRUST_DOMAIN_CHARS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class InvalidSpiffeId(XaaError, ValueError):
    """The string is not a SPIFFE ID; the message names the broken rule."""


def looks_like_spiffe(value: str) -> bool:
    """True for anything using the ``spiffe`` scheme in any spelling (valid or not)."""
    return value[:7].lower() == "spiffe:"


def check_trust_domain(name: str) -> str:
    """``name`` when it is a valid trust domain name (SPIFFE-ID §2.1)."""
    if not name:
        raise InvalidSpiffeId("trust domain is empty")
    if len(name) > MAX_TRUST_DOMAIN_CHARS:
        raise InvalidSpiffeId("trust domain is too long")
    if not _TRUST_DOMAIN_CHARS.issuperset(name):
        raise InvalidSpiffeId("trust domain has a character outside [a-z0-9._-]")
    return name


def check_path(path: str) -> str:
    """``path`` when it is a valid SPIFFE ID path (SPIFFE-ID §2.2); empty is valid."""
    if not path:
        return path
    if not path.startswith("/"):
        raise InvalidSpiffeId("path does not start with /")
    for segment in path[1:].split("/"):
        if not segment:
            raise InvalidSpiffeId("path has an empty segment or a trailing /")
        if segment in (".", ".."):
            raise InvalidSpiffeId("path has a dot segment")
        if not _SEGMENT_CHARS.issuperset(segment):
            raise InvalidSpiffeId("path has a character outside [A-Za-z0-9._-]")
    return path


@dataclass(frozen=True, slots=True)
class SpiffeId:
    """A syntactically valid SPIFFE ID."""

    trust_domain: str
    path: str

    @classmethod
    def parse(cls, value: object) -> SpiffeId:
        """Parse ``value``; raises :class:`InvalidSpiffeId` naming the broken rule."""
        if not isinstance(value, str):
            raise InvalidSpiffeId("not a string")
        if len(value.encode("utf-8")) > MAX_ID_BYTES:
            raise InvalidSpiffeId("longer than 2048 bytes")
        if not value.startswith(SCHEME_PREFIX):
            raise InvalidSpiffeId("scheme is not spiffe://")
        rest = value[len(SCHEME_PREFIX) :]
        cut = rest.find("/")
        domain, path = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
        return cls(check_trust_domain(domain), check_path(path))

    def __str__(self) -> str:
        return f"{SCHEME_PREFIX}{self.trust_domain}{self.path}"

    def within(self, prefix_path: str) -> bool:
        """True when this ID's path is ``prefix_path`` or below it, segment by segment."""
        if not prefix_path:
            return True
        return self.path == prefix_path or self.path.startswith(prefix_path + "/")


def jwt_svid_keys(bundle: Mapping[str, Any]) -> JwkSet:
    """The JWT-SVID keys of a SPIFFE bundle in JWKS form (JWT-SVID §6.2).

    Only keys with ``use`` ``jwt-svid`` verify JWT-SVIDs; X.509 authorities
    (``use`` ``x509-svid``) are left out.
    """
    raw = bundle.get("keys")
    if not isinstance(raw, list):
        raise UnusableKey("a SPIFFE bundle must have a keys array")
    keys = [
        {**{k: v for k, v in item.items() if k != "use"}, "use": "sig"}
        for item in raw
        if isinstance(item, Mapping) and item.get("use") == BUNDLE_USE_JWT_SVID
    ]
    return JwkSet.from_jwks({"keys": keys})
