"""Making a file's place in its directory durable: the last step of every atomic replacement
(write a temporary file, fsync it, rename it over the old one, then fsync the directory, so the
rename itself survives a power loss). Used by the RDB writer, the AOF directory and its
manifest, and CONFIG REWRITE."""

from __future__ import annotations

import os


def fsync_dir(path: str) -> None:
    """fsync the directory ``path``: its entries (a rename, a new or removed file) are on disk
    when this returns. Raises OSError."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
