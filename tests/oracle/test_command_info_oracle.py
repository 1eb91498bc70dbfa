"""COMMAND INFO and COMMAND DOCS for every command Zyst declares, against real Redis 7.0.

``COMMAND INFO <name>`` is compared byte for byte, in RESP2 and RESP3, for every command and
subcommand: arity, flags, key positions, ACL categories, tips and key specs all come from the
declarations, so a declaration that drifts from Redis's JSON files fails here. Three things
cannot be byte-compared and are checked otherwise:

- a container (``CLIENT``, ``CONFIG``, ``COMMAND``) lists its subcommands in the order of
  Redis's command dict, which is seeded at random on each start, and Redis has subcommands Zyst
  does not (``CLIENT TRACKING`` …): the container's own fields are compared, and each of Zyst's
  subcommands must appear in Redis's list with the same entry;
- ``CLIENT SETINFO`` is Redis 7.2's; the 7.0 oracle does not know it;
- ``COMMAND COUNT`` and the full ``COMMAND`` reply: Zyst has fewer commands.

``COMMAND DOCS`` is built from a syntax string, so only summary, since, group and complexity
are held to Redis's exact text (argument names, ``history`` and per-argument ``since`` differ).
"""

from __future__ import annotations

from typing import Any

import hiredis
import pytest

import zyst.commands
from tests.conftest import Oracle

# Implemented by Zyst as Redis 7.2 does; absent from the 7.0 oracle.
NOT_IN_REDIS_7_0 = {"client|setinfo"}

CONTAINERS = sorted(
    name.decode() for name, cmd in zyst.commands.COMMANDS.items() if cmd.subcommands
)
NAMES = sorted(
    [name.decode() for name in zyst.commands.COMMANDS]
    + [sub.name for cmd in zyst.commands.COMMANDS.values() for sub in cmd.subcommands.values()]
)
PLAIN = [name for name in NAMES if name not in CONTAINERS and name not in NOT_IN_REDIS_7_0]


def parse(raw: bytes) -> Any:
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def use_resp3(oracle: Oracle) -> None:
    # HELLO's reply carries ids and versions: not compared.
    oracle.run("HELLO", "3")


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("name", PLAIN)
def test_command_info_matches_redis(oracle: Oracle, name: str, resp: int) -> None:
    if resp == 3:
        use_resp3(oracle)
    oracle.check("COMMAND", "INFO", name)


@pytest.mark.parametrize("name", [name.upper() for name in PLAIN[:3]] + ["GeT", "nosuch"])
def test_command_info_any_case_and_unknown(oracle: Oracle, name: str) -> None:
    oracle.check("COMMAND", "INFO", name)


def test_command_info_several_names_in_one_call(oracle: Oracle) -> None:
    oracle.check("COMMAND", "INFO", "get", "nosuch", "set", "client|id", "config|get")


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("name", CONTAINERS)
def test_container_info_matches_redis(oracle: Oracle, name: str, resp: int) -> None:
    if resp == 3:
        use_resp3(oracle)
    ours, theirs = (parse(raw)[0] for raw in oracle.run("COMMAND", "INFO", name))
    # name, arity, flags, first, last, step, categories, tips, key specs
    assert ours[:9] == theirs[:9]
    redis_subs = {entry[0]: entry for entry in theirs[9]}
    for entry in ours[9]:
        if entry[0].decode() in NOT_IN_REDIS_7_0:
            continue
        assert entry == redis_subs.get(entry[0]), entry[0]


@pytest.mark.parametrize("name", sorted(NOT_IN_REDIS_7_0))
def test_commands_redis_7_0_lacks(oracle: Oracle, name: str) -> None:
    """If the oracle learns these, they move into the byte-for-byte comparison."""
    ours, theirs = oracle.run("COMMAND", "INFO", name)
    assert theirs == b"*1\r\n$-1\r\n"
    assert parse(ours)[0][0] == name.encode()


DOCS_FIELDS = (b"summary", b"since", b"group", b"complexity")


def docs_fields(raw: bytes) -> dict[bytes, Any]:
    reply = parse(raw)
    assert len(reply) == 2, reply
    doc = reply[1]
    fields = dict(zip(doc[::2], doc[1::2], strict=True))
    return {key: fields.get(key) for key in DOCS_FIELDS}


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NOT_IN_REDIS_7_0])
def test_command_docs_text_matches_redis(oracle: Oracle, name: str) -> None:
    ours, theirs = oracle.run("COMMAND", "DOCS", name)
    assert docs_fields(ours) == docs_fields(theirs)
