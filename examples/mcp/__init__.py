"""An MCP server protected by XAA and an MCP client that gets its token through XAA."""
