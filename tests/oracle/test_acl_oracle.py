"""ACL against real Redis 7.0: replies and errors of every ACL subcommand, byte for byte.

Users are made and deleted on the session servers; the ``acl`` fixture deletes every user but
``default`` before and after each test, and no test here changes ``default`` (tests that must
start their own servers, tests/server/test_acl_file.py).

Two differences of the command tables are allowed for, not hidden:

- Redis lists the commands of a category (ACL CAT) and the single-command rules of a
  description in the order of its command dict, seeded at random on each start: those are
  compared as sets.
- Zyst lacks some commands Redis 7.0 has (streams, geo, HyperLogLog, cluster, modules,
  replication): a category holding them has fewer members, and a description, which picks the
  categories that fit best, may then differ. Such tests use categories with the same members
  on both servers; the seeded random test (test_acl_random_oracle.py) compares what such a
  description means instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Oracle, check_sequence, hello3, parse_reply


def delete_users(oracle: Oracle) -> None:
    for side in (oracle.zyst, oracle.redis):
        names = parse_reply(side.command("ACL", "USERS"))
        others = [name for name in names if name != b"default"]
        if others:
            side.command("ACL", "DELUSER", *others)


def normalized_rules(text: bytes) -> bytes:
    """A description with each run of single-command rules (``+get -set``, no ``@``) sorted:
    Redis emits them in its command dict's random order."""
    tokens: list[bytes] = []
    for token in text.split(b" "):
        closing = token.endswith(b")") and not token.startswith(b"(")
        tokens.append(token[:-1] if closing else token)
        if closing:
            tokens.append(b")")
    out: list[bytes] = []
    run: list[bytes] = []
    for token in [*tokens, b""]:
        if token[:1] in (b"+", b"-") and b"@" not in token:
            run.append(token)
            continue
        out += sorted(run)
        run = []
        out.append(token)
    return b" ".join(out[:-1]).replace(b" )", b")")


def normalized(raw: bytes) -> Any:
    """A reply parsed, every string in it with its single-command rules sorted."""

    def walk(value: Any) -> Any:
        if isinstance(value, bytes):
            return normalized_rules(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        return value

    return walk(parse_reply(raw))


def check_rules(oracle: Oracle, *command: str | bytes) -> Any:
    """Both servers answer alike, single-command rules taken in any order."""
    ours, theirs = oracle.run(*command)
    if ours != theirs:
        assert normalized(ours) == normalized(theirs), (command, ours, theirs)
    return normalized(ours)


@pytest.fixture
def acl(oracle: Oracle) -> Iterator[Oracle]:
    delete_users(oracle)
    yield oracle
    delete_users(oracle)


def test_a_new_user_is_off_with_no_permissions(acl: Oracle) -> None:
    check_sequence(
        acl,
        [
            ("ACL", "SETUSER", "alice"),
            ("ACL", "LIST"),
            ("ACL", "GETUSER", "alice"),
            ("ACL", "USERS"),
            ("ACL", "GETUSER", "nosuch"),
        ],
        {
            1: b"*2\r\n$34\r\nuser alice off resetchannels -@all\r\n"
            b"$34\r\nuser default on nopass ~* &* +@all\r\n",
            4: b"$-1\r\n",
        },
    )


def test_getuser_in_resp3_is_a_map_with_a_set_of_flags(acl: Oracle) -> None:
    hello3(acl)
    acl.check("ACL", "SETUSER", "bob", "on", "nopass", "~k*", "(+get ~x)")
    reply = acl.check("ACL", "GETUSER", "bob")
    assert reply.startswith(b"%6\r\n$5\r\nflags\r\n~2\r\n")
    acl.check("ACL", "GETUSER", "nosuch")


RULE_SEQUENCES = {
    "passwords": [
        ("ACL", "SETUSER", "u", ">a", ">a", ">b", "<a"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "#" + "0" * 64, "!" + "0" * 64),
        ("ACL", "SETUSER", "u", "!" + "1" * 64),
        ("ACL", "SETUSER", "u", "<nope"),
        ("ACL", "SETUSER", "u", "#" + "A" * 64),
        ("ACL", "SETUSER", "u", "#abc"),
        ("ACL", "SETUSER", "u", "nopass"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", ">c", "resetpass"),
        ("ACL", "LIST"),
    ],
    "flags": [
        ("ACL", "SETUSER", "u", "on", "skip-sanitize-payload"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "sanitize-payload", "off", "ON"),
        ("ACL", "LIST"),
        ("ACL", "SETUSER", "u", "reset"),
        ("ACL", "LIST"),
    ],
    "keys": [
        ("ACL", "SETUSER", "u", "~a*", "%R~b*", "%W~c*", "%RW~d", "%WR~e", "%r~b*", "%w~f"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "LIST"),
        ("ACL", "SETUSER", "u", "%R~a*"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "%RR~x"),
        ("ACL", "SETUSER", "u", "%X~x"),
        ("ACL", "SETUSER", "u", "~a b"),
        ("ACL", "SETUSER", "u", "allkeys"),
        ("ACL", "SETUSER", "u", "~x"),
        ("ACL", "SETUSER", "u", "%R~x"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "resetkeys", "%R~*"),
        ("ACL", "GETUSER", "u"),
    ],
    "channels": [
        ("ACL", "SETUSER", "u", "&news.*", "&a", "&a"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "&a b"),
        ("ACL", "SETUSER", "u", "allchannels"),
        ("ACL", "SETUSER", "u", "&x"),
        ("ACL", "LIST"),
        ("ACL", "SETUSER", "u", "resetchannels", "&y"),
        ("ACL", "LIST"),
    ],
    "commands": [
        ("ACL", "SETUSER", "u", "+get", "+set", "+config|get", "+client|id"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "+@ALL", "-GET", "+Config|GET"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "-@all", "+@string", "+@list", "-lpush"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "nocommands", "+@hash", "+@set", "+@sortedset"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "allcommands", "-@keyspace"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "+@all", "-@all"),
        ("ACL", "GETUSER", "u"),
    ],
    "command errors": [
        ("ACL", "SETUSER", "u", "+nosuch"),
        ("ACL", "SETUSER", "u", "-nosuch"),
        ("ACL", "SETUSER", "u", "+@nosuch"),
        ("ACL", "SETUSER", "u", "+@"),
        ("ACL", "SETUSER", "u", "+"),
        ("ACL", "SETUSER", "u", "-"),
        ("ACL", "SETUSER", "u", "+|"),
        ("ACL", "SETUSER", "u", "+get|"),
        ("ACL", "SETUSER", "u", "+config|nosuch"),
        ("ACL", "SETUSER", "u", "+config|get|x"),
        ("ACL", "SETUSER", "u", "-select|0"),
        ("ACL", "SETUSER", "u", "@read"),
        ("ACL", "SETUSER", "u", "bogus"),
        ("ACL", "SETUSER", "u", "on", "+get", "bogus"),
        ("ACL", "GETUSER", "u"),
    ],
    "first arguments": [
        ("ACL", "SETUSER", "u", "+select|0", "+select|1", "+SELECT|1", "+debug|object"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "-select"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "+select|0", "+@keyspace"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "+select|2", "+@all"),
        ("ACL", "GETUSER", "u"),
    ],
    "selectors": [
        ("ACL", "SETUSER", "u", "(+get ~x*)", "(+set %W~y*)", "()"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "LIST"),
        ("ACL", "SETUSER", "u", "(+get", "~z)"),
        ("ACL", "SETUSER", "u", "( +get", "&c", ")"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", '(~"a b")'),
        ("ACL", "SETUSER", "u", '(~"unbalanced)'),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", "(on)"),
        ("ACL", "SETUSER", "u", "(+get"),
        ("ACL", "SETUSER", "u", "on", "(+get", "+set"),
        ("ACL", "SETUSER", "u", "((+get)"),
        ("ACL", "SETUSER", "u", "(+get", "off", "(~z", "+set)", "on"),
        ("ACL", "GETUSER", "u"),
        ("ACL", "SETUSER", "u", ")"),
        ("ACL", "SETUSER", "u", "clearselectors"),
        ("ACL", "GETUSER", "u"),
    ],
    "names": [
        ("ACL", "SETUSER", "a b"),
        ("ACL", "SETUSER", "a\tb"),
        ("ACL", "SETUSER", b"a\0b"),
        ("ACL", "SETUSER", b"\xff\xfe", "on"),
        ("ACL", "SETUSER", "Zed"),
        ("ACL", "SETUSER", "zed"),
        ("ACL", "USERS"),
        ("ACL", "LIST"),
        ("ACL", "DELUSER", "Default"),
        ("ACL", "DELUSER", "zed", "nosuch", "Zed"),
        ("ACL", "DELUSER", "x", "default"),
        ("ACL", "USERS"),
    ],
}


@pytest.mark.parametrize("name", sorted(RULE_SEQUENCES))
def test_rules_and_their_errors(acl: Oracle, name: str) -> None:
    for command in RULE_SEQUENCES[name]:
        check_rules(acl, *command)


def test_an_error_applies_no_rule_of_the_call(acl: Oracle) -> None:
    check_sequence(
        acl,
        [
            ("ACL", "SETUSER", "u", "on", "~a"),
            ("ACL", "SETUSER", "u", "off", "~b", "+get", "+nosuch"),
            ("ACL", "GETUSER", "u"),
            ("ACL", "SETUSER", "v", "on", "%Q~x"),
            ("ACL", "USERS"),
        ],
        {
            1: b"-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category "
            b"name in ACL\r\n",
            4: b"*2\r\n$7\r\ndefault\r\n$1\r\nu\r\n",
        },
    )


def test_error_messages_print_rules_as_c_strings(acl: Oracle) -> None:
    acl.check("ACL", "SETUSER", "u", b"~a\0 b")
    acl.check("ACL", "SETUSER", "u", b"bad\r\nrule")
    acl.check("ACL", "SETUSER", "u", b"(+get\0x")
    # Words and names end at a NUL byte, as C compares them.
    for rule in (b"on\0x", b"+get\0x", b"+@hash\0x", b"allkeys\0x", b"-set\0x", b"~a\0"):
        check_rules(acl, "ACL", "SETUSER", "u", rule)
        check_rules(acl, "ACL", "GETUSER", "u")
    acl.check("ACL", "SETUSER", "u", b">pass\0word", b"<pass\0word")
    acl.check("ACL", "DELUSER", b"default\0x")
    ours, theirs = (parse_reply(raw) for raw in acl.run("ACL", "CAT", b"hash\0x"))
    assert sorted(ours) == sorted(theirs) and ours


def test_cat(acl: Oracle) -> None:
    acl.check("ACL", "CAT")
    acl.check("ACL", "CAT", "nosuch")
    acl.check("ACL", "CAT", "x" * 300)
    acl.check("ACL", "CAT", "a", "b")
    # Redis lists a category's commands in its dict's (random) order.
    for category in ("string", "HASH", "pubsub", "transaction", "keyspace", "bitmap"):
        ours, theirs = (parse_reply(raw) for raw in acl.run("ACL", "CAT", category))
        assert sorted(ours) == sorted(theirs), category
        assert ours


def test_whoami_users_and_help(acl: Oracle) -> None:
    check_sequence(
        acl,
        [("ACL", "WHOAMI"), ("ACL", "HELP"), ("ACL", "HELP", "x"), ("ACL", "nosuch")],
        {0: b"$7\r\ndefault\r\n"},
    )


def test_arity_errors(acl: Oracle) -> None:
    for command in (
        ("ACL",),
        ("ACL", "SETUSER"),
        ("ACL", "GETUSER"),
        ("ACL", "GETUSER", "a", "b"),
        ("ACL", "DELUSER"),
        ("ACL", "LIST", "x"),
        ("ACL", "USERS", "x"),
        ("ACL", "WHOAMI", "x"),
        ("ACL", "DRYRUN", "default"),
        ("ACL", "DRYRUN", "default", "get"),
        ("ACL", "GENPASS", "1", "2"),
        ("ACL", "LOG", "1", "2"),
        ("ACL", "LOAD", "x"),
        ("ACL", "SAVE", "x"),
    ):
        acl.check(*command)


def test_genpass(acl: Oracle) -> None:
    for bits in ("0", "-1", "4097", "x", "1.5", ""):
        acl.check("ACL", "GENPASS", bits)
    for bits, size in (("1", 1), ("4", 1), ("5", 2), ("255", 64), ("4096", 1024)):
        ours, theirs = acl.run("ACL", "GENPASS", bits)
        assert len(ours) == len(theirs), bits
        value = parse_reply(ours)
        assert len(value) == size and set(value) <= set(b"0123456789abcdef")
    assert len(parse_reply(acl.run("ACL", "GENPASS")[0])) == 64
    first, second = (parse_reply(acl.run("ACL", "GENPASS")[0]) for _ in range(2))
    assert first != second


def test_load_and_save_without_a_file(acl: Oracle) -> None:
    acl.check("ACL", "LOAD")
    acl.check("ACL", "SAVE")


def test_log_arguments(acl: Oracle) -> None:
    check_sequence(
        acl,
        [
            ("ACL", "LOG", "RESET"),
            ("ACL", "LOG"),
            ("ACL", "LOG", "0"),
            ("ACL", "LOG", "-5"),
            ("ACL", "LOG", "x"),
            ("ACL", "LOG", "reset"),
        ],
        {1: b"*0\r\n", 4: b"-ERR value is not an integer or out of range\r\n"},
    )


DRYRUN_USERS = [
    ("ACL", "SETUSER", "k", "on", "+@all", "~k*", "%R~r*", "%W~w*", "&c*"),
    ("ACL", "SETUSER", "s", "on", "-@all", "+select|0", "+get", "(+set ~s*)", "(+get %R~g*)"),
    ("ACL", "SETUSER", "p", "on", "+@all", "~*", "&news.*", "&lit*"),
    ("ACL", "SETUSER", "m", "on", "+@all", "-get", "-config|set", "-@hash", "~*", "&*"),
]

DRYRUN_CASES = [
    ("nosuch", "get", "x"),
    ("k", "nosuch"),
    ("k", "get"),
    ("k", "config"),
    ("k", "config", "nosuch"),
    ("k", "get", "k1"),
    ("k", "get", "x"),
    ("k", "get", "r1"),
    ("k", "set", "r1", "v"),
    ("k", "set", "w1", "v"),
    ("k", "get", "w1"),
    ("k", "append", "w1", "v"),
    ("k", "lmove", "r1", "w1", "left", "right"),
    ("k", "lmove", "w1", "r1", "left", "right"),
    ("k", "mget", "k1", "r1", "w1", "x"),
    ("k", "mset", "k1", "1", "w2", "2", "r3", "3"),
    ("k", "del", "w1"),
    ("k", "copy", "r1", "w1"),
    ("k", "sort", "r1", "store", "w1"),
    ("k", "sort", "r1", "store", "r2"),
    ("k", "sort_ro", "r1"),
    ("k", "eval", "return 1", "1", "x"),
    ("k", "eval", "return 1", "0"),
    ("k", "zunionstore", "w1", "2", "r1", "k2"),
    ("k", "zunionstore", "w1", "2", "r1", "x"),
    ("k", "set", "w1", "v", "get"),
    ("k", "set", "k1", "v", "get"),
    ("k", "publish", "c1", "m"),
    ("k", "publish", "x", "m"),
    ("k", "subscribe", "c1", "x", "c2"),
    ("k", "psubscribe", "c*"),
    ("k", "psubscribe", "c1*"),
    ("k", "unsubscribe", "x"),
    ("k", "config", "get", "x"),
    ("k", "keys", "*"),
    ("k", "flushall"),
    ("s", "select", "0"),
    ("s", "select", "1"),
    ("s", "SELECT", "0"),
    ("s", "get", "any"),
    ("s", "set", "s1", "v"),
    ("s", "set", "x", "v"),
    ("s", "getset", "s1", "v"),
    ("s", "get", "g1"),
    ("s", "ping"),
    ("s", "auth", "x"),
    ("s", "hello"),
    ("p", "publish", "news.x", "m"),
    ("p", "publish", "other", "m"),
    ("p", "subscribe", "news.1", "other"),
    ("p", "psubscribe", "news.*"),
    ("p", "psubscribe", "news.1"),
    ("p", "psubscribe", "lit*"),
    ("p", "ssubscribe", "news.1", "x"),
    ("p", "spublish", "x", "m"),
    ("p", "spublish", "news.1", "m"),
    ("k", "spublish", "c1", "m"),
    ("k", "ssubscribe", "c1"),
    ("k", "sunsubscribe", "x"),
    ("p", "punsubscribe", "x"),
    ("default", "flushall"),
    ("m", "get", "x"),
    ("m", "set", "x", "y"),
    ("m", "config", "set", "x", "y"),
    ("m", "config", "get", "x"),
    ("m", "hset", "h", "f", "v"),
    ("s", "debug", "object", "x"),
]


@pytest.mark.parametrize("case", DRYRUN_CASES, ids=" ".join)
def test_dryrun(acl: Oracle, case: tuple[str, ...]) -> None:
    for command in DRYRUN_USERS:
        acl.check(*command)
    acl.check("ACL", "DRYRUN", *case)


def bulk(text: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(text), text)


def test_dryrun_pins_its_answers(acl: Oracle) -> None:
    check_sequence(
        acl,
        [
            *DRYRUN_USERS,
            ("ACL", "DRYRUN", "k", "set", "r1", "v"),
            ("ACL", "DRYRUN", "k", "get", "w1"),
            ("ACL", "DRYRUN", "k", "get", "r1"),
            ("ACL", "DRYRUN", "s", "select", "1"),
            ("ACL", "DRYRUN", "p", "publish", "other", "m"),
        ],
        {
            4: bulk(b"This user has no permissions to access the 'r1' key"),
            5: bulk(b"This user has no permissions to access the 'w1' key"),
            6: b"+OK\r\n",
            7: bulk(b"This user has no permissions to run the 'select' command"),
            8: bulk(b"This user has no permissions to access the 'other' channel"),
        },
    )


@pytest.mark.parametrize(
    ("setting", "values"),
    [
        ("acl-pubsub-default", ["allchannels", "RESETCHANNELS", "x", ""]),
        ("acllog-max-len", ["0", "5", "-1", "x", "9223372036854775807", "128"]),
        ("aclfile", ["/tmp/x.acl"]),
    ],
)
def test_acl_settings(acl: Oracle, setting: str, values: list[str]) -> None:
    acl.check("CONFIG", "GET", setting)
    for value in values:
        acl.check("CONFIG", "SET", setting, value)
        acl.check("CONFIG", "GET", setting)
    acl.check("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
    acl.check("CONFIG", "SET", "acllog-max-len", "128")


def test_acl_pubsub_default_applies_to_new_users_and_reset(acl: Oracle) -> None:
    try:
        check_sequence(
            acl,
            [
                ("CONFIG", "SET", "acl-pubsub-default", "allchannels"),
                ("ACL", "SETUSER", "a", "(+get)"),
                ("ACL", "SETUSER", "b", "resetchannels", "&x", "reset"),
                ("ACL", "LIST"),
                ("CONFIG", "SET", "acl-pubsub-default", "resetchannels"),
                ("ACL", "SETUSER", "c"),
                ("ACL", "SETUSER", "b", "reset"),
                ("ACL", "LIST"),
            ],
            {},
        )
    finally:
        acl.check("CONFIG", "SET", "acl-pubsub-default", "resetchannels")


def sample_command_lines() -> list[list[str]]:
    """A command line for every command and subcommand Zyst has (Redis 7.0's too): its keys
    where its key positions say, ``1`` for every other argument, as many as its arity asks."""
    import zyst.commands

    lines = []
    for cmd in zyst.commands.COMMANDS.values():
        for target in [cmd, *cmd.subcommands.values()]:
            if target.handler is None or target.name == "client|setinfo":
                continue
            words = target.name.split("|")
            size = max(abs(target.arity), len(words) + 1)
            if target.last_key < 0:
                size = max(size, target.first_key + 3)
            line = words + ["1"] * (size - len(words))
            if target.first_key > 0:
                last = target.last_key if target.last_key >= 0 else size + target.last_key
                for position in range(target.first_key, last + 1, target.key_step or 1):
                    line[position] = "KEY"
            lines.append(line)
    return lines


@pytest.mark.parametrize("prefix", ["r", "w", "rw", "none"])
def test_dryrun_reads_and_writes_of_every_command(acl: Oracle, prefix: str) -> None:
    """What each command does to its keys (its key specs) decides what %R~ and %W~ allow:
    every command against a user who may read r*, write w*, do both to rw*."""
    acl.check("ACL", "SETUSER", "kspec", "on", "+@all", "%R~r*", "%W~w*", "~rw*", "&*")
    commands = []
    for line in sample_command_lines():
        keyed = [f"{prefix}{i}" if word == "KEY" else word for i, word in enumerate(line)]
        commands.append(("ACL", "DRYRUN", "kspec", *keyed))
    replies = acl.check_many(commands)
    refused = sum(b"permissions to access the" in reply for reply in replies)
    # (Under rw*, only words a command takes for keys beyond its key positions are refused.)
    assert refused > 50 if prefix != "rw" else refused < 20, refused
    assert replies.count(b"+OK\r\n") > 50
