"""The README's command table lists exactly the commands the server declares, each under its
Redis group, with its subcommands in parentheses after it.

On failure the assertion shows the rows the table should have, ready to paste.
"""

from __future__ import annotations

import re
from pathlib import Path

import zyst.commands  # noqa: F401  (registers every declaration)
from zyst.commands.table import COMMANDS

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| (?P<group>[a-z-]+) \| (?P<cells>.*) \|$")


def readme_table() -> dict[str, dict[str, set[str]]]:
    """group -> command -> its subcommands, as the README's "Supported commands" table says.
    A cell is backticked command names, each optionally followed by ``(SUB SUB …)``."""
    text = README.read_text()
    section = text.split("## Supported commands", 1)[1].split("\n## ", 1)[0]
    table: dict[str, dict[str, set[str]]] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match is None or match["group"] == "group":
            continue
        commands: dict[str, set[str]] = {}
        last = ""
        for code, subs in re.findall(r"`([^`]*)`|\(([^)]*)\)", match["cells"]):
            if code:
                for name in code.split():
                    commands[name] = set()
                    last = name
            else:
                commands[last] |= set(subs.split())
        table[match["group"]] = commands
    return table


def declared_table() -> dict[str, dict[str, set[str]]]:
    table: dict[str, dict[str, set[str]]] = {}
    for cmd in COMMANDS.values():
        subs = {sub.name.split("|")[1].upper() for sub in cmd.subcommands.values()}
        table.setdefault(cmd.group, {})[cmd.name.upper()] = subs
    return table


def as_rows(table: dict[str, dict[str, set[str]]]) -> str:
    rows = []
    for group in sorted(table):
        cells = []
        for name in sorted(table[group]):
            subs = table[group][name]
            cells.append(f"`{name}`" + (f" ({' '.join(sorted(subs))})" if subs else ""))
        rows.append(f"| {group} | {' '.join(cells)} |")
    return "\n".join(rows)


def test_readme_lists_every_declared_command_under_its_group() -> None:
    declared = declared_table()
    assert sum(len(commands) for commands in declared.values()) > 100
    assert as_rows(readme_table()) == as_rows(declared)
