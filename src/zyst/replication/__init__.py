"""Replication with Redis's protocol: the primary's side (primary.py) and its backlog
(backlog.py)."""
