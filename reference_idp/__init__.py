"""The reference IdP: an OpenID Connect provider that issues ID-JAGs, built on ``xaa.idp``.

Run it with ``xaa idp serve``; ``reference_idp.demo`` drives it over HTTP.
"""

from .app import build_idp, create_app
from .config import IdpConfig, load_config
from .store import Store

__all__ = ["IdpConfig", "Store", "build_idp", "create_app", "load_config"]
