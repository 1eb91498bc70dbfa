"""RESP: request parsing and reply encoding (no I/O)."""
