"""Adapters: the I/O around the sans-I/O core (HTTP clients, Starlette, MCP, SAML).

Each adapter is imported by its module (``xaa.adapters.httpx_client``, ...), so that
installing xaa without an extra never imports its third-party package.
"""

__all__: list[str] = []
