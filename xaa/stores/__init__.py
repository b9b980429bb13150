"""Replay stores for xaa's hooks (``(iss, jti)`` claimed atomically, RFC 7523 §3 item 7):
memory and SQLite (standard library only); Redis is the adapter :mod:`xaa.adapters.redis_store`."""

from ._memory import MemoryReplayStore
from ._sqlite import SqliteReplayStore

__all__ = ["MemoryReplayStore", "SqliteReplayStore"]
