from tests.support.forge import forge, idp_key, idp_keys

__all__ = ["forge", "idp_key", "idp_keys"]
