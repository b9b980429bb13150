"""Discovery, sans-I/O: resource -> protected resource metadata -> AS metadata.

- RFC 9728 §3: the ``resource_metadata`` URL of a 401 challenge, else the
  path-aware well-known, else the root one; ``resource`` must equal the
  resource asked about (§3.3).
- RFC 8414 §3: the path-aware well-known, then the OpenID Connect Discovery
  §4 locations; ``issuer`` must equal the expected issuer exactly (§3.3).
- Draft §7: an IdP must advertise ID-JAG issuance, a resource AS the id-jag
  grant profile (each check can be relaxed by configuration).

Documents are cached with a TTL. Every function that talks to a server is a
generator yielding :class:`~xaa.client.Request` and receiving the response.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError

from .. import rules, spec
from .._errors import HttpResponse, ProtocolViolation
from .._models import AuthorizationServerMetadata, ProtectedResourceMetadata
from ._http import Request, display_url, json_body, require_secure

M = TypeVar("M", bound=BaseModel)
Exchange = Generator[Request, HttpResponse, M]

DEFAULT_METADATA_TTL = 300.0
_CHALLENGE_PARAM = re.compile(r'([A-Za-z0-9_\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')


def _insert_well_known(url: str, well_known: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, well_known + path, "", ""))


def protected_resource_metadata_urls(resource: str) -> list[str]:
    """RFC 9728 §3.1 locations: path-aware first, then the root."""
    urls = [_insert_well_known(resource, spec.WELL_KNOWN_PROTECTED_RESOURCE)]
    root = _insert_well_known(urlunsplit(urlsplit(resource)._replace(path="")), "")
    root = root + spec.WELL_KNOWN_PROTECTED_RESOURCE
    return urls if root in urls else [*urls, root]


def authorization_server_metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 §3.1 path-aware location, then OpenID Connect Discovery §4 (both forms)."""
    urls = [
        _insert_well_known(issuer, spec.WELL_KNOWN_OAUTH_AS),
        issuer.rstrip("/") + spec.WELL_KNOWN_OPENID,
        _insert_well_known(issuer, spec.WELL_KNOWN_OPENID),
    ]
    return list(dict.fromkeys(urls))


def parse_www_authenticate(header: str | None) -> dict[str, str]:
    """Auth-params of an RFC 6750 §3 / RFC 9470 §3 challenge (lowercase names, unquoted)."""
    if not header:
        return {}
    out: dict[str, str] = {}
    for name, raw in _CHALLENGE_PARAM.findall(header):
        value = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\") if raw[0] == '"' else raw
        out.setdefault(name.lower(), value)
    return out


@dataclass
class MetadataCache:
    """Metadata documents by URL, each kept ``ttl`` seconds."""

    ttl: float = DEFAULT_METADATA_TTL
    _entries: dict[tuple[str, str], tuple[float, Any]] = field(default_factory=dict)

    def get(self, kind: str, key: str, now: float) -> Any:
        """The cached document, or ``None`` when absent or stale."""
        entry = self._entries.get((kind, key))
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    def put(self, kind: str, key: str, value: Any, now: float) -> None:
        """Keep ``value`` until ``now + ttl``."""
        self._entries[(kind, key)] = (now + self.ttl, value)


def _fetch(urls: list[str], model: type[M], rule: str) -> Exchange[M]:
    for url in urls:
        require_secure(url, rule)
        response = yield Request("GET", url, {"accept": spec.MEDIA_TYPE_JSON})
        if response.status != 200:
            continue
        try:
            return model.model_validate(json_body(response, rule))
        except ValidationError:
            raise ProtocolViolation(
                rule, f"the metadata document at {display_url(url)} is invalid"
            ) from None
    tried = ", ".join(display_url(url) for url in urls)
    raise ProtocolViolation(rule, f"no metadata document found (tried {tried})")


def _names_another(rule: str, expected: str, member: str, claimed: str) -> ProtocolViolation:
    """A metadata document naming another ``resource`` or ``issuer`` than the one it was
    fetched for (RFC 9728 §3.3, RFC 8414 §3.3: they must be equal exactly)."""
    return ProtocolViolation(
        rule,
        f"the metadata of {display_url(expected)} names another {member} "
        f"({display_url(claimed)!r}; it must be equal exactly)",
    )


def discover_resource(
    resource: str, cache: MetadataCache, now: float, *, metadata_url: str | None = None
) -> Exchange[ProtectedResourceMetadata]:
    """RFC 9728 metadata of ``resource`` (``metadata_url`` from a 401 challenge if known)."""
    cached: ProtectedResourceMetadata | None = cache.get("resource", resource, now)
    if cached is not None:
        return cached
    urls = [metadata_url] if metadata_url else protected_resource_metadata_urls(resource)
    document = yield from _fetch(urls, ProtectedResourceMetadata, rules.RESOURCE_METADATA)
    if document.resource != resource:
        raise _names_another(rules.RESOURCE_METADATA, resource, "resource", document.resource)
    if not document.authorization_servers:
        raise ProtocolViolation(
            rules.RESOURCE_METADATA,
            f"the metadata of {display_url(resource)} lists no authorization_servers",
        )
    cache.put("resource", resource, document, now)
    return document


def discover_authorization_server(
    issuer: str, cache: MetadataCache, now: float, *, require: str | None
) -> Exchange[AuthorizationServerMetadata]:
    """RFC 8414 metadata of ``issuer``; ``issuer`` in it must match exactly.

    ``require``: ``"issues-id-jag"`` (an IdP, draft §7.1), ``"accepts-id-jag"``
    (a resource AS, draft §7.2) or ``None``. The token endpoint must be on the
    issuer's origin.
    """
    require_secure(issuer, rules.ISSUER)
    cached: AuthorizationServerMetadata | None = cache.get("as", issuer, now)
    if cached is not None:
        return cached
    urls = authorization_server_metadata_urls(issuer)
    document = yield from _fetch(urls, AuthorizationServerMetadata, rules.AS_METADATA)
    if document.issuer != issuer:
        raise _names_another(rules.ISSUER_MISMATCH, issuer, "issuer", document.issuer)
    where = display_url(issuer)
    if document.token_endpoint is None:
        raise ProtocolViolation(rules.AS_METADATA, f"the metadata of {where} has no token_endpoint")
    if require == "issues-id-jag" and not document.issues_id_jag:
        raise ProtocolViolation(
            rules.IDP_ID_JAG, f"the IdP at {where} does not advertise ID-JAG issuance (draft §7.1)"
        )
    if require == "accepts-id-jag" and not document.accepts_id_jag:
        raise ProtocolViolation(
            rules.AS_ID_JAG_PROFILE,
            f"the AS at {where} does not advertise the id-jag profile (draft §7.2)",
        )
    cache.put("as", issuer, document, now)
    return document
