"""Adapters: the I/O around the sans-I/O core (HTTP clients, Starlette, MCP, SAML).

Each adapter is imported by its module (``xaa.adapters.httpx_client``, ...), so that
installing xaa without an extra never imports its third-party package; without it, the
import fails with :class:`MissingExtra`, one line naming the extra (docs/install.md).
"""

from .._errors import XaaError

__all__ = ["MissingExtra"]


class MissingExtra(XaaError, ModuleNotFoundError):
    """An adapter's optional dependency is not installed; the message names the extra to
    install (``pip install 'xaa[server]'``, docs/install.md). ``name`` is the missing module."""
