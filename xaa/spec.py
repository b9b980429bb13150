"""Every identifier xaa speaks: grant types, token types, media types, parameter,
claim and metadata names. The one file to edit when the draft moves.

Implements draft-ietf-oauth-identity-assertion-authz-grant-03 (the "draft").
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCESS_TOKEN_REQUIRED_CLAIMS",
    "ALG_EDDSA",
    "ALG_ES256",
    "ALG_PS256",
    "ALG_RS256",
    "AUTH_CLIENT_SECRET_BASIC",
    "AUTH_CLIENT_SECRET_POST",
    "AUTH_NONE",
    "AUTH_PRIVATE_KEY_JWT",
    "CLAIM_IDP_ISSUER",
    "CLAIM_IDP_SUBJECT",
    "CLAIM_IDP_TENANT",
    "CLIENT_ASSERTION_TYPE_JWT_BEARER",
    "CONFIDENTIAL_AUTH_METHODS",
    "DEFAULT_ALG",
    "DRAFT",
    "GRANT_AUTHORIZATION_CODE",
    "GRANT_CLIENT_CREDENTIALS",
    "GRANT_JWT_BEARER",
    "GRANT_JWT_DPOP",
    "GRANT_PROFILE_ID_JAG",
    "GRANT_REFRESH_TOKEN",
    "GRANT_TOKEN_EXCHANGE",
    "H_AUTHORIZATION",
    "H_CACHE_CONTROL",
    "H_CONTENT_TYPE",
    "H_DPOP",
    "H_DPOP_NONCE",
    "H_WWW_AUTHENTICATE",
    "ID_JAG_REQUIRED_CLAIMS",
    "ID_TOKEN_REQUIRED_CLAIMS",
    "MEDIA_TYPE_FORM",
    "MEDIA_TYPE_ID_JAG",
    "MEDIA_TYPE_JSON",
    "MIN_RSA_BITS",
    "M_AUTHORIZATION_ENDPOINT",
    "M_AUTHORIZATION_GRANT_PROFILES_SUPPORTED",
    "M_DPOP_SIGNING_ALGS",
    "M_GRANT_TYPES_SUPPORTED",
    "M_IDENTITY_CHAINING_TOKEN_TYPES",
    "M_ISSUER",
    "M_ISS_PARAMETER_SUPPORTED",
    "M_JWKS_URI",
    "M_SUBJECT_TOKEN_TYPES",
    "M_TOKEN_ENDPOINT",
    "M_TOKEN_ENDPOINT_AUTH_METHODS",
    "M_TOKEN_ENDPOINT_AUTH_SIGNING_ALGS",
    "PATH_JWKS",
    "PATH_REVOKE",
    "PATH_TOKEN",
    "PKCE_METHOD_S256",
    "P_ACTOR_TOKEN",
    "P_ACTOR_TOKEN_TYPE",
    "P_ASSERTION",
    "P_AUDIENCE",
    "P_AUTHORIZATION_DETAILS",
    "P_CLIENT_ASSERTION",
    "P_CLIENT_ASSERTION_TYPE",
    "P_CLIENT_ID",
    "P_CLIENT_SECRET",
    "P_CODE",
    "P_CODE_VERIFIER",
    "P_GRANT_TYPE",
    "P_REDIRECT_URI",
    "P_REFRESH_TOKEN",
    "P_REQUESTED_TOKEN_TYPE",
    "P_RESOURCE",
    "P_SCOPE",
    "P_SUBJECT_TOKEN",
    "P_SUBJECT_TOKEN_TYPE",
    "Q_ACCESS_TOKEN",
    "R_ACCESS_TOKEN",
    "R_ACR_VALUES",
    "R_ERROR",
    "R_ERROR_DESCRIPTION",
    "R_EXPIRES_IN",
    "R_ISSUED_TOKEN_TYPE",
    "R_MAX_AGE",
    "R_REFRESH_TOKEN",
    "R_SCOPE",
    "R_TOKEN_TYPE",
    "SAML_AC_PASSWORD_PROTECTED",
    "SAML_BINDING_HTTP_POST",
    "SAML_CM_BEARER",
    "SAML_NAMEID_EMAIL",
    "SAML_NAMEID_ENTITY",
    "SAML_NAMEID_PERSISTENT",
    "SAML_NAMEID_UNSPECIFIED",
    "SAML_NS_ASSERTION",
    "SAML_NS_METADATA",
    "SAML_NS_PROTOCOL",
    "SAML_STATUS_SUCCESS",
    "SUPPORTED_ALGS",
    "TOKEN_TYPE_ACCESS_TOKEN",
    "TOKEN_TYPE_BEARER",
    "TOKEN_TYPE_DPOP",
    "TOKEN_TYPE_ID_JAG",
    "TOKEN_TYPE_ID_TOKEN",
    "TOKEN_TYPE_JWT",
    "TOKEN_TYPE_N_A",
    "TOKEN_TYPE_REFRESH_TOKEN",
    "TOKEN_TYPE_SAML2",
    "TYP_ACCESS_TOKEN",
    "TYP_CLIENT_ASSERTION",
    "TYP_DPOP",
    "TYP_ID_JAG",
    "TYP_JWT",
    "UNTRUSTED_KEY_HEADERS",
    "WELL_KNOWN_OAUTH_AS",
    "WELL_KNOWN_OPENID",
    "WELL_KNOWN_PROTECTED_RESOURCE",
    "XMLDSIG_ENVELOPED",
    "XMLDSIG_NS",
]

DRAFT: Final = "draft-ietf-oauth-identity-assertion-authz-grant-03"

# Grant types (RFC 8693 §2.1, RFC 7523 §2.1, draft-parecki-oauth-jwt-dpop-grant).
GRANT_TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_JWT_DPOP: Final = "urn:ietf:params:oauth:grant-type:jwt-dpop"
GRANT_AUTHORIZATION_CODE: Final = "authorization_code"
GRANT_REFRESH_TOKEN: Final = "refresh_token"
GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"

# Token type identifiers (RFC 8693 §3, draft §4.3, draft §9.2).
TOKEN_TYPE_ID_JAG: Final = "urn:ietf:params:oauth:token-type:id-jag"
TOKEN_TYPE_ID_TOKEN: Final = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_TYPE_SAML2: Final = "urn:ietf:params:oauth:token-type:saml2"
TOKEN_TYPE_REFRESH_TOKEN: Final = "urn:ietf:params:oauth:token-type:refresh_token"
TOKEN_TYPE_ACCESS_TOKEN: Final = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_TYPE_JWT: Final = "urn:ietf:params:oauth:token-type:jwt"

# Authorization grant profile (draft §7.2).
GRANT_PROFILE_ID_JAG: Final = "urn:ietf:params:oauth:grant-profile:id-jag"

# Client assertion type (RFC 7523 §2.2).
CLIENT_ASSERTION_TYPE_JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# JWT "typ" header values (draft §3, RFC 9068 §2.1, RFC 9449 §4.2, RFC 7523bis).
TYP_ID_JAG: Final = "oauth-id-jag+jwt"
TYP_ACCESS_TOKEN: Final = "at+jwt"
TYP_DPOP: Final = "dpop+jwt"
TYP_CLIENT_ASSERTION: Final = "client-authentication+jwt"
TYP_JWT: Final = "JWT"

# Media types (draft §9.1).
MEDIA_TYPE_ID_JAG: Final = "application/oauth-id-jag+jwt"
MEDIA_TYPE_FORM: Final = "application/x-www-form-urlencoded"
MEDIA_TYPE_JSON: Final = "application/json"

# Token types in token responses (RFC 6749 §7.1, RFC 8693 §2.2.1, RFC 9449 §5).
TOKEN_TYPE_BEARER: Final = "Bearer"
TOKEN_TYPE_DPOP: Final = "DPoP"
TOKEN_TYPE_N_A: Final = "N_A"

# Client authentication methods (RFC 8414 §2, OIDC Core §9).
AUTH_CLIENT_SECRET_BASIC: Final = "client_secret_basic"
AUTH_CLIENT_SECRET_POST: Final = "client_secret_post"
AUTH_PRIVATE_KEY_JWT: Final = "private_key_jwt"
AUTH_NONE: Final = "none"
CONFIDENTIAL_AUTH_METHODS: Final = (
    AUTH_CLIENT_SECRET_BASIC,
    AUTH_CLIENT_SECRET_POST,
    AUTH_PRIVATE_KEY_JWT,
)

# Request parameters (RFC 6749, 7521, 7523, 8693, 8707, 9396).
P_GRANT_TYPE: Final = "grant_type"
P_CLIENT_ID: Final = "client_id"
P_CLIENT_SECRET: Final = "client_secret"
P_CLIENT_ASSERTION: Final = "client_assertion"
P_CLIENT_ASSERTION_TYPE: Final = "client_assertion_type"
P_ASSERTION: Final = "assertion"
P_SCOPE: Final = "scope"
P_RESOURCE: Final = "resource"
P_AUDIENCE: Final = "audience"
P_AUTHORIZATION_DETAILS: Final = "authorization_details"
P_REQUESTED_TOKEN_TYPE: Final = "requested_token_type"
P_SUBJECT_TOKEN: Final = "subject_token"
P_SUBJECT_TOKEN_TYPE: Final = "subject_token_type"
P_ACTOR_TOKEN: Final = "actor_token"
P_ACTOR_TOKEN_TYPE: Final = "actor_token_type"
P_REFRESH_TOKEN: Final = "refresh_token"
P_CODE: Final = "code"
P_CODE_VERIFIER: Final = "code_verifier"
P_REDIRECT_URI: Final = "redirect_uri"

# Query parameter carrying a bearer token (RFC 6750 §2.3): refused by xaa's resource servers.
Q_ACCESS_TOKEN: Final = "access_token"

# PKCE code challenge method (RFC 7636 §4.2): the only one xaa accepts.
PKCE_METHOD_S256: Final = "S256"

# Response parameters (RFC 6749 §5.1, RFC 8693 §2.2.1, RFC 9470 §3).
R_ACCESS_TOKEN: Final = "access_token"
R_ISSUED_TOKEN_TYPE: Final = "issued_token_type"
R_TOKEN_TYPE: Final = "token_type"
R_EXPIRES_IN: Final = "expires_in"
R_REFRESH_TOKEN: Final = "refresh_token"
R_SCOPE: Final = "scope"
R_ERROR: Final = "error"
R_ERROR_DESCRIPTION: Final = "error_description"
R_MAX_AGE: Final = "max_age"
R_ACR_VALUES: Final = "acr_values"

# HTTP headers.
H_AUTHORIZATION: Final = "authorization"
H_DPOP: Final = "dpop"
H_DPOP_NONCE: Final = "dpop-nonce"
H_WWW_AUTHENTICATE: Final = "www-authenticate"
H_CACHE_CONTROL: Final = "cache-control"
H_CONTENT_TYPE: Final = "content-type"

# Registered JWT claims used by the ID-JAG (draft §3.1, RFC 7519 §4.1, RFC 8693 §4).
ID_JAG_REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "client_id", "jti", "exp", "iat")
ACCESS_TOKEN_REQUIRED_CLAIMS: Final = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
ID_TOKEN_REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat")

# Claims the resource AS adds to its access tokens: which IdP vouched for the user (xaa).
CLAIM_IDP_ISSUER: Final = "idp_iss"
CLAIM_IDP_SUBJECT: Final = "idp_sub"
CLAIM_IDP_TENANT: Final = "idp_tenant"

# JOSE header parameters that carry or point at keys: never trusted (RFC 8725 §3.10).
UNTRUSTED_KEY_HEADERS: Final = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})

# Authorization server metadata (RFC 8414 §2, draft §7, RFC 9449 §5.1).
M_ISSUER: Final = "issuer"
M_TOKEN_ENDPOINT: Final = "token_endpoint"
M_AUTHORIZATION_ENDPOINT: Final = "authorization_endpoint"
M_JWKS_URI: Final = "jwks_uri"
M_GRANT_TYPES_SUPPORTED: Final = "grant_types_supported"
M_AUTHORIZATION_GRANT_PROFILES_SUPPORTED: Final = "authorization_grant_profiles_supported"
M_IDENTITY_CHAINING_TOKEN_TYPES: Final = "identity_chaining_requested_token_types_supported"
M_SUBJECT_TOKEN_TYPES: Final = "subject_token_types_supported"  # xaa extension
M_TOKEN_ENDPOINT_AUTH_METHODS: Final = "token_endpoint_auth_methods_supported"
M_TOKEN_ENDPOINT_AUTH_SIGNING_ALGS: Final = "token_endpoint_auth_signing_alg_values_supported"
M_DPOP_SIGNING_ALGS: Final = "dpop_signing_alg_values_supported"
M_ISS_PARAMETER_SUPPORTED: Final = "authorization_response_iss_parameter_supported"  # RFC 9207 §3

# Well-known paths (RFC 8414 §3, OIDC Discovery §4, RFC 9728 §3).
WELL_KNOWN_OAUTH_AS: Final = "/.well-known/oauth-authorization-server"
WELL_KNOWN_OPENID: Final = "/.well-known/openid-configuration"
WELL_KNOWN_PROTECTED_RESOURCE: Final = "/.well-known/oauth-protected-resource"

# Endpoint paths xaa's servers use under their issuer by default (xaa, not the draft).
PATH_TOKEN: Final = "/token"
PATH_JWKS: Final = "/jwks.json"
PATH_REVOKE: Final = "/revoke"

# SAML 2.0 and XML-DSig identifiers (SAML core §2-3, SAML metadata §2, SAML bindings §3.5,
# SAML authn context §3.4, XML-DSig §6).
SAML_NS_ASSERTION: Final = "urn:oasis:names:tc:SAML:2.0:assertion"
SAML_NS_PROTOCOL: Final = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_NS_METADATA: Final = "urn:oasis:names:tc:SAML:2.0:metadata"
XMLDSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
XMLDSIG_ENVELOPED: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SAML_CM_BEARER: Final = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SAML_NAMEID_EMAIL: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SAML_NAMEID_UNSPECIFIED: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
SAML_NAMEID_PERSISTENT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
SAML_NAMEID_ENTITY: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
SAML_BINDING_HTTP_POST: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SAML_AC_PASSWORD_PROTECTED: Final = (
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
)
SAML_STATUS_SUCCESS: Final = "urn:oasis:names:tc:SAML:2.0:status:Success"

# Signature algorithms xaa signs and verifies with (RFC 7518, RFC 8037).
ALG_ES256: Final = "ES256"
ALG_EDDSA: Final = "EdDSA"
ALG_RS256: Final = "RS256"
ALG_PS256: Final = "PS256"
SUPPORTED_ALGS: Final = frozenset({ALG_ES256, ALG_EDDSA, ALG_RS256, ALG_PS256})
DEFAULT_ALG: Final = ALG_ES256
MIN_RSA_BITS: Final = 2048
