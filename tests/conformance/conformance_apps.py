"""A resource AS assembled from the resource library, trusting an IdP by URL (discovery).

Stands in for ``xaa resource serve --trust-idp URL`` where a test needs the app
in-process; served on loopback by tests/support/servers.py.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from starlette.applications import Starlette

from xaa import MemoryAuditSink, RegisteredClient, SigningKey, spec
from xaa.adapters.starlette import JwksFetcher, metadata_routes, token_route
from xaa.resource import (
    AccountResolver,
    ClientGrant,
    JwtBearerEndpoint,
    MemoryAccountStore,
    ServedResource,
    StaticGrantPolicy,
    TrustedIssuer,
    TrustRegistry,
    authorization_server_metadata,
)
from xaa.stores import MemoryReplayStore

CLIENT, SECRET = "conformance-client", "conformance-client-secret"
POST_CLIENT = "conformance-post-client"
SCOPES = frozenset({"chat.read", "chat.history"})

# The client under test in the client suite: xaa's own `xaa token`.
PYTHON = shlex.quote(sys.executable)
XAA_TOKEN = (
    f'{PYTHON} -m xaa token --idp "$XAA_IDP_ISSUER" --idp-client-id "$XAA_IDP_CLIENT_ID"'
    ' --idp-client-secret "$XAA_IDP_CLIENT_SECRET" --subject-token-file "$XAA_ID_TOKEN_FILE"'
    ' --resource "$XAA_RESOURCE" --authorization-server "$XAA_AS_ISSUER"'
    ' --client-id "$XAA_AS_CLIENT_ID" --client-secret "$XAA_AS_CLIENT_SECRET"'
    ' --scope "$XAA_SCOPE"'
)


class DictClients:
    def __init__(self, *clients: RegisteredClient) -> None:
        self._clients = {c.client_id: c for c in clients}

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)


def resource_as_app(issuer: str, trusted_idp: str) -> Any:
    """A jwt-bearer token endpoint at ``issuer`` trusting ``trusted_idp`` (keys discovered)."""
    key = SigningKey.generate("ES256", kid="as-1")
    endpoint = JwtBearerEndpoint(
        issuer=issuer,
        token_endpoint=issuer + "/token",
        signing_key=key,
        clients=DictClients(
            RegisteredClient.with_secret(CLIENT, SECRET),
            RegisteredClient.with_secret(POST_CLIENT, SECRET, spec.AUTH_CLIENT_SECRET_POST),
        ),
        grants=StaticGrantPolicy([ClientGrant(CLIENT), ClientGrant(POST_CLIENT)]),
        trust=TrustRegistry([TrustedIssuer(trusted_idp)]),
        replay=MemoryReplayStore(),
        subjects=AccountResolver(MemoryAccountStore()),
        resources=[ServedResource(issuer + "/api", SCOPES)],
        audit=MemoryAuditSink(),
    )
    metadata = authorization_server_metadata(issuer, scopes=SCOPES)
    routes = [
        token_route(endpoint, JwksFetcher()),
        *metadata_routes(metadata, {"keys": [key.public_jwk()]}),
    ]
    return Starlette(routes=routes)
