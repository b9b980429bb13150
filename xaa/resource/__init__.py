"""The resource side of XAA: redeem ID-JAGs (draft §4.4) and check access tokens (RFC 9068).

Sans-I/O: endpoints return ``HttpResponse``; key fetching is a generator an
adapter drives (:mod:`xaa.adapters.starlette`).
"""

from .._dpop_server import DpopProofVerifier
from ..spec import CLAIM_IDP_ISSUER, CLAIM_IDP_SUBJECT, CLAIM_IDP_TENANT
from ._access import ResourceServer
from ._jwt_bearer import (
    Granted,
    IssuedAccessToken,
    JwtBearerEndpoint,
    ReplayPolicy,
)
from ._metadata import (
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)
from ._policy import (
    CarryActor,
    ClientGrant,
    GrantPolicy,
    ResourceActorPolicy,
    ServedResource,
    StaticGrantPolicy,
)
from ._subjects import (
    Account,
    AccountResolver,
    AccountStore,
    FederatedSubject,
    JitPolicy,
    MemoryAccountStore,
    SubjectResolver,
)
from ._trust import TrustedIssuer, TrustRegistry, drive

__all__ = [
    "CLAIM_IDP_ISSUER",
    "CLAIM_IDP_SUBJECT",
    "CLAIM_IDP_TENANT",
    "Account",
    "AccountResolver",
    "AccountStore",
    "CarryActor",
    "ClientGrant",
    "DpopProofVerifier",
    "FederatedSubject",
    "GrantPolicy",
    "Granted",
    "IssuedAccessToken",
    "JitPolicy",
    "JwtBearerEndpoint",
    "MemoryAccountStore",
    "ReplayPolicy",
    "ResourceActorPolicy",
    "ResourceServer",
    "ServedResource",
    "StaticGrantPolicy",
    "SubjectResolver",
    "TrustRegistry",
    "TrustedIssuer",
    "authorization_server_metadata",
    "drive",
    "protected_resource_metadata",
    "protected_resource_metadata_url",
]
