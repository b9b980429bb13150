"""Metadata of the resource side: RFC 8414 for the AS, RFC 9728 for the API.

:func:`authorization_server_metadata` builds the AS document with the draft's
``authorization_grant_profiles_supported`` (draft §7.2). It advertises only
what the deployment serves: the token endpoint and JWKS the Starlette adapter
mounts (:func:`~xaa.adapters.starlette.token_route`,
:func:`~xaa.adapters.starlette.metadata_routes`), and an
``authorization_endpoint`` only when the deployer passes the one it serves.
A promise the server cannot keep raises a ``ValueError``, so the server refuses
to start: the id-jag profile without the jwt-bearer grant, the
``authorization_code`` grant or a response type without an authorization
endpoint. Trusted IdPs are never listed (draft §8.4).

:func:`protected_resource_metadata_url` is the path-aware RFC 9728 §3.1 URL:
``https://api.example/.well-known/oauth-protected-resource/v1`` for the resource
``https://api.example/v1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

from .. import spec
from .._errors import ConfigurationError
from .._models import AuthorizationServerMetadata, ProtectedResourceMetadata


def authorization_server_metadata(
    issuer: str,
    *,
    grant_types: Sequence[str] = (spec.GRANT_JWT_BEARER,),
    grant_profiles: Sequence[str] = (spec.GRANT_PROFILE_ID_JAG,),
    auth_methods: Sequence[str] = spec.CONFIDENTIAL_AUTH_METHODS,
    signing_algs: Sequence[str] = (spec.ALG_ES256, spec.ALG_EDDSA, spec.ALG_RS256, spec.ALG_PS256),
    scopes: Iterable[str] = (),
    revocation: bool = False,
    dpop_algs: Sequence[str] = (),
    authorization_endpoint: str | None = None,
    response_types: Sequence[str] | None = None,
) -> AuthorizationServerMetadata:
    """RFC 8414 §2 metadata of a resource AS, listing only what is served.

    ``authorization_endpoint``: the URL of the authorization endpoint you serve, if any;
    ``response_types`` defaults to ``["code"]`` with one and ``[]`` without (RFC 8414 §2
    requires the member; an empty list promises nothing). A ``ValueError``
    (:class:`~xaa.ConfigurationError` for the endpoint) when the document would promise
    what is not served (the module docstring lists the cases).
    """
    base = issuer.rstrip("/")
    code_flow = spec.GRANT_AUTHORIZATION_CODE in grant_types
    if response_types is None:
        response_types = ("code",) if authorization_endpoint else ()
    if authorization_endpoint is None and (code_flow or response_types):
        raise ConfigurationError(
            "authorization_code or response types without an authorization_endpoint"
        )
    return AuthorizationServerMetadata(
        issuer=issuer,
        token_endpoint=base + spec.PATH_TOKEN,
        authorization_endpoint=authorization_endpoint,
        jwks_uri=base + spec.PATH_JWKS,
        revocation_endpoint=base + spec.PATH_REVOKE if revocation else None,
        grant_types_supported=list(grant_types),
        response_types_supported=list(response_types),
        code_challenge_methods_supported=["S256"] if code_flow else None,
        scopes_supported=sorted(set(scopes)) or None,
        token_endpoint_auth_methods_supported=list(auth_methods),
        token_endpoint_auth_signing_alg_values_supported=(
            list(signing_algs) if spec.AUTH_PRIVATE_KEY_JWT in auth_methods else None
        ),
        authorization_grant_profiles_supported=list(grant_profiles) or None,
        dpop_signing_alg_values_supported=list(dpop_algs) or None,
    )


def protected_resource_metadata_url(resource: str) -> str:
    """The RFC 9728 §3.1 metadata URL: the well-known path inserted before the path."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return urlunsplit(
        (parts.scheme, parts.netloc, spec.WELL_KNOWN_PROTECTED_RESOURCE + path, "", "")
    )


def protected_resource_metadata(
    resource: str, authorization_servers: Sequence[str], scopes: Iterable[str] = ()
) -> ProtectedResourceMetadata:
    """RFC 9728 §2 metadata: the resource, its AS, scopes, header-only bearer tokens."""
    return ProtectedResourceMetadata(
        resource=resource,
        authorization_servers=list(authorization_servers),
        scopes_supported=sorted(set(scopes)) or None,
        bearer_methods_supported=["header"],
    )
