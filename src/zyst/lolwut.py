"""LOLWUT's output for each version it can be asked to draw as."""

from __future__ import annotations

from zyst import REDIS_VERSION


def lolwut_text(version: str, args: list[bytes]) -> bytes:
    """What LOLWUT answers when drawing as ``version`` ("7.0.15", or "N.0.0" for VERSION N)
    with the arguments that follow: Redis 7.0's own version draws nothing but its version
    line."""
    return b"Redis ver. " + REDIS_VERSION.encode() + b"\n"
