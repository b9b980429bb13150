"""The resource-AS suite: redeem ID-JAGs minted by the test IdP, one defect at a time.

:mod:`.context` holds the target, the context and the helpers; the cases live in
:mod:`.envelope` (the request and the JWS), :mod:`.key_confusion` (every kind of key a
JWKS can carry) and :mod:`.grant` (claims, grant, metadata), imported here to register them.
"""

from . import envelope, grant, key_confusion  # noqa: F401 (registers the cases, in this order)
from .context import (
    RESOURCE_AS,
    ResourceAsContext,
    ResourceAsTarget,
    happy_path,
    run_resource_as_suite,
)

__all__ = [
    "RESOURCE_AS",
    "ResourceAsContext",
    "ResourceAsTarget",
    "happy_path",
    "run_resource_as_suite",
]
