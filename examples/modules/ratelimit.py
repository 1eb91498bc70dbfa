"""A rate limiter for Zyst: ``RATELIMIT.HIT key limit window-ms [cost]``.

Load it with ``loadmodule examples/modules/ratelimit.py`` (config file or ``--loadmodule``) or
``MODULE LOAD``. Each key is a fixed window: at most ``limit`` units in ``window-ms``
milliseconds; the first hit starts the window. A hit costs ``cost`` units (default 1).

The reply is ``[allowed, remaining, reset-ms]``: 1 if the hit was allowed (and counted) or 0
if it was refused (and not counted), the units left in the window, and the milliseconds until
the window ends. The counter is a plain string key with a TTL (``GET``/``PTTL`` show it).

The command reads the clock, so replaying it later would not count the same: it replicates
what it did instead (``SET key used PXAT window-end``), which is what goes to the AOF.
"""

from __future__ import annotations

from zyst.modules import (
    Client,
    CommandError,
    command,
    get_string,
    now_ms,
    pttl,
    replicate,
    set_string,
)

NAME = "ratelimit"
VERSION = 1


def _positive(raw: bytes, what: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise CommandError(f"ERR {what} must be a positive integer")
    return value


@command(
    "ratelimit.hit",
    arity=-4,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    acl_categories=("write", "string", "fast"),
    summary="Counts a hit against a fixed-window rate limit",
    since="1.0.0",
    syntax="key limit window-ms [cost]",
    complexity="O(1)",
)
def hit(client: Client, argv: list[bytes]) -> list[int]:
    """RATELIMIT.HIT key limit window-ms [cost]"""
    if len(argv) > 5:
        raise CommandError("ERR syntax error")
    key = argv[1]
    limit = _positive(argv[2], "limit")
    window = _positive(argv[3], "window")
    cost = _positive(argv[4], "cost") if len(argv) == 5 else 1
    now = now_ms(client)
    used_raw = get_string(client, key)  # WRONGTYPE for a key of another type
    left = pttl(client, key)
    if used_raw is None or left < 0:
        used, reset_at = 0, now + window
    else:
        try:
            used = int(used_raw)
        except ValueError:
            raise CommandError("ERR the key does not hold a rate-limit counter") from None
        reset_at = now + left
    if used + cost > limit:
        return [0, limit - used, reset_at - now]
    used += cost
    set_string(client, key, b"%d" % used, pxat=reset_at)
    replicate(client, b"SET", key, b"%d" % used, b"PXAT", b"%d" % reset_at)
    return [1, limit - used, reset_at - now]
