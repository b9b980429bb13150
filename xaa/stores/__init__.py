"""Storage backends for xaa's hooks: memory (here), SQLite and Redis (adapters)."""

from .memory import MemoryReplayStore

__all__ = ["MemoryReplayStore"]
