"""The loaded Python modules (:mod:`zyst.modules`), by name in load order: what MODULE LIST,
INFO modules and HELLO show. A leaf (nothing of the command table imported), so that the
commands showing it need not import the loader. Like the command table, it belongs to the one
server a process runs; :mod:`zyst.modules.loader` alone changes it.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zyst.protocol.resp import Map

if TYPE_CHECKING:
    from zyst.commands.table import Command


@dataclass(eq=False)
class LoadedModule:
    """A module as MODULE LIST shows it, with what unloading it needs."""

    name: str
    version: int
    path: str
    args: list[bytes]
    namespace: types.ModuleType
    commands: list[Command] = field(default_factory=list)

    def listing(self) -> Map:
        """Its MODULE LIST entry."""
        return Map(
            [
                (b"name", self.name.encode()),
                (b"ver", self.version),
                (b"path", self.path.encode("utf-8", "surrogateescape")),
                (b"args", list(self.args)),
            ]
        )


MODULES: dict[str, LoadedModule] = {}


def find(name: str) -> LoadedModule | None:
    """The loaded module called ``name`` (compared without case, as Redis does), or ``None``."""
    lowered = name.lower()
    for module in MODULES.values():
        if module.name.lower() == lowered:
            return module
    return None


def listings() -> list[Map]:
    """The MODULE LIST (and HELLO) entries of the loaded modules."""
    return [module.listing() for module in MODULES.values()]


def info_lines() -> list[tuple[str, str]]:
    """INFO modules' fields: one ``module`` line per loaded module, in Redis's format (a
    Python module uses no other module and registers no filters or options)."""
    return [
        (
            "module",
            f"name={m.name},ver={m.version},api=1,filters=0,usedby=[],using=[],options=[]",
        )
        for m in MODULES.values()
    ]


def config_lines() -> list[bytes]:
    """The ``loadmodule <path> [arg ...]`` lines that load the loaded modules again (CONFIG
    REWRITE), each word quoted when the config parser would otherwise split or unescape it."""
    return [
        b" ".join(
            [b"loadmodule", _word(m.path.encode("utf-8", "surrogateescape")), *map(_word, m.args)]
        )
        for m in MODULES.values()
    ]


def _word(raw: bytes) -> bytes:
    if raw and all(0x21 <= byte <= 0x7E and byte not in b"\"'\\" for byte in raw):
        return raw
    escaped = b"".join(
        bytes((byte,)) if 0x20 <= byte <= 0x7E and byte not in b'"\\' else b"\\x%02x" % byte
        for byte in raw
    )
    return b'"' + escaped + b'"'
