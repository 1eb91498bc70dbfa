"""Persistence: the append-only file."""
