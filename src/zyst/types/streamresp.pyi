"""Types of the C extension ``zyst.types.streamresp`` (see streamresp.c)."""

from typing import Any

def entries_resp(positions: list[tuple[Any, int]], /) -> bytes: ...
