"""Named SQL reads and writes, one module per concept (imports nothing heavy)."""
