"""Adapters: the I/O around the sans-I/O core (HTTP clients, Starlette, MCP, SAML)."""
