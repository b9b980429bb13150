"""The client side of XAA, sans-I/O: both legs, discovery, the token ladder.

Drivers with real HTTP live in :mod:`xaa.adapters.httpx_client` and
:mod:`xaa.adapters.httpx2_client`.
"""

from ._auth import ClientCredentials
from ._cache import CacheKey, IdentitySession, TokenCache
from ._discovery import (
    MetadataCache,
    authorization_server_metadata_urls,
    discover_authorization_server,
    discover_resource,
    parse_www_authenticate,
    protected_resource_metadata_urls,
)
from ._dpop import DpopKeyProver
from ._errors import (
    HopDeadlineExceeded,
    PolicyDenied,
    ReauthenticationRequired,
    ResponseTooLarge,
    ScopeNotGranted,
    StepUpRequired,
    TokenRequestRefused,
    XaaClientError,
)
from ._flow import (
    ClientConfig,
    Flow,
    IdpConfig,
    UnknownAuthorizationServer,
    XaaFlow,
    run_async,
    run_sync,
)
from ._http import (
    Request,
    TransportLimits,
    is_loopback,
    json_body,
    require_same_origin,
    require_secure,
)
from ._requests import (
    AccessToken,
    DpopProver,
    IdJag,
    check_id_jag_target,
    decode_id_jag,
    jwt_bearer_request,
    process_token_exchange_response,
    process_token_response,
    raise_for_error,
    raise_for_refusal,
    token_exchange_request,
)
from ._saml import (
    SAML_SCOPES,
    exchange_saml_assertion,
    process_refresh_token_response,
    saml_refresh_token_request,
    saml_session,
)

__all__ = [
    "SAML_SCOPES",
    "AccessToken",
    "CacheKey",
    "ClientConfig",
    "ClientCredentials",
    "DpopKeyProver",
    "DpopProver",
    "Flow",
    "HopDeadlineExceeded",
    "IdJag",
    "IdentitySession",
    "IdpConfig",
    "MetadataCache",
    "PolicyDenied",
    "ReauthenticationRequired",
    "Request",
    "ResponseTooLarge",
    "ScopeNotGranted",
    "StepUpRequired",
    "TokenCache",
    "TokenRequestRefused",
    "TransportLimits",
    "UnknownAuthorizationServer",
    "XaaClientError",
    "XaaFlow",
    "authorization_server_metadata_urls",
    "check_id_jag_target",
    "decode_id_jag",
    "discover_authorization_server",
    "discover_resource",
    "exchange_saml_assertion",
    "is_loopback",
    "json_body",
    "jwt_bearer_request",
    "parse_www_authenticate",
    "process_refresh_token_response",
    "process_token_exchange_response",
    "process_token_response",
    "protected_resource_metadata_urls",
    "raise_for_error",
    "raise_for_refusal",
    "require_same_origin",
    "require_secure",
    "run_async",
    "run_sync",
    "saml_refresh_token_request",
    "saml_session",
    "token_exchange_request",
]
