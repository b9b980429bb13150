"""Storage backends for xaa's hooks: memory (here) and SQLite (standard library only); Redis is
the adapter :mod:`xaa.adapters.redis_store`."""

from .memory import MemoryReplayStore

__all__ = ["MemoryReplayStore"]
