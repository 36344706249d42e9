"""exchange: a self-hosted stock exchange server."""
