"""SCAN, HSCAN, SSCAN and ZSCAN (Redis's ``scanGenericCommand`` in ``db.c`` and its callers).

Each call answers ``[cursor, [element ...]]``: the cursor to send next (as a bulk string; 0 when
the iteration is over) and the elements read, after the MATCH and TYPE filters (HSCAN and ZSCAN
answer field/member and value/score pairs, flattened). The cursors and their guarantee are
:mod:`zyst.scanning`'s; this module parses arguments, picks the elements' order for compact
collections and filters.

As Redis 7.0:

- The cursor is read as C's ``strtoul`` reads it: optional sign, decimal digits, nothing after
  (bytes after a NUL are not looked at), no leading space; a negative number wraps around, an
  empty one is 0; beyond 64 bits, or anything else, is "invalid cursor". Any number is
  accepted, issued or not.
- HSCAN, SSCAN and ZSCAN read the cursor first, then the key (a missing key answers an empty
  iteration before any option is looked at; a key of another type is WRONGTYPE), then the
  options. COUNT must be an integer (else "value is not an integer or out of range") of at
  least 1 (else a syntax error); TYPE is SCAN's only; an option without its value, or an
  unknown one, is a syntax error. COUNT is a hint, counted before the filters: SCAN reads at
  most that many keys; HSCAN, SSCAN and ZSCAN read whole buckets until they have at least that
  many elements, as Redis does (see :mod:`zyst.scanning`).
- MATCH ``*`` is no filter at all (so it lists an empty key or field, which the matcher would
  not). The filters run in Redis's order: MATCH, then TYPE (which looks each key up as a read,
  counting a keyspace hit or miss and removing an expired key), then expiry: an expired key
  is removed there (and its ``DEL`` propagated), never returned. One quirk follows and is kept:
  ``TYPE none`` lists the expired keys met (the type lookup removed them, so the expiry test
  finds nothing left to expire).
- A compact collection, as Redis would keep it, is answered whole in one call with cursor 0,
  whatever the cursor given, in Redis's order: a hash of at most ``hash-max-listpack-entries``
  fields, none of its fields and values longer than ``hash-max-listpack-value``, in insertion
  order (a listpack's); a set of at most ``set-max-intset-entries`` canonical 64-bit integers,
  ascending (an intset's); a sorted set of at most ``zset-max-listpack-entries`` members, none
  longer than ``zset-max-listpack-value``, by score (a listpack's). Redis 7.0 keeps every other
  set in a hash table, whatever its size, so a small set of strings is iterated like a large
  one. Redis decides when a collection is written and never goes back; which encoding it would
  hold now, history included, is :func:`zyst.encodings.encoding`'s answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zyst import encodings, errors
from zyst.commands.args import parse_int
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.glob import Glob, compile_glob
from zyst.keyspace import TYPE_NAMES
from zyst.numbers import format_double
from zyst.scanning import KeyLog
from zyst.types.zset import ZSet

if TYPE_CHECKING:
    from zyst.client import Client

_ULONG_LIMIT: Final = 1 << 64
_DEFAULT_COUNT: Final = 10
_ZERO: Final = b"0"
_SPACES: Final = b" \t\n\v\f\r"  # C's isspace
_RO_ACCESS: Final = (KeySpec(flags=("RO", "access")),)
_COMPLEXITY: Final = (
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for "
    "the cursor to return back to 0. N is the number of elements inside the collection"
)


def parse_cursor(raw: bytes) -> int:
    """A SCAN cursor, read as Redis reads it with ``strtoul`` (see the module docstring)."""
    if raw == b"0":
        return 0  # the start of every iteration
    if raw[:1] and raw[0] in _SPACES:
        raise CommandError(errors.INVALID_CURSOR)
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    if not raw:
        return 0
    negative = raw[0] == 45  # "-"
    digits = raw[1:] if negative or raw[0] == 43 else raw  # "+"
    if not digits.isdigit():
        raise CommandError(errors.INVALID_CURSOR)
    value = int(digits)
    if value >= _ULONG_LIMIT:
        raise CommandError(errors.INVALID_CURSOR)
    return (_ULONG_LIMIT - value) % _ULONG_LIMIT if negative else value


class _Options:
    """SCAN's options: COUNT, MATCH (``None``: no filter) and, for SCAN only, TYPE."""

    __slots__ = ("count", "glob", "type_name")

    def __init__(self, argv: list[bytes], start: int, keyspace: bool) -> None:
        self.count = _DEFAULT_COUNT
        self.glob: Glob | None = None
        self.type_name: bytes | None = None
        index = start
        argc = len(argv)
        while index < argc:
            option = _lowered(argv[index])
            if index + 1 >= argc:
                raise CommandError(errors.SYNTAX)
            value = argv[index + 1]
            if option == b"count":
                self.count = parse_int(value)
                if self.count < 1:
                    raise CommandError(errors.SYNTAX)
            elif option == b"match":
                self.glob = None if value == b"*" else compile_glob(value)
            elif option == b"type" and keyspace:
                self.type_name = value.lower()
            else:
                raise CommandError(errors.SYNTAX)
            index += 2


def _lowered(word: bytes) -> bytes:
    """``word`` in lower case. COUNT and MATCH as clients spell them are compared first: a
    comparison costs a fraction of making the lowered copy."""
    if word == b"COUNT" or word == b"count":
        return b"count"
    if word == b"MATCH" or word == b"match":
        return b"match"
    return word.lower()


def _reply(cursor: int, elements: list[bytes]) -> Reply:
    return [b"%d" % cursor, elements]


# -- SCAN ---------------------------------------------------------------------------------------
@command(
    "scan",
    arity=-2,
    # Redis also marks it touches_arbitrary_keys, a flag its COMMAND INFO does not show.
    flags=("readonly",),
    group="generic",
    summary="Incrementally iterate the keys space",
    since="2.8.0",
    syntax="cursor [MATCH pattern] [COUNT count] [TYPE type]",
    complexity=_COMPLEXITY + ".",
    acl_categories=("keyspace", "read", "slow"),
    tips=("nondeterministic_output", "request_policy:special"),
)
def scan(client: Client, argv: list[bytes]) -> Reply:
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]

    The next keys of the selected database (see the module docstring for the filters).
    """
    cursor = parse_cursor(argv[1])
    options = _Options(argv, 2, True)
    db = client.db
    log = db.scan_log
    if log is None:
        log = db.scan_log = KeyLog(db.data)
    cursor, keys = log.read(db.data, cursor, options.count)
    glob = options.glob
    if glob is not None:
        keys = [key for key in keys if glob.matches(key)]
    wanted = options.type_name
    if wanted is not None:
        typed: list[bytes] = []
        for key in keys:
            value = db.peek_read(key)
            if (b"none" if value is None else TYPE_NAMES[type(value)]) == wanted:
                typed.append(key)
        keys = typed
    expires = db.expires
    if expires and keys:
        expire_if_due = db.keyspace.expire_if_due
        keys = [key for key in keys if key not in expires or not expire_if_due(db, key)]
    return _reply(cursor, keys)


# -- HSCAN, SSCAN, ZSCAN ------------------------------------------------------------------------
def _compact(client: Client, key: bytes, value: Any) -> bool:
    """Whether Redis holds the collection ``value`` at ``key`` in its compact encoding (a
    listpack or an intset), history included (:mod:`zyst.encodings`)."""
    return encodings.encoding(client.db, key, value, client.ctx.limits) in _COMPACT


_COMPACT: Final = (b"listpack", b"intset")


def _matching_pairs(pairs: list[bytes], glob: Glob | None) -> list[bytes]:
    """The (name, value) pairs of a flat list whose name ``glob`` matches."""
    if glob is None:
        return pairs
    kept: list[bytes] = []
    for index in range(0, len(pairs), 2):
        if glob.matches(pairs[index]):
            kept.append(pairs[index])
            kept.append(pairs[index + 1])
    return kept


@command(
    "hscan",
    arity=-3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="hash",
    summary="Incrementally iterate hash fields and associated values",
    since="2.8.0",
    syntax="key cursor [MATCH pattern] [COUNT count]",
    complexity=_COMPLEXITY + "..",
    acl_categories=("read", "hash", "slow"),
    tips=("nondeterministic_output",),
    key_specs=_RO_ACCESS,
)
def hscan(client: Client, argv: list[bytes]) -> Reply:
    """HSCAN key cursor [MATCH pattern] [COUNT count]

    The next fields of the hash at ``key``, each followed by its value.
    """
    cursor = parse_cursor(argv[2])
    hash_: dict[bytes, bytes] | None = client.db.get_typed(argv[1], dict)
    if hash_ is None:
        return _reply(0, [])
    options = _Options(argv, 3, False)
    pairs: list[bytes] = []
    if _compact(client, argv[1], hash_):
        cursor = 0
        for field, value in hash_.items():
            pairs.append(field)
            pairs.append(value)
    else:
        scans = client.ctx.keyspace.collection_scans
        cursor, fields = scans.read((client.db.index, argv[1]), hash_, cursor, options.count)
        for field in fields:
            pairs.append(field)
            pairs.append(hash_[field])
    return _reply(cursor, _matching_pairs(pairs, options.glob))


@command(
    "sscan",
    arity=-3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="set",
    summary="Incrementally iterate Set elements",
    since="2.8.0",
    syntax="key cursor [MATCH pattern] [COUNT count]",
    complexity=_COMPLEXITY + "..",
    acl_categories=("read", "set", "slow"),
    tips=("nondeterministic_output",),
    key_specs=_RO_ACCESS,
)
def sscan(client: Client, argv: list[bytes]) -> Reply:
    """SSCAN key cursor [MATCH pattern] [COUNT count]

    The next members of the set at ``key``.
    """
    cursor = parse_cursor(argv[2])
    members: set[bytes] | None = client.db.get_typed(argv[1], set)
    if members is None:
        return _reply(0, [])
    options = _Options(argv, 3, False)
    if _compact(client, argv[1], members):
        # An intset, ascending.
        cursor = 0
        found = sorted(members, key=int)
    else:
        scans = client.ctx.keyspace.collection_scans
        cursor, found = scans.read((client.db.index, argv[1]), members, cursor, options.count)
    glob = options.glob
    if glob is not None:
        found = [member for member in found if glob.matches(member)]
    return _reply(cursor, found)


@command(
    "zscan",
    arity=-3,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Incrementally iterate sorted sets elements and associated scores",
    since="2.8.0",
    syntax="key cursor [MATCH pattern] [COUNT count]",
    complexity=_COMPLEXITY + "..",
    acl_categories=("read", "sortedset", "slow"),
    tips=("nondeterministic_output",),
    key_specs=_RO_ACCESS,
)
def zscan(client: Client, argv: list[bytes]) -> Reply:
    """ZSCAN key cursor [MATCH pattern] [COUNT count]

    The next members of the sorted set at ``key``, each followed by its score (as text).
    """
    cursor = parse_cursor(argv[2])
    zset: ZSet | None = client.db.get_typed(argv[1], ZSet)
    if zset is None:
        return _reply(0, [])
    options = _Options(argv, 3, False)
    pairs: list[bytes] = []
    if _compact(client, argv[1], zset):
        cursor = 0
        for member, score in zset:
            pairs.append(member)
            pairs.append(format_double(score))
    else:
        scores = zset.scores
        scans = client.ctx.keyspace.collection_scans
        cursor, members = scans.read((client.db.index, argv[1]), scores, cursor, options.count)
        for member in members:
            pairs.append(member)
            pairs.append(format_double(scores[member]))
    return _reply(cursor, _matching_pairs(pairs, options.glob))
