"""XAA over ``httpx2`` (the HTTP client of the MCP SDK 2.x): the httpx adapter's code
with ``httpx2`` as the HTTP module."""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar

from ._extras import missing_extra

try:
    import httpx2

    from . import httpx_client
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "client", exc) from None

__all__ = [
    "AsyncXAAClient",
    "XAAAuth",
    "XAAClient",
]


class XAAClient(httpx_client.XAAClient):
    """:class:`xaa.adapters.httpx_client.XAAClient` on ``httpx2.Client``."""

    http_module: ClassVar[ModuleType] = httpx2


class AsyncXAAClient(httpx_client.AsyncXAAClient):
    """:class:`xaa.adapters.httpx_client.AsyncXAAClient` on ``httpx2.AsyncClient``."""

    http_module: ClassVar[ModuleType] = httpx2


class XAAAuth(httpx_client.XAAAuthLogic, httpx2.Auth):
    """``httpx2.Auth`` that gets and renews XAA access tokens (sync and async clients)."""

    client_class: ClassVar[type[httpx_client.XAAClient]] = XAAClient
    async_client_class: ClassVar[type[httpx_client.AsyncXAAClient]] = AsyncXAAClient
