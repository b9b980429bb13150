"""The reference resource app: a chat API whose AS redeems ID-JAGs (``xaa resource serve``)."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
