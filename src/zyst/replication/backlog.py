"""The replication backlog: the last ``repl-backlog-size`` bytes of the replication stream, kept
so that a replica whose link dropped can resume from its offset (``PSYNC`` → ``+CONTINUE``)
instead of loading a full copy again (Redis's ``server.repl_backlog``).

Offsets are Redis's: the stream's bytes are numbered from 1, and ``offset`` is the number of
the last byte written (``master_repl_offset``). The backlog holds the bytes numbered
``first .. offset`` (``first`` is ``repl_backlog_first_byte_offset``); a replica that has
processed up to byte ``n`` asks for ``n + 1`` and can be served when ``first <= n + 1 <=
offset + 1``.

Invariant: ``len(data) == offset - first + 1 <= size`` (an empty backlog has ``first ==
offset + 1``).
"""

from __future__ import annotations


class Backlog:
    """A bounded tail of the replication stream (see the module docstring)."""

    __slots__ = ("data", "first", "offset", "size")

    def __init__(self, size: int, offset: int) -> None:
        """An empty backlog of at most ``size`` bytes whose next byte is ``offset + 1``."""
        self.size = max(size, 1)
        self.offset = offset
        self.first = offset + 1
        self.data = bytearray()

    def append(self, chunk: bytes | bytearray) -> None:
        """Add ``chunk`` to the stream, dropping the oldest bytes beyond ``size``."""
        data = self.data
        data += chunk
        self.offset += len(chunk)
        extra = len(data) - self.size
        if extra > 0:
            del data[:extra]
            self.first += extra

    def resize(self, size: int) -> None:
        """``repl-backlog-size`` changed: keep the newest ``size`` bytes."""
        self.size = max(size, 1)
        self.append(b"")

    def since(self, start: int) -> bytes | None:
        """The stream from byte ``start`` on, or None if the backlog no longer (or never)
        held it."""
        if start < self.first or start > self.offset + 1:
            return None
        return bytes(self.data[start - self.first :])

    @property
    def histlen(self) -> int:
        """Bytes held (INFO's ``repl_backlog_histlen``)."""
        return len(self.data)
