"""Script flags: what a script's ``#!lua flags=...`` line or a function's ``register_function``
``flags`` declare, by Redis's names (``scripts_flags_def``)."""

from __future__ import annotations

from typing import Final

NO_WRITES: Final = 1
ALLOW_OOM: Final = 2
ALLOW_STALE: Final = 4
NO_CLUSTER: Final = 8
ALLOW_CROSS_SLOT: Final = 16
# No shebang: an EVAL script of Redis 6 (its flags come from its commands, not declared).
COMPAT: Final = 32

# In Redis's order (FUNCTION LIST lists them so).
FLAG_NAMES: Final = {
    b"no-writes": NO_WRITES,
    b"allow-oom": ALLOW_OOM,
    b"allow-stale": ALLOW_STALE,
    b"no-cluster": NO_CLUSTER,
    b"allow-cross-slot-keys": ALLOW_CROSS_SLOT,
}
