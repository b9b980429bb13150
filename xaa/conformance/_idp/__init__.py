"""The IdP suite: token exchange for ID-JAGs (draft §4.3), from outside.

:mod:`.context` holds the target, the context and the helpers; the cases live in
:mod:`.issued` (metadata, the response, the ID-JAG) and :mod:`.rejections`
(what must be refused) and :mod:`.refresh` (refresh tokens as subject tokens), imported
here in that order to register them.
"""

from . import issued, refresh, rejections  # noqa: F401 (registers the cases, in this order)
from .context import IDP, IdpContext, IdpTarget, IssuedIdJag, happy_path, run_idp_suite

__all__ = ["IDP", "IdpContext", "IdpTarget", "IssuedIdJag", "happy_path", "run_idp_suite"]
