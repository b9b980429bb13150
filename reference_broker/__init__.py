"""The reference credential broker service (``xaa broker serve``; docs/broker.md)."""
