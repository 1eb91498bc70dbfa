"""The ACL rule language and the permission check (zyst.security.acl), without a server."""

from __future__ import annotations

import contextlib
import hashlib
import random

import pytest

import zyst.commands  # noqa: F401  (the command table the rules name)
from zyst import errors
from zyst.client import Client
from zyst.commands.table import Command, lookup
from zyst.config import Config
from zyst.context import ServerContext
from zyst.security.acl import (
    Acl,
    AclError,
    AclLog,
    RuleError,
    User,
    catalogue,
    check_declaration,
    merge_selectors,
)


def user(*rules: str | bytes) -> User:
    made = User("u")
    for rule in rules:
        made.apply(rule.encode() if isinstance(rule, str) else rule, False)
    return made


def command_of(*argv: str) -> tuple[Command, list[bytes]]:
    args = [a.encode() for a in argv]
    cmd = lookup(args[0])
    assert cmd is not None
    if cmd.subcommands and len(args) > 1:
        cmd = cmd.subcommands[args[1].lower()]
    return cmd, args


def check(u: User, *argv: str) -> tuple[str, str] | None:
    cmd, args = command_of(*argv)
    denial = u.check(cmd, args)
    return None if denial is None else (denial.reason, denial.subject)


def test_a_new_user_and_the_default_user() -> None:
    assert user().describe() == b"off resetchannels -@all"
    acl = Acl()
    assert acl.default.describe() == b"on nopass ~* &* +@all"
    assert acl.default.unrestricted()
    assert not user("+@all", "~*").unrestricted()
    assert not user("+@all", "~*", "&*", "-get").unrestricted()


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("+nosuch", errors.ACL_UNKNOWN_NAME),
        ("-nosuch", errors.ACL_UNKNOWN_NAME),
        ("+@nosuch", errors.ACL_UNKNOWN_NAME),
        ("+config|nosuch", errors.ACL_UNKNOWN_NAME),
        ("+get|x|y", errors.ACL_UNKNOWN_NAME),
        ("-select|0", errors.ACL_UNKNOWN_NAME),
        ("+config|get|x", errors.ACL_FIRSTARG_OF_SUBCOMMAND),
        ("+select|", errors.ACL_SYNTAX),
        ("%X~a", errors.ACL_SYNTAX),
        ("%RR~a", errors.ACL_SYNTAX),
        ("~a b", errors.ACL_SYNTAX),
        ("&a\0b", errors.ACL_SYNTAX),
        ("#abc", errors.ACL_BAD_HASH),
        ("!" + "A" * 64, errors.ACL_BAD_HASH),
        ("<never", errors.ACL_NO_SUCH_PASSWORD),
        ("bogus", errors.ACL_SYNTAX),
        ("(on)", errors.ACL_SYNTAX),
    ],
)
def test_rules_refused(rule: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        user().apply(rule.encode(), False)
    assert caught.value.reason == reason


def test_patterns_after_the_all_pattern_are_refused() -> None:
    with pytest.raises(RuleError, match="'allkeys'"):
        user("allkeys", "~x")
    with pytest.raises(RuleError, match="'allchannels'"):
        user("&*", "&x")


def test_key_patterns_merge_their_permissions() -> None:
    u = user("%R~a", "%W~a", "%W~b", "%RW~c", "%wR~d", "~e", "%R~e")
    assert u.root.describe_keys() == b"~a %W~b ~c ~d ~e"


def test_passwords() -> None:
    u = user(">a", ">a", ">b", "<a", "#" + hashlib.sha256(b"c").hexdigest())
    assert u.passwords == [hashlib.sha256(b"b").hexdigest(), hashlib.sha256(b"c").hexdigest()]
    assert u.password_matches(b"b") and u.password_matches(b"c")
    assert not u.password_matches(b"a")
    u.apply(b"nopass", False)
    assert u.passwords == [] and u.password_matches(b"anything")
    u.apply(b">x", False)
    assert not u.nopass


def test_authenticate() -> None:
    acl = Acl()
    acl.setuser("alice", [b">pw"])
    assert acl.authenticate("alice", b"pw") is None  # off
    acl.setuser("alice", [b"on"])
    assert acl.authenticate("alice", b"pw") is acl.users["alice"]
    assert acl.authenticate("alice", b"nope") is None
    assert acl.authenticate("nosuch", b"pw") is None
    assert acl.authenticate("default", b"whatever") is acl.default
    acl.set_requirepass("secret")
    assert acl.authenticate("default", b"whatever") is None
    assert acl.authenticate("default", b"secret") is acl.default
    acl.set_requirepass("")
    assert acl.default.nopass


def test_setuser_is_all_or_nothing_and_tells_listeners() -> None:
    acl = Acl()
    seen: list[list[str]] = []
    acl.listeners.append(lambda users: seen.append([u.name for u in users]))
    acl.setuser("u", [b"on", b"~a"])
    assert seen == []  # a new user has no clients
    with pytest.raises(AclError) as caught:
        acl.setuser("u", [b"off", b"~b", b"+nosuch"])
    assert caught.value.message == errors.acl_setuser_error(b"+nosuch", errors.ACL_UNKNOWN_NAME)
    assert acl.users["u"].describe() == b"on ~a resetchannels -@all"
    acl.setuser("u", [b"+get"])
    assert seen == [["u"]]
    assert acl.deluser(["u", "nosuch"]) == 1
    assert seen == [["u"], ["u"]]


def test_merge_selectors() -> None:
    assert merge_selectors([b"on", b"(+get", b"~a)", b"off"]) == [b"on", b"(+get ~a)", b"off"]
    assert merge_selectors([b"(+get)", b"()"]) == [b"(+get)", b"()"]
    assert merge_selectors([b"on", b"(+get", b"~a"]) == 1
    # A selector begun inside another drops it, as Redis does.
    assert merge_selectors([b"(+get", b"off", b"(+set", b"~a)"]) == [b"(+set ~a)"]
    assert check_declaration([b"on", b"+nosuch"]) is None
    assert check_declaration([b"on", b"%X~a"]) == (1, errors.ACL_SYNTAX)


def test_commands_and_subcommands() -> None:
    u = user("+get", "+config|get", "+client")
    assert check(u, "get", "k") == ("key", "k")  # no key patterns yet
    u.apply(b"allkeys", False)
    assert check(u, "get", "k") is None
    assert check(u, "set", "k", "v") == ("command", "set")
    assert check(u, "config", "get", "x") is None
    assert check(u, "config", "set", "x", "y") == ("command", "config|set")
    assert check(u, "client", "id") is None
    u.apply(b"-client|id", False)
    assert check(u, "client", "id") == ("command", "client|id")
    assert check(u, "client", "info") is None
    # AUTH and HELLO are never refused for their name.
    assert check(user(), "auth", "x") is None


def test_first_arguments() -> None:
    u = user("+select|0", "+select|x")
    assert check(u, "select", "0") is None
    assert check(u, "select", "X") is None
    assert check(u, "select", "1") == ("command", "select")
    assert u.root.describe_commands() == b"-@all +select|0 +select|x"
    u.apply(b"+@keyspace", False)
    assert u.root.describe_commands() == b"-@all +@keyspace +select|0 +select|x"
    u.apply(b"+select", False)
    assert u.root.describe_commands() == b"-@all +@keyspace +select"


def test_key_permissions_follow_the_key_specs() -> None:
    u = user("+@all", "%R~r*", "%W~w*", "~k*")
    assert check(u, "get", "r1") is None
    assert check(u, "get", "w1") == ("key", "w1")
    assert check(u, "set", "w1", "v") is None
    assert check(u, "set", "r1", "v") == ("key", "r1")
    # SET ... GET reads its key as well as writing it.
    assert check(u, "set", "w1", "v", "get") == ("key", "w1")
    assert check(u, "set", "k1", "v", "get") is None
    assert check(u, "lmove", "r1", "w1", "left", "right") == ("key", "r1")
    assert check(u, "copy", "r1", "w1") is None
    assert check(u, "mget", "k1", "r1", "x") == ("key", "x")
    assert check(u, "sort", "r1", "store", "w1") is None
    assert check(u, "sort", "r1", "store", "r2") == ("key", "r2")


def test_channels() -> None:
    u = user("+@all", "~*", "&news.*", "&lit*")
    assert check(u, "publish", "news.1", "m") is None
    assert check(u, "publish", "other", "m") == ("channel", "other")
    assert check(u, "subscribe", "news.1", "other") == ("channel", "other")
    assert check(u, "psubscribe", "lit*") is None
    assert check(u, "psubscribe", "news.1") == ("channel", "news.1")
    assert check(u, "unsubscribe", "other") is None
    assert u.check_channels([b"news.x", b"nope"], patterns=False) == b"nope"
    assert u.check_channels([b"news.*"], patterns=True) is None
    assert u.check_channels([b"news.x"], patterns=True) == b"news.x"


def test_selectors_and_which_denial_is_reported() -> None:
    u = user("+get", "~a*", "(+set ~b*)", "(+get %R~c*)")
    assert check(u, "get", "a1") is None
    assert check(u, "get", "c1") is None
    assert check(u, "set", "b1", "v") is None
    assert check(u, "set", "a1", "v") == ("key", "a1")
    # A key refusal outranks a command refusal; among key refusals, the later argument.
    assert check(u, "get", "zz") == ("key", "zz")
    assert check(u, "del", "a1") == ("command", "del")
    u.apply(b"clearselectors", False)
    assert check(u, "set", "b1", "v") == ("command", "set")


def test_reset() -> None:
    u = user("on", ">x", "~a", "&b", "+@all", "(+get)")
    u.apply(b"reset", False)
    assert u.describe() == b"off sanitize-payload resetchannels -@all"
    u.apply(b"reset", True)  # acl-pubsub-default allchannels
    assert u.describe() == b"off sanitize-payload &* -@all"


RULES = (
    *("+@all", "-@all", "+get", "-get", "+config|get", "-config|set", "+client", "-client|id"),
    *("+select|0", "+@string", "-@string", "+@read", "-@write", "+@admin", "-@dangerous"),
    *("+@connection", "-@fast", "+@slow", "+@hash", "-@keyspace", "+@scripting", "+acl"),
    *("~a*", "%R~b", "%W~c", "&x", "allkeys", "resetkeys", "resetchannels", "on", "nopass"),
)


@pytest.mark.parametrize("seed", range(40))
def test_a_description_read_back_gives_the_same_user(seed: int) -> None:
    rng = random.Random(seed)
    rules = [rng.choice(RULES) for _ in range(rng.randint(1, 12))]
    if rng.randrange(2):
        rules.append("(" + " ".join(rng.choice(RULES[:20]) for _ in range(3)) + ")")
    original = user()
    for rule in rules:
        with contextlib.suppress(RuleError):
            original.apply(rule.encode(), False)
    description = original.describe()
    copy = user()
    merged = merge_selectors(description.split(b" "))
    assert isinstance(merged, list)
    for rule in merged:
        copy.apply(rule, False)
    assert copy.describe() == description
    for selector, twin in zip(original.selectors, copy.selectors, strict=True):
        assert selector.allowed == twin.allowed, rules


def test_categories_come_from_the_command_table() -> None:
    cat = catalogue()
    names = {cmd.name for cmd in cat.listed["string"]}
    assert {"get", "set", "append"} <= names and "lpush" not in names
    assert "config|set" in {cmd.name for cmd in cat.listed["dangerous"]}
    assert "acl|whoami" in {cmd.name for cmd in cat.listed["slow"]}


def test_the_log_groups_alike_entries_and_keeps_the_newest() -> None:
    ctx = ServerContext(Config())
    client = Client(ctx, 1)
    log = AclLog(max_len=2)
    log.add(client, "command", "toplevel", "get")
    log.add(client, "command", "toplevel", "get")
    assert [(e.object, e.count, e.username) for e in log.entries] == [(b"get", 2, b"default")]
    log.add(client, "key", "multi", b"k")
    log.add(client, "auth", "toplevel", "AUTH", username="alice")
    assert [(e.reason, e.object, e.username) for e in log.entries] == [
        ("auth", b"AUTH", b"alice"),
        ("key", b"k", b"default"),
    ]
    log.add(client, "key", "multi", b"k")
    assert [e.count for e in log.entries] == [2, 1]
    assert log.entries[0].client_info.startswith(b"id=1 ")
    # Alike means the same reason, context, object and user.
    for reason, context, username in (
        ("command", "multi", None),
        ("command", "lua", None),
        ("command", "multi", "bob"),
    ):
        log.add(client, reason, context, b"k", username=username)
        assert log.entries[0].count == 1, (reason, context, username)


def test_reaching_any_key_needs_a_selector_with_every_key() -> None:
    """What SORT's BY and GET patterns ask (Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess)."""
    from zyst.security.acl import READ, WRITE

    sort, argv = command_of("sort", "mylist", "by", "v*")
    assert user("+sort", "allkeys").may_reach_any_key(sort, argv, READ)
    assert user("+sort", "%R~*").may_reach_any_key(sort, argv, READ)
    assert not user("+sort", "%R~*").may_reach_any_key(sort, argv, READ | WRITE)
    assert not user("+sort", "~mylist").may_reach_any_key(sort, argv, READ)
    assert not user("+get", "allkeys").may_reach_any_key(sort, argv, READ)
    assert user("+sort", "~mylist", "(+sort ~*)").may_reach_any_key(sort, argv, READ)
