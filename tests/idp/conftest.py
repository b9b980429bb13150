from tests.idp.idp_support import idp

__all__ = ["idp"]
