"""The rule identifiers a :class:`~xaa.ProtocolViolation` names, in one place.

Every identifier is kebab-case and names what the peer broke (docs/errors.md). Conformance
case ids follow the same style and are checked by :class:`xaa.conformance.Suite`.
"""

from __future__ import annotations

__all__ = [
    "ACCESS_TOKEN",
    "AS_ID_JAG_PROFILE",
    "AS_METADATA",
    "AUTHORIZATION_ENDPOINT",
    "DPOP_DOWNGRADE",
    "DPOP_NONCE",
    "ENDPOINT_ORIGIN",
    "ERROR_IN_SUCCESS",
    "ERROR_RESPONSE",
    "EXPIRES_IN",
    "HTTPS_REQUIRED",
    "IDP_ID_JAG",
    "IDP_TOKEN_ENDPOINT",
    "ID_JAG_AUD",
    "ID_JAG_CLAIMS",
    "ID_JAG_CLIENT_ID",
    "ID_JAG_EXPIRED",
    "ID_JAG_ISS",
    "ID_JAG_MALFORMED",
    "ID_JAG_SCOPE",
    "ID_JAG_SIGNATURE",
    "ID_JAG_TYP",
    "ISSUED_TOKEN_TYPE",
    "ISSUER",
    "ISSUER_MISMATCH",
    "LOGIN",
    "NO_REDIRECTS",
    "NO_STRATEGY",
    "REFRESH_RESPONSE",
    "REFRESH_TOKEN",
    "RESOURCE_METADATA",
    "RESPONSE_TOO_LARGE",
    "SAML_LOGIN",
    "SAML_RESPONSE",
    "SCOPE",
    "SCOPE_BEYOND_GRANT",
    "TOKEN_EXCHANGE_RESPONSE",
    "TOKEN_RESPONSE",
    "TOKEN_TYPE",
]

ACCESS_TOKEN = "access-token"
AS_ID_JAG_PROFILE = "as-id-jag-profile"
AS_METADATA = "as-metadata"
AUTHORIZATION_ENDPOINT = "authorization-endpoint"
DPOP_DOWNGRADE = "dpop-downgrade"
DPOP_NONCE = "dpop-nonce"
ENDPOINT_ORIGIN = "endpoint-origin"
ERROR_IN_SUCCESS = "error-in-success"
ERROR_RESPONSE = "error-response"
EXPIRES_IN = "expires-in"
HTTPS_REQUIRED = "https-required"
IDP_ID_JAG = "idp-id-jag"
IDP_TOKEN_ENDPOINT = "idp-token-endpoint"
ID_JAG_AUD = "id-jag-aud"
ID_JAG_CLAIMS = "id-jag-claims"
ID_JAG_CLIENT_ID = "id-jag-client-id"
ID_JAG_EXPIRED = "id-jag-expired"
ID_JAG_ISS = "id-jag-iss"
ID_JAG_MALFORMED = "id-jag-malformed"
ID_JAG_SCOPE = "id-jag-scope"
ID_JAG_SIGNATURE = "id-jag-signature"
ID_JAG_TYP = "id-jag-typ"
ISSUED_TOKEN_TYPE = "issued-token-type"
ISSUER = "issuer"
ISSUER_MISMATCH = "issuer-mismatch"
LOGIN = "login"
NO_REDIRECTS = "no-redirects"
NO_STRATEGY = "no-strategy"
REFRESH_RESPONSE = "refresh-response"
REFRESH_TOKEN = "refresh-token"
RESOURCE_METADATA = "resource-metadata"
RESPONSE_TOO_LARGE = "response-too-large"
SAML_LOGIN = "saml-login"
SAML_RESPONSE = "saml-response"
SCOPE = "scope"
SCOPE_BEYOND_GRANT = "scope-beyond-grant"
TOKEN_EXCHANGE_RESPONSE = "token-exchange-response"
TOKEN_RESPONSE = "token-response"
TOKEN_TYPE = "token-type"
