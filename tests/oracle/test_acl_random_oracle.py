"""Seeded random ACL rules against real Redis 7.0: many rule sets, the same on both servers.

Each round applies a few random rules (flags, passwords, key and channel patterns, commands,
categories, first arguments, selectors, wrong ones too) to one of a few users, then compares
ACL SETUSER's reply, ACL GETUSER, a few ACL DRYRUN probes and, now and then, ACL LIST and
ACL DELUSER.

Replies are compared byte for byte, but for two things (see test_acl_oracle.py): runs of
single-command rules are compared as sets (Redis's order is its command dict's, random), and
a description's command rules may differ where Zyst's command table lacks commands Redis
has (a category of different size fits otherwise). For those the comparison is of meaning:
both descriptions' command rules are applied to a scratch user on Zyst (rules naming commands
Zyst lacks dropped: they change nothing Zyst has; commands only Zyst has taken away on both
sides), and the users they give must be the same.
Everything else about a description, and every DRYRUN answer, must be identical.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest

from tests.conftest import Oracle, parse_reply
from tests.oracle.test_acl_oracle import delete_users, normalized
from tests.oracle.test_command_info_oracle import NOT_IN_REDIS_7_0
from zyst.security.acl import catalogue

SEED = 20261130
ROUNDS = 1000
USERS = ("u0", "u1", "u2", "u3")
CATEGORIES = (
    *("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap"),
    *("hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking"),
    *("dangerous", "connection", "transaction", "scripting", "all", "ALL"),
)
COMMANDS = (
    *("get", "set", "mget", "lpush", "lmove", "config", "config|get", "config|set", "client"),
    *("client|id", "client|kill", "select", "debug", "keys", "flushall", "publish"),
    *("subscribe", "eval", "sort", "object|encoding", "acl", "acl|whoami", "hset", "zadd"),
    *("ping", "auth", "GET", "Config|Get"),
)
# Rules Redis refuses, one of them now and then.
WRONG = (
    *("+nosuch", "-nosuch", "+config|nosuch", "-get|x", "+config|get|x", "+@nosuch", "+"),
    *("%X~z", "~a b", "&a b", "#abc", "!" + "A" * 64, "<never", "bogus", "(on)", "+get|"),
)
PASSWORDS = (b"p0", b"p1", b"p2")
FLAGS = (
    *("on", "off", "nopass", "resetpass", "reset", "sanitize-payload", "skip-sanitize-payload"),
    *("clearselectors", ""),
)


def sha(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def selector_rule(rng: random.Random) -> str:
    if rng.randrange(25) == 0:
        return rng.choice(WRONG)
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(("~k*", "%R~r*", "%W~w*", "%RW~x*", "%R~*", "~*", "allkeys"))
    if kind == 1:
        return rng.choice(("resetkeys", "%WR~y", "%W~*", "~k1", "%w~w1", "%r~r*"))
    if kind == 2:
        return rng.choice(("&c*", "&news.*", "&*", "allchannels", "resetchannels"))
    if kind == 3:
        return rng.choice("+-") + "@" + rng.choice(CATEGORIES)
    if kind == 4:
        return rng.choice("+-") + rng.choice(COMMANDS)
    return rng.choice(("+select|0", "+select|1", "+debug|object", "allcommands", "nocommands"))


def user_rule(rng: random.Random) -> list[str]:
    """One rule (or a selector spread over several arguments)."""
    kind = rng.randrange(10)
    if kind == 0:
        return [rng.choice(FLAGS)]
    if kind == 1:
        password = rng.choice(PASSWORDS)
        op = rng.randrange(4)
        return [(">", "<", "#", "!")[op] + (password.decode() if op < 2 else sha(password))]
    if kind == 2:
        inner = [selector_rule(rng) for _ in range(rng.randrange(4))]
        if rng.randrange(3) == 0 and inner:
            # Spread over several arguments (joined back by the server), or left open.
            inner[0] = "(" + inner[0]
            if rng.randrange(5):
                inner[-1] += ")"
            return inner
        return ["(" + " ".join(inner) + ")"]
    return [selector_rule(rng)]


PROBES = (
    ("get", "k1"),
    ("get", "r1"),
    ("set", "w1", "v"),
    ("set", "r1", "v"),
    ("set", "k1", "v", "get"),
    ("mget", "k1", "x", "r2"),
    ("lmove", "r1", "w1", "left", "right"),
    ("sort", "r1", "store", "w2"),
    ("publish", "c1", "m"),
    ("publish", "news.1", "m"),
    ("subscribe", "c1", "x"),
    ("psubscribe", "c*"),
    ("psubscribe", "c1*"),
    ("psubscribe", "news.*"),
    ("debug", "OBJECT", "k1"),
    ("SELECT", "1"),
    ("config", "get", "x"),
    ("config", "set", "x", "y"),
    ("client", "id"),
    ("client", "kill", "x"),
    ("select", "0"),
    ("select", "1"),
    ("debug", "object", "k1"),
    ("keys", "*"),
    ("eval", "return 1", "1", "k1"),
    ("zadd", "w1", "1", "a"),
    ("hset", "x", "a", "b"),
    ("object", "encoding", "r1"),
    ("ping",),
    ("auth", "x"),
    ("acl", "whoami"),
)


def zyst_knows(name: bytes) -> bool:
    """Whether Zyst has the command, subcommand, or command with a first argument (SELECT|0)
    a rule names."""
    cmd = catalogue().lookup(name)
    if cmd is not None:
        return True
    base = catalogue().lookup(name.split(b"|", 1)[0])
    return base is not None and not base.subcommands


class Meaning:
    """What a description's command rules mean, found on Zyst with a scratch user."""

    def __init__(self, oracle: Oracle) -> None:
        self.oracle = oracle
        self.known: dict[bytes, bytes] = {}

    def of(self, rules: list[bytes]) -> bytes:
        kept = [rule for rule in rules if b"@" in rule or zyst_knows(rule[1:])]
        # Commands only Zyst has are taken away on both sides: Redis's rules cannot name them.
        kept += [b"-" + name.encode() for name in sorted(NOT_IN_REDIS_7_0)]
        key = b" ".join(kept)
        if key not in self.known:
            zyst = self.oracle.zyst
            reply = zyst.command("ACL", "SETUSER", "__meaning", "reset", *kept)
            assert reply == b"+OK\r\n", (kept, reply)
            fields = parse_reply(zyst.command("ACL", "GETUSER", "__meaning"))
            self.known[key] = dict(zip(fields[::2], fields[1::2], strict=True))[b"commands"]
            zyst.command("ACL", "DELUSER", "__meaning")
        return self.known[key]

    def description(self, text: bytes) -> list[object]:
        """A description (ACL LIST line, GETUSER's commands) with each selector's command
        rules replaced by their meaning."""
        out: list[object] = []
        # (In the order given: a first argument, +select|0, must come after -select.)
        for segment in text.split(b" ("):
            tokens = segment.rstrip(b")").split(b" ")
            rules = [t for t in tokens if t[:1] in (b"+", b"-")]
            others = [t for t in tokens if t[:1] not in (b"+", b"-")]
            out.append((others, self.of(rules) if rules else None))
        return out


def same_meaning(meaning: Meaning, ours: object, theirs: object) -> bool:
    """Whether two parsed replies are alike, descriptions compared by meaning."""
    if isinstance(ours, bytes) and isinstance(theirs, bytes):
        return ours == theirs or meaning.description(ours) == meaning.description(theirs)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(
            same_meaning(meaning, a, b) for a, b in zip(ours, theirs, strict=True)
        )
    return ours == theirs


@pytest.fixture
def acl(oracle: Oracle) -> Iterator[Oracle]:
    delete_users(oracle)
    yield oracle
    delete_users(oracle)


def compare_descriptions(oracle: Oracle, meaning: Meaning, command: tuple[str, ...]) -> bool:
    """Compare a reply holding descriptions; True when it was identical (but for order)."""
    ours, theirs = oracle.run(*command)
    if ours == theirs or normalized(ours) == normalized(theirs):
        return True
    assert same_meaning(meaning, parse_reply(ours), parse_reply(theirs)), (command, ours, theirs)
    return False


def test_random_rules_against_redis(acl: Oracle) -> None:
    rng = random.Random(SEED)
    meaning = Meaning(acl)
    identical = by_meaning = refused = 0
    for round_number in range(ROUNDS):
        name = rng.choice(USERS)
        rules: list[str] = []
        for _ in range(rng.randint(1, 6)):
            rules += user_rule(rng)
        reply = acl.check("ACL", "SETUSER", name, *rules)
        if reply.startswith(b"-"):
            refused += 1
        if compare_descriptions(acl, meaning, ("ACL", "GETUSER", name)):
            identical += 1
        else:
            by_meaning += 1
        if reply == b"+OK\r\n":
            for probe in rng.sample(PROBES, 6):
                acl.check("ACL", "DRYRUN", name, *probe)
        if round_number % 20 == 19:
            compare_descriptions(acl, meaning, ("ACL", "LIST"))
            acl.check("ACL", "USERS")
        if round_number % 37 == 36:
            acl.check("ACL", "DELUSER", rng.choice(USERS), rng.choice(USERS))
    print(f"refused {refused}, identical {identical}, same meaning {by_meaning}")
    # The run must have exercised both outcomes, and compared most users exactly.
    assert refused > ROUNDS // 10, refused
    assert ROUNDS - refused > ROUNDS // 2
    assert identical > by_meaning, (identical, by_meaning)
