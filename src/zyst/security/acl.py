"""Redis 7.0's ACL model: users, their rules, and the check of a command against them.

A :class:`User` has flags (``on``/``off``, ``nopass``, ``sanitize-payload``), SHA-256
password hashes and one or more :class:`Selector`\\ s: the *root* selector (the rules given
outside parentheses) and any number of extra ones (``(+get ~key*)``). A command is allowed
when one selector allows the command itself, every key it names (with the access its key
specs say: ``%R~`` patterns grant reading, ``%W~`` writing) and every channel it publishes
or subscribes to.

Commands are known by the one command table (:mod:`zyst.commands.table`): each command and
subcommand gets a bit of a selector's ``allowed`` mask, and a category is the set of
commands whose ``COMMAND INFO`` lists it (:func:`zyst.commands.introspection.acl_categories`).
The table is read once, on first use (:func:`catalogue`), since it is complete only after
every command module was imported.

The rule language (``ACL SETUSER``'s arguments, a users file line)::

    on off nopass resetpass >pass <pass #sha256 !sha256 reset
    sanitize-payload skip-sanitize-payload  (rule) clearselectors
    ~pattern %R~pattern %W~pattern %RW~pattern allkeys resetkeys
    &channel allchannels resetchannels
    +cmd -cmd +cmd|sub -cmd|sub +cmd|firstarg +@category -@category allcommands nocommands

Invariants: a user's description (:meth:`User.describe`, ``ACL LIST``) read back as rules
gives the same user; rules of one ``ACL SETUSER`` apply all or none; names are ``str``
holding the bytes as latin-1 (one character per byte, so they sort as Redis's radix tree
sorts them).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final, NamedTuple

from zyst import errors
from zyst.glob import stringmatch
from zyst.protocol.inline import split_args

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.commands.table import Command

# A key pattern's permissions (``%R~``, ``%W~``; ``~`` is both).
READ: Final = 1
WRITE: Final = 2
ALL: Final = READ | WRITE

# Denial reasons, in the order Redis ranks them when several selectors refuse for different
# reasons (ACL_DENIED_CMD < ACL_DENIED_KEY < ACL_DENIED_CHANNEL).
_RANK: Final = {"command": 1, "key": 2, "channel": 4}

# The commands that name channels: (first channel, how many: -1 to the end, subscribing to
# patterns, checked). Unsubscribing is never refused.
_CHANNELS: Final = {
    "subscribe": (1, -1, False, True),
    "ssubscribe": (1, -1, False, True),
    "psubscribe": (1, -1, True, True),
    "publish": (1, 1, False, True),
    "spublish": (1, 1, False, True),
}

# Redis's user flags, in the order descriptions list them.
_USER_FLAGS: Final = ("on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload")


class RuleError(Exception):
    """A rule that cannot be applied; ``reason`` is Redis's text for it."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Denial(NamedTuple):
    """Why a command was refused: ``reason`` is ``command``, ``key`` or ``channel``,
    ``subject`` the command's full name (``config|set``), the key or the channel (bytes as
    latin-1), ``position`` where in argv the key or channel is (0 for a command)."""

    reason: str
    subject: str
    position: int = 0


# -- the command catalogue ---------------------------------------------------------------------
class Catalogue:
    """The command table as ACL rules see it: a bit per command and subcommand, the commands
    of each category, names looked up as Redis's ACL does (``name`` or ``name|sub``)."""

    def __init__(self, commands: Iterable[Command], categories: Callable[[Command], list[str]]):
        from zyst.commands.introspection import CATEGORY_ORDER

        self.order: tuple[str, ...] = CATEGORY_ORDER
        self.ids: dict[Command, int] = {}
        self.top: list[Command] = sorted(commands, key=lambda c: c.name)
        self.by_name: dict[str, Command] = {}
        # Per category: the commands listing it (members) and the bits +@category sets (the
        # members and, for a container, all its subcommands).
        self.members: dict[str, int] = {name: 0 for name in self.order}
        self.grants: dict[str, int] = {name: 0 for name in self.order}
        self.listed: dict[str, list[Command]] = {name: [] for name in self.order}
        for cmd in self.top:
            self._add(cmd)
            for sub in cmd.subcommands.values():
                self._add(sub)
        self.every = (1 << len(self.ids)) - 1
        for cmd in self.ids:
            for cat in categories(cmd):
                self.members[cat] |= self.bit(cmd)
                self.grants[cat] |= self.family(cmd)
                self.listed[cat].append(cmd)

    def _add(self, cmd: Command) -> None:
        self.ids[cmd] = len(self.ids)
        self.by_name[cmd.name] = cmd

    def added(self, cmd: Command, categories: list[str]) -> None:
        """Take in ``cmd``, a command (without subcommands) declared after the catalogue was
        built (a module's): a new bit, so the rules users already have keep their meaning.
        ``+@all`` users run it (their ``allcommands``); others get it by a later rule."""
        self._add(cmd)
        self.top.append(cmd)
        self.top.sort(key=lambda c: c.name)
        self.every |= self.bit(cmd)
        for cat in categories:
            self.members[cat] |= self.bit(cmd)
            self.grants[cat] |= self.bit(cmd)
            self.listed[cat].append(cmd)

    def removed(self, cmd: Command) -> None:
        """Forget ``cmd`` (a module unloaded): rules no longer name it, its bit stays unused."""
        bit = self.bit(cmd)
        self.by_name.pop(cmd.name, None)
        self.top.remove(cmd)
        self.every &= ~bit
        for cat in self.order:
            self.members[cat] &= ~bit
            self.grants[cat] &= ~bit
            if cmd in self.listed[cat]:
                self.listed[cat].remove(cmd)

    def bit(self, cmd: Command) -> int:
        return 1 << self.ids[cmd]

    def family(self, cmd: Command) -> int:
        """The bits of ``cmd`` and of all its subcommands."""
        bits = 1 << self.ids[cmd]
        for sub in cmd.subcommands.values():
            bits |= 1 << self.ids[sub]
        return bits

    def lookup(self, name: bytes) -> Command | None:
        """The command ``name`` or ``parent|sub`` names (any case), as Redis's strict lookup:
        ``parent|sub`` only for a container, one level only."""
        parts = name.split(b"|")
        if len(parts) > 2 or not name:
            return None
        found = self.by_name.get(parts[0].lower().decode("latin-1"))
        if found is None or len(parts) == 1:
            return found
        if not found.subcommands:
            return None
        return found.subcommands.get(parts[1].lower())


_CATALOGUE: list[Catalogue] = []


def catalogue() -> Catalogue:
    """The catalogue of the command table, built on first use."""
    if not _CATALOGUE:
        from zyst.commands import COMMANDS
        from zyst.commands.introspection import acl_categories

        _CATALOGUE.append(Catalogue(COMMANDS.values(), acl_categories))
    return _CATALOGUE[0]


def command_added(cmd: Command) -> None:
    """Tell the catalogue, if it is built yet, of a command declared after it was."""
    if _CATALOGUE:
        from zyst.commands.introspection import acl_categories

        _CATALOGUE[0].added(cmd, acl_categories(cmd))


def command_removed(cmd: Command) -> None:
    """Tell the catalogue, if it is built yet, that ``cmd`` is gone from the table."""
    if _CATALOGUE and cmd in _CATALOGUE[0].ids:
        _CATALOGUE[0].removed(cmd)


def hash_password(password: bytes) -> str:
    """A password as users keep it: its SHA-256, 64 lower-case hex digits."""
    return hashlib.sha256(password).hexdigest()


def _rule_hash(op: bytes) -> str:
    """The SHA-256 (hex) a password rule names: of the password after ``>`` or ``<``, or given
    after ``#`` or ``!`` (refused unless it is 64 lowercase hex digits)."""
    if op[:1] in (b">", b"<"):
        return hash_password(op[1:])
    if not _valid_hash(op[1:]):
        raise RuleError(errors.ACL_BAD_HASH)
    return op[1:].decode()


def _valid_hash(text: bytes) -> bool:
    return len(text) == 64 and all(c in b"0123456789abcdef" for c in text)


def _word(op: bytes) -> bytes:
    """A rule as C's ``strcasecmp`` compares it: up to its first NUL byte, in lower case."""
    return op.split(b"\0", 1)[0].lower()


def has_spaces(text: bytes) -> bool:
    """Whether ``text`` holds white space (C's ``isspace``) or a NUL byte: refused in user
    names and patterns."""
    return any(c in b" \t\n\v\f\r\0" for c in text)


# -- selectors ---------------------------------------------------------------------------------
class KeyPattern:
    """A key pattern of a selector and the access it grants (READ, WRITE or both)."""

    __slots__ = ("flags", "pattern")

    def __init__(self, pattern: bytes, flags: int) -> None:
        self.pattern = pattern
        self.flags = flags

    def describe(self) -> bytes:
        prefix = b"~" if self.flags == ALL else b"%R~" if self.flags == READ else b"%W~"
        if self.flags == 0:
            prefix = b"%~"  # (Redis cannot describe it either: "%~x" grants nothing)
        return prefix + self.pattern


class Selector:
    """One set of permissions: commands (a bit mask, plus first arguments allowed for a
    command otherwise refused), key patterns and channel patterns."""

    __slots__ = (
        "allchannels",
        "allcommands",
        "allkeys",
        "allowed",
        "channels",
        "firstargs",
        "future",
        "patterns",
        "root",
    )

    def __init__(self, root: bool, allchannels: bool) -> None:
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels
        self.allcommands = False
        # Set by +@all / allcommands only: the user is meant to run every command, even one
        # the rules cannot name (Redis's reserved bit; it decides +@all vs -@all first).
        self.future = False
        self.allowed = 0
        self.firstargs: dict[Command, list[bytes]] = {}
        self.patterns: list[KeyPattern] = []
        self.channels: list[bytes] = []

    def copy(self) -> Selector:
        new = Selector(self.root, self.allchannels)
        new.allkeys = self.allkeys
        new.allcommands = self.allcommands
        new.future = self.future
        new.allowed = self.allowed
        new.firstargs = {cmd: list(args) for cmd, args in self.firstargs.items()}
        new.patterns = [KeyPattern(p.pattern, p.flags) for p in self.patterns]
        new.channels = list(self.channels)
        return new

    # -- rules ---------------------------------------------------------------------------
    def apply(self, op: bytes) -> None:
        """Apply one selector rule (keys, channels, commands); :class:`RuleError` if it is
        not one or cannot apply."""
        # Words and names are compared as C strings (up to a NUL byte), patterns are not.
        lowered = _word(op)
        if lowered == b"allkeys" or lowered == b"~*":
            self.allkeys = True
            self.patterns = []
        elif lowered == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif lowered == b"allchannels" or lowered == b"&*":
            self.allchannels = True
            self.channels = []
        elif lowered == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif lowered == b"allcommands" or lowered == b"+@all":
            # Every bit, those of commands declared later (a module's) too, as Redis sets
            # its whole bitmap.
            self.allowed = -1
            self.allcommands = True
            self.future = True
            self.firstargs = {}
        elif lowered == b"nocommands" or lowered == b"-@all":
            self.allowed = 0
            self.allcommands = False
            self.future = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(errors.ACL_CHANNELS_AFTER_ALL)
            pattern = op[1:]
            if has_spaces(pattern):
                raise RuleError(errors.ACL_SYNTAX)
            if pattern not in self.channels:
                self.channels.append(pattern)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow(op[1:].split(b"\0", 1)[0])
        elif op[:1] == b"-" and op[1:2] != b"@":
            cmd = catalogue().lookup(lowered[1:])
            if cmd is None:
                raise RuleError(errors.ACL_UNKNOWN_NAME)
            self._change(cmd, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            name = lowered[2:].decode("latin-1")
            cat = catalogue()
            if name not in cat.members:
                raise RuleError(errors.ACL_UNKNOWN_NAME)
            self._change_category(name, op[:1] == b"+")
        else:
            raise RuleError(errors.ACL_SYNTAX)

    def _add_key_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(errors.ACL_KEYS_AFTER_ALL)
        flags = 0
        offset = 1
        if op[:1] == b"%":
            while offset < len(op):
                char = op[offset : offset + 1].upper()
                if char == b"R" and not flags & READ:
                    flags |= READ
                elif char == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif char == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(errors.ACL_SYNTAX)
                offset += 1
        else:
            flags = ALL
        pattern = op[offset:]
        if has_spaces(pattern):
            raise RuleError(errors.ACL_SYNTAX)
        for existing in self.patterns:
            if existing.pattern == pattern:
                existing.flags |= flags
                break
        else:
            self.patterns.append(KeyPattern(pattern, flags))
        self.allkeys = False

    def _allow(self, name: bytes) -> None:
        cat = catalogue()
        bar = name.rfind(b"|")
        if bar < 0:
            cmd = cat.lookup(name)
            if cmd is None:
                raise RuleError(errors.ACL_UNKNOWN_NAME)
            self._change(cmd, True)
            return
        cmd = cat.lookup(name[:bar])
        if cmd is None:
            raise RuleError(errors.ACL_UNKNOWN_NAME)
        if "|" in cmd.name:
            raise RuleError(errors.ACL_FIRSTARG_OF_SUBCOMMAND)
        first = name[bar + 1 :]
        if not first:
            raise RuleError(errors.ACL_SYNTAX)
        if cmd.subcommands:
            sub = cat.lookup(name)
            if sub is None:
                raise RuleError(errors.ACL_UNKNOWN_NAME)
            self._change(sub, True)
            return
        # An argument allowed for a command otherwise refused (SELECT|0): Redis warns that
        # this use is deprecated, and keeps each argument once (compared without case).
        allowed = self.firstargs.setdefault(cmd, [])
        if all(first.lower() != known.lower() for known in allowed):
            allowed.append(first)

    def _change(self, cmd: Command, allow: bool) -> None:
        """Allow or refuse ``cmd`` and, for a container, all its subcommands."""
        cat = catalogue()
        if allow:
            self.allowed |= cat.family(cmd)
        else:
            self.allowed &= ~cat.family(cmd)
            self.allcommands = False
        self.firstargs.pop(cmd, None)

    def _change_category(self, name: str, allow: bool) -> None:
        cat = catalogue()
        listed = cat.listed[name]
        if allow:
            self.allowed |= cat.grants[name]
        elif listed:
            self.allowed &= ~cat.grants[name]
            self.allcommands = False
        if self.firstargs:
            for cmd in listed:
                self.firstargs.pop(cmd, None)

    # -- description -----------------------------------------------------------------------
    def describe_commands(self) -> bytes:
        """The command rules that rebuild this selector's commands: ``+@all`` or ``-@all``,
        the categories that fit best, then single commands (Redis's approximation, category
        by category, kept as it is so that ACL LIST reads the same)."""
        cat = catalogue()
        additive = not self.future
        rules: list[bytes] = [b"-@all" if additive else b"+@all"]
        fake = 0 if additive else cat.every
        temp = self.allowed
        applied: set[str] = set()
        while True:
            best = None
            mindiff = 2**31 - 1
            maxsame = 0
            for name in cat.order:
                if name in applied:
                    continue
                members = cat.members[name]
                on = (temp & members).bit_count()
                off = members.bit_count() - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best = name
                    mindiff = diff
                    maxsame = same
            if best is None:
                break
            if additive:
                fake |= cat.grants[best]
                temp &= ~cat.grants[best]
            else:
                fake &= ~cat.grants[best]
                temp |= cat.grants[best]
            rules.append((b"+@" if additive else b"-@") + best.encode())
            applied.add(best)
        allowed = self.allowed
        for cmd in cat.top:
            fake = self._describe_single(cmd, fake, allowed, rules)
            for sub in cmd.subcommands.values():
                fake = self._describe_single(sub, fake, allowed, rules)
            args = self.firstargs.get(cmd)
            if args and not allowed & cat.bit(cmd):
                rules.extend(b"+" + cmd.wire_name + b"|" + arg for arg in args)
        return b" ".join(rules)

    @staticmethod
    def _describe_single(cmd: Command, fake: int, allowed: int, rules: list[bytes]) -> int:
        cat = catalogue()
        bit = cat.bit(cmd)
        if allowed & bit != fake & bit:
            if allowed & bit:
                rules.append(b"+" + cmd.wire_name)
                fake |= cat.family(cmd)
            else:
                rules.append(b"-" + cmd.wire_name)
                fake &= ~cat.family(cmd)
        return fake

    def describe_keys(self) -> bytes:
        """The key rules as ACL GETUSER shows them (``~*``, or the patterns, space-separated)."""
        if self.allkeys:
            return b"~*"
        return b" ".join(p.describe() for p in self.patterns)

    def describe_channels(self) -> bytes:
        if self.allchannels:
            return b"&*"
        return b" ".join(b"&" + c for c in self.channels)

    def describe(self) -> bytes:
        """The selector as rules: keys, channels, commands (as ACL LIST writes them)."""
        parts: list[bytes] = []
        if self.allkeys:
            parts.append(b"~*")
        else:
            parts.extend(p.describe() for p in self.patterns)
        if self.allchannels:
            parts.append(b"&*")
        else:
            parts.append(b"resetchannels")
            parts.extend(b"&" + c for c in self.channels)
        parts.append(self.describe_commands())
        return b" ".join(parts)

    # -- checks ----------------------------------------------------------------------------
    def check(self, cmd: Command, argv: list[bytes], keys: _Keys) -> Denial | None:
        """Whether this selector allows ``argv`` (the command ``cmd``)."""
        if not self.allcommands and "no_auth" not in cmd.flags:
            cat = catalogue()
            if not self.allowed & cat.bit(cmd):
                args = self.firstargs.get(cmd)
                at = 2 if "|" in cmd.name else 1
                if not args or len(argv) < 2:
                    return Denial("command", cmd.name)
                first = argv[at].lower()
                if all(first != arg.lower() for arg in args):
                    return Denial("command", cmd.name)
        if not self.allkeys:
            for position, (key, flags) in enumerate(keys.get(cmd, argv)):
                if not self.key_allowed(key, flags):
                    return Denial("key", key.decode("latin-1"), position)
        if not self.allchannels:
            spec = _CHANNELS.get(cmd.name)
            if spec is not None:
                start, count, patterns, _ = spec
                stop = len(argv) if count < 0 else min(start + count, len(argv))
                for position in range(start, stop):
                    channel = argv[position]
                    if not _channel_allowed(self.channels, channel, patterns):
                        return Denial("channel", channel.decode("latin-1"), position)
        return None

    def all_keys_allowed(self, access: int) -> bool:
        """Whether ``access`` (READ and/or WRITE) is granted to every key: ``allkeys``, or a
        ``*`` pattern granting it."""
        if self.allkeys:
            return True
        return any(p.pattern == b"*" and p.flags & access == access for p in self.patterns)

    def key_allowed(self, key: bytes, access: int) -> bool:
        """Whether the patterns grant ``access`` (READ and/or WRITE) to ``key``."""
        if self.allkeys:
            return True
        for pattern in self.patterns:
            if pattern.flags & access == access and stringmatch(pattern.pattern, key):
                return True
        return False


def _channel_allowed(allowed: list[bytes], channel: bytes, is_pattern: bool) -> bool:
    """A channel is matched against the patterns; a pattern (PSUBSCRIBE) only equal to one."""
    for pattern in allowed:
        if channel == pattern if is_pattern else stringmatch(pattern, channel):
            return True
    return False


def access_of(spec_flags: tuple[str, ...]) -> int:
    """What a key spec's flags ask of a key: ``access`` reads, ``insert``/``delete``/
    ``update`` write."""
    access = 0
    for flag in spec_flags:
        if flag == "access":
            access |= READ
        elif flag == "insert" or flag == "delete" or flag == "update":
            access |= WRITE
    return access


class _Keys:
    """The keys of one command line with the access each needs, found once for all the
    selectors that look at them."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[tuple[bytes, int]] | None = None

    def get(self, cmd: Command, argv: list[bytes]) -> list[tuple[bytes, int]]:
        if self.found is None:
            from zyst.commands.introspection import keys_and_flags

            self.found = [(key, access_of(flags)) for key, flags in keys_and_flags(cmd, argv)]
        return self.found


# -- users -------------------------------------------------------------------------------------
class User:
    """An ACL user: flags, password hashes, the root selector and the extra ones."""

    __slots__ = ("enabled", "name", "nopass", "passwords", "sanitize", "selectors")

    def __init__(self, name: str, allchannels: bool = False) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        # None: neither flag given; True: sanitize-payload; False: skip-sanitize-payload.
        self.sanitize: bool | None = None
        self.passwords: list[str] = []
        self.selectors: list[Selector] = [Selector(True, allchannels)]

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy_from(self, other: User) -> None:
        """Take ``other``'s rules (not its name)."""
        self.enabled = other.enabled
        self.nopass = other.nopass
        self.sanitize = other.sanitize
        self.passwords = list(other.passwords)
        self.selectors = [s.copy() for s in other.selectors]

    def password_matches(self, password: bytes) -> bool:
        """Whether ``password`` lets one log in as this user (enabled or not: see
        :meth:`Acl.authenticate`)."""
        if self.nopass:
            return True
        hashed = hash_password(password)
        matched = False
        for known in self.passwords:
            # Compared in constant time, every hash, as Redis does.
            matched |= hmac.compare_digest(hashed, known)
        return matched

    def unrestricted(self) -> bool:
        """Whether the user may run anything on any key and channel (its root selector has
        ``+@all ~* &*`` and no command has been taken back): no check is needed at all."""
        root = self.selectors[0]
        return root.allcommands and root.allkeys and root.allchannels

    def check(self, cmd: Command, argv: list[bytes]) -> Denial | None:
        """Whether the user may run ``argv`` (the command ``cmd``; ``argv[0]`` the name as
        sent): ``None``, or the :class:`Denial` Redis would log. When every selector refuses,
        the one reported is the highest ranked reason (command < key < channel), and among
        equal ones the last argument."""
        keys = _Keys()
        relevant: Denial | None = None
        for selector in self.selectors:
            denial = selector.check(cmd, argv, keys)
            if denial is None:
                return None
            if relevant is None:
                relevant = denial
                continue
            rank, best = _RANK[denial.reason], _RANK[relevant.reason]
            if rank > best or (rank == best and denial.position > relevant.position):
                relevant = denial
        return relevant

    def may_reach_any_key(self, cmd: Command, argv: list[bytes], access: int) -> bool:
        """Whether one selector allows ``argv`` and grants ``access`` to every key (what SORT
        asks before it reads keys its BY and GET patterns make up)."""
        keys = _Keys()
        return any(
            selector.check(cmd, argv, keys) is None and selector.all_keys_allowed(access)
            for selector in self.selectors
        )

    def check_channels(self, channels: Iterable[bytes], patterns: bool) -> bytes | None:
        """The first of ``channels`` (patterns when ``patterns``) no selector allows."""
        for channel in channels:
            for selector in self.selectors:
                if selector.allchannels or _channel_allowed(selector.channels, channel, patterns):
                    break
            else:
                return channel
        return None

    def check_key(self, key: bytes, access: int) -> bool:
        """Whether some selector grants ``access`` (READ/WRITE) to ``key``."""
        return any(s.key_allowed(key, access) for s in self.selectors)

    # -- rules -----------------------------------------------------------------------------
    def apply(self, op: bytes, allchannels: bool) -> None:
        """Apply one rule (``allchannels``: acl-pubsub-default is allchannels, for ``reset``
        and new selectors); :class:`RuleError` when it cannot."""
        if not op:
            return
        lowered = _word(op)
        if lowered == b"on":
            self.enabled = True
        elif lowered == b"off":
            self.enabled = False
        elif lowered == b"skip-sanitize-payload":
            self.sanitize = False
        elif lowered == b"sanitize-payload":
            self.sanitize = True
        elif lowered == b"nopass":
            self.nopass = True
            self.passwords = []
        elif lowered == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            hashed = _rule_hash(op)
            if hashed not in self.passwords:
                self.passwords.append(hashed)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            hashed = _rule_hash(op)
            if hashed not in self.passwords:
                raise RuleError(errors.ACL_NO_SUCH_PASSWORD)
            self.passwords.remove(hashed)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector(False, allchannels)
            # The rules inside are split as a quoted line; unbalanced quotes leave none.
            for rule in split_args(op[1:-1]) or []:
                selector.apply(rule)
            self.selectors.append(selector)
        elif lowered == b"clearselectors":
            del self.selectors[1:]
        elif lowered == b"reset":
            self.passwords = []
            self.nopass = False
            root = self.selectors[0]
            root.allkeys = False
            root.patterns = []
            root.allchannels = allchannels
            root.channels = []
            self.enabled = False
            self.sanitize = True
            del self.selectors[1:]
            root.apply(b"-@all")
        else:
            self.selectors[0].apply(op)

    def flags(self) -> list[str]:
        """The flags ACL GETUSER lists, in Redis's order."""
        out = ["on" if self.enabled else "off"]
        if self.nopass:
            out.append("nopass")
        if self.sanitize is False:
            out.append("skip-sanitize-payload")
        elif self.sanitize:
            out.append("sanitize-payload")
        return out

    def describe(self) -> bytes:
        """The user's rules as ACL LIST and the users file write them (after the name)."""
        parts = [flag.encode() for flag in self.flags()]
        parts.extend(b"#" + p.encode() for p in self.passwords)
        parts.append(self.selectors[0].describe())
        text = b" ".join(parts)
        for selector in self.selectors[1:]:
            text += b" (" + selector.describe() + b")"
        return text


def describe_line(user: User) -> bytes:
    """A user as ACL LIST, the users file and CONFIG REWRITE show it: ``user <name> <rules>``."""
    return b"user " + user.name.encode("latin-1") + b" " + user.describe()


def merge_selectors(args: list[bytes]) -> list[bytes] | int:
    """The rules with a selector spread over several arguments (``(+get`` ``~key)``) joined
    by spaces into one; an unmatched ``(`` gives the index of the argument it starts."""
    merged: list[bytes] = []
    opened = -1
    current = b""
    for index, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            # (Inside a selector too: as in Redis, the one begun before is dropped.)
            current = op
            opened = index
            continue
        if opened >= 0:
            current += b" " + op
            if op[-1:] == b")":
                opened = -1
                merged.append(current)
            continue
        merged.append(op)
    return opened if opened >= 0 else merged


def check_declaration(rules: list[bytes]) -> tuple[int, str] | None:
    """A config file's ``user <name> <rules...>`` rules checked as Redis checks them while it
    reads the file: the index (in ``rules``) and reason of the first wrong one; unknown
    command names pass here (they fail when the users are made, see
    :meth:`Acl.load_declared`)."""
    merged = merge_selectors(rules)
    if isinstance(merged, int):
        return merged, errors.ACL_SYNTAX
    scratch = User("", False)
    for index, op in enumerate(merged):
        try:
            scratch.apply(op, False)
        except RuleError as exc:
            if exc.reason != errors.ACL_UNKNOWN_NAME:
                return index, exc.reason
    return None


# -- the log -----------------------------------------------------------------------------------
class LogEntry:
    """One ACL LOG entry: a denial (or failed AUTH), how many times it happened, and when
    last (``created``: milliseconds since the epoch)."""

    __slots__ = ("client_info", "context", "count", "created", "object", "reason", "username")

    def __init__(
        self, reason: str, context: str, obj: bytes, username: bytes, info: bytes, now: int
    ) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.created = now
        self.client_info = info


# Entries alike closer in time than this (milliseconds) are counted as one.
_GROUPING: Final = 60000
# How many recent entries a new one is compared with.
_SCAN: Final = 10


class AclLog:
    """The ACL log: newest first, at most ``max_len`` entries (acllog-max-len)."""

    def __init__(self, max_len: int = 128) -> None:
        self.entries: list[LogEntry] = []
        self.max_len = max_len

    def add(
        self,
        client: Client,
        reason: str,
        context: str,
        subject: str | bytes,
        username: str | None = None,
        argv: list[bytes] | None = None,
    ) -> None:
        """Record a denial for ``client`` (the script's caller when a script was refused).

        ``reason``: ``command`` | ``key`` | ``channel`` | ``auth``; ``context``:
        ``toplevel`` | ``multi`` | ``lua``; ``subject``: the command's full name, the key or
        the channel (str as latin-1, or bytes), for ``auth`` the command as sent (``AUTH``,
        ``HELLO``); ``username``: the user it happened to (default ``client.user``'s name,
        for ``auth`` the name tried); ``argv``: the command being refused, when the client
        is running it (its client-info then counts it, as Redis's does)."""
        from zyst.commands.connection import client_line

        if username is None:
            user = getattr(client, "user", None)
            username = user.name if user is not None else "default"
        obj = subject if isinstance(subject, bytes) else subject.encode("latin-1")
        name = username.encode("latin-1")
        now = int(time.time() * 1000)
        info = client_line(client, client if argv is not None else None, argv)
        for index, entry in enumerate(self.entries[:_SCAN]):
            if (
                entry.reason == reason
                and entry.context == context
                and abs(entry.created - now) <= _GROUPING
                and entry.object == obj
                and entry.username == name
            ):
                entry.client_info = info
                entry.created = now
                entry.count += 1
                del self.entries[index]
                self.entries.insert(0, entry)
                return
        self.entries.insert(0, LogEntry(reason, context, obj, name, info, now))
        del self.entries[max(self.max_len, 0) :]

    def reset(self) -> None:
        self.entries = []


# -- the users ---------------------------------------------------------------------------------
class AclError(Exception):
    """An ACL command or file that cannot apply; ``message`` is the whole error reply."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Acl:
    """The server's users (``ctx.acl``): ``users`` by name, the ``default`` user (always
    there), the log, and ``listeners`` told of users changed or deleted (SETUSER, DELUSER,
    LOAD) so that their clients can be dealt with."""

    def __init__(self, pubsub_default_all: bool = False, log_max_len: int = 128) -> None:
        # acl-pubsub-default: whether new users and selectors start with allchannels.
        self.pubsub_default_all = pubsub_default_all
        self.users: dict[str, User] = {}
        self.default = self._make_default()
        self.users["default"] = self.default
        self.log = AclLog(log_max_len)
        self.listeners: list[Callable[[list[User]], None]] = []

    def _make_default(self) -> User:
        user = User("default", self.pubsub_default_all)
        for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            user.apply(rule, self.pubsub_default_all)
        return user

    def get(self, name: str) -> User | None:
        return self.users.get(name)

    def sorted_users(self) -> list[User]:
        """The users in Redis's order (by name, byte by byte)."""
        return [self.users[name] for name in sorted(self.users)]

    def authenticate(self, username: str, password: bytes) -> User | None:
        """The user ``username`` logs in as with ``password``, or ``None`` (WRONGPASS): no such
        user, disabled, or no password of its matches."""
        user = self.users.get(username)
        if user is None or not user.enabled or not user.password_matches(password):
            return None
        return user

    def set_requirepass(self, password: str) -> None:
        """``requirepass``: the default user's only password (``""``: nopass)."""
        default = self.default
        default.apply(b"resetpass", self.pubsub_default_all)
        if password:
            default.apply(b">" + password.encode("utf-8", "surrogateescape"), False)
        else:
            default.apply(b"nopass", False)

    def new_user(self, name: str) -> User:
        return User(name, self.pubsub_default_all)

    def staged(self, user: User | None, name: str, rules: list[bytes]) -> User:
        """A copy of ``user`` (a new user when ``None``) with ``rules`` applied, all of them,
        or :class:`AclError` with ACL SETUSER's error for the first that cannot apply."""
        merged = merge_selectors(rules)
        if isinstance(merged, int):
            raise AclError(errors.acl_unmatched_parenthesis(rules[merged]))
        staged = self.new_user(name)
        if user is not None:
            staged.copy_from(user)
        for op in merged:
            try:
                staged.apply(op, self.pubsub_default_all)
            except RuleError as exc:
                raise AclError(errors.acl_setuser_error(op, exc.reason)) from None
        return staged

    def setuser(self, name: str, rules: list[bytes]) -> User:
        """ACL SETUSER: create or change ``name`` with ``rules`` (all or none)."""
        existing = self.users.get(name)
        staged = self.staged(existing, name, rules)
        if existing is None:
            self.users[name] = staged
            return staged
        existing.copy_from(staged)
        self.changed([existing])
        return existing

    def deluser(self, names: list[str]) -> int:
        """ACL DELUSER: delete the users (never ``default``); how many existed."""
        deleted = [self.users.pop(name) for name in names if name in self.users]
        if deleted:
            self.changed(deleted)
        return len(deleted)

    def replace(self, users: dict[str, User]) -> None:
        """Put ``users`` in place of all the users (ACL LOAD). The default user stays the
        same object (clients refer to it): it takes the new one's rules."""
        old = self.users
        new_default = users.get("default")
        if new_default is None:
            new_default = self._make_default()
        self.default.copy_from(new_default)
        users["default"] = self.default
        self.users = users
        self.changed([user for name, user in old.items() if name != "default"])

    def load_declared(self, declarations: list[list[bytes]]) -> str | None:
        """Make the users a config file declares (``user <name> <rules...>``, name first);
        the log line of the first rule that cannot apply, or ``None``. A ``default`` line
        resets the default user first."""
        for name_bytes, *rules in declarations:
            name = name_bytes.decode("latin-1")
            if has_spaces(name_bytes):
                return "Spaces not allowed in ACL usernames"
            user = self.users.get(name)
            if user is None:
                user = self.users[name] = self.new_user(name)
            else:
                user.apply(b"reset", self.pubsub_default_all)
            merged = merge_selectors(rules)
            for op in merged if isinstance(merged, list) else []:
                try:
                    user.apply(op, self.pubsub_default_all)
                except RuleError as exc:
                    return (
                        f"Error loading ACL rule '{errors.c_string(op)}' for the user named "
                        f"'{name}': {exc.reason}"
                    )
        return None

    def changed(self, users: list[User]) -> None:
        for listener in self.listeners:
            listener(users)
