"""SORT and SORT_RO (Redis's ``sort.c``): the elements of a list, set or sorted set, sorted by
their own value or by weights kept in other keys, replied or stored as a list.

``SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
[STORE destination]``; SORT_RO is the same without STORE.

Options are read left to right; a later BY, LIMIT or STORE wins, GETs add up, and anything
unknown (STORE in SORT_RO included) is a syntax error. Option words are compared as C strings,
as Redis does (``LIMIT\\0x`` is ``LIMIT``). Then the key is looked up (a read lookup, counted):
missing is an empty list, another type than list, set or sorted set is WRONGTYPE.

Patterns (BY and GET)
    ``#`` stands for the element itself. Any other pattern must hold a ``*``: its first ``*`` is
    replaced by the element, which names a key, and the pattern's value is that key's string;
    with ``->field`` somewhere after the ``*`` (and something after the arrow), it is that field
    of the hash at the key instead. A missing key or field, a key of another type, or a pattern
    without ``*``, give nothing: a null in the reply, an empty string in a stored list. Redis
    reads the pattern as a C string to find ``#``, ``*`` and ``->``: a NUL byte ends the part
    searched. Every key a pattern names is a read lookup (keyspace hits and misses).

Order
    By default numeric: each element's weight (the element, or what BY finds for it) is read as
    C's ``strtod`` reads it (:func:`zyst.numbers.parse_strtod`); a weight BY does not find is 0;
    equal weights are ordered by the elements' bytes. A weight that is no number (or NaN, or out
    of the double range) fails the whole command with "One or more scores can't be converted
    into double", once every weight was read. With ALPHA the weights are compared as bytes: as
    C strings (up to a NUL byte) when replying, which is what Redis's ``strcoll`` does in the C
    and C.UTF-8 locales, and whole when storing; a weight BY does not find comes first; equal
    weights keep the elements' order in the source (Redis sorts with glibc's qsort, a merge
    sort, and so does Python: stably. Only BY with LIMIT on more than six elements, where Redis
    uses its own partial quicksort, may order equal ALPHA weights otherwise). DESC reverses.

    ``BY`` a pattern without ``*`` (``BY nosort``) does not sort: a list comes in its order and
    a sorted set in rank order (DESC reverses both, LIMIT counts in that order), a set in its own
    order. Except that a set is sorted ALPHA when the result is stored, so that the stored list
    is the same wherever the command is replayed (and inside scripts, as Redis does). Once
    seen, ``nosort`` stays, whatever BY comes after.

LIMIT offset count
    As Redis clamps them: a negative offset is 0, a negative count is "all the rest", and the
    window is cut to the elements there are.

STORE destination
    The result (each GET's value per element, or the elements) becomes a list at destination,
    whatever it held, its TTL dropped; the reply is its length. A client blocked on destination
    (BLPOP) is served when the key is new, not when the list replaced a value that stood there
    (a string set while it waited), as in Redis. An empty result deletes
    destination instead, without looking at its deadline, as Redis's ``dbDelete``.

Propagation: a stored result goes to the AOF as what it did, so that a replay (which might
meet a set in another order) rebuilds the very same list: ``RPUSH destination element ...``,
wrapped in ``MULTI``/``DEL destination`` ... ``EXEC`` when something stood at destination (the
AOF loader applies a transaction whole or not at all), and a deletion as ``DEL destination``.
Redis propagates the SORT itself, relying on the ALPHA rule above. SORT without STORE changes
nothing and is not propagated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

from zyst import encodings, errors
from zyst.commands.args import c_string, option_word, parse_int
from zyst.commands.modes import SCRIPT
from zyst.commands.table import COMMANDS, KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.numbers import parse_strtod
from zyst.security.acl import READ
from zyst.types.zset import ZSet

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.keyspace import Database
    from zyst.security.acl import User

_SYNTAX: Final = (
    "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]"
)
_COMPLEXITY: Final = (
    "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "
    "number of returned elements. When the elements are not sorted, complexity is O(N)."
)
_SOURCE_SPEC: Final = KeySpec(flags=("RO", "access"))
_PATTERN_SPEC: Final = KeySpec(
    flags=("RO", "access"),
    notes="For the optional BY/GET keyword. It is marked 'unknown' because the key names derive "
    "from the content of the key we sort",
    unknown=True,
)
_STORE_SPEC: Final = KeySpec(
    flags=("OW", "update"),
    notes="For the optional STORE keyword. It is marked 'unknown' because the keyword can "
    "appear anywhere in the argument array",
    unknown=True,
)


class Pattern:
    """A BY or GET pattern, taken apart once: ``#``, a key (``prefix*suffix``), a hash field
    (``prefix*suffix->field``), or nothing (no ``*``)."""

    __slots__ = ("field", "itself", "prefix", "suffix")

    def __init__(self, pattern: bytes) -> None:
        head = c_string(pattern)
        self.itself = head == b"#"
        self.prefix: bytes | None = None
        self.suffix = b""
        self.field: bytes | None = None
        star = head.find(b"*")
        if self.itself or star < 0:
            return
        self.prefix = pattern[:star]
        arrow = head.find(b"->", star + 1)
        if arrow >= 0 and arrow + 2 < len(head):
            self.suffix = pattern[star + 1 : arrow]
            self.field = pattern[arrow + 2 :]
        else:
            self.suffix = pattern[star + 1 :]

    def lookup(self, db: Database, element: bytes) -> bytes | None:
        """The pattern's value for ``element``, ``None`` when there is none."""
        if self.itself:
            return element
        if self.prefix is None:
            return None
        value = db.lookup_read(self.prefix + element + self.suffix)
        if self.field is None:
            if type(value) is bytearray:  # a string modified in place: compared as bytes
                return bytes(value)
            return value if type(value) is bytes else None
        if type(value) is dict:
            found: bytes | None = value.get(self.field)
            return found
        return None


class _Options:
    """What the options of one SORT say."""

    __slots__ = ("alpha", "by", "count", "desc", "dontsort", "gets", "offset", "store")

    def __init__(self) -> None:
        self.desc = False
        self.alpha = False
        self.offset = 0
        self.count = -1
        self.by: Pattern | None = None
        self.dontsort = False
        self.store: bytes | None = None
        self.gets: list[Pattern] = []


def _parse(argv: list[bytes], readonly: bool, key_access: Callable[[], bool]) -> _Options:
    """The options of ``argv``; ``key_access()`` says whether the user may read any key, which
    a BY pattern (one with ``*``) or a GET pattern needs (asked only then)."""
    options = _Options()
    argc = len(argv)
    j = 2
    while j < argc:
        word = option_word(argv[j])
        left = argc - j - 1
        if word == b"asc":
            options.desc = False
        elif word == b"desc":
            options.desc = True
        elif word == b"alpha":
            options.alpha = True
        elif word == b"limit" and left >= 2:
            options.offset = parse_int(argv[j + 1])
            options.count = parse_int(argv[j + 2])
            j += 2
        elif word == b"store" and left >= 1 and not readonly:
            options.store = argv[j + 1]
            j += 1
        elif word == b"by" and left >= 1:
            options.by = Pattern(argv[j + 1])
            if b"*" not in c_string(argv[j + 1]):
                options.dontsort = True
            elif not key_access():
                raise CommandError(errors.SORT_BY_DENIED)
            j += 1
        elif word == b"get" and left >= 1:
            if not key_access():
                raise CommandError(errors.SORT_GET_DENIED)
            options.gets.append(Pattern(argv[j + 1]))
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return options


def _reads_any_key(client: Client, argv: list[bytes], readonly: bool) -> bool:
    """Whether the client's user may run this SORT and read every key (Redis asks before it
    lets BY and GET patterns name keys the ACL check of the command could not see)."""
    user: User | None = getattr(client, "user", None)
    if user is None or user.unrestricted():
        return True
    return user.may_reach_any_key(COMMANDS[b"sort_ro" if readonly else b"sort"], argv, READ)


def _window(offset: int, count: int, size: int) -> tuple[int, int]:
    """LIMIT's first and last positions (inclusive; last < first when the window is empty),
    clamped as Redis clamps them."""
    start = min(max(offset, 0), size)
    count = min(max(count, -1), size)
    end = size - 1 if count < 0 else start + count - 1
    # (Redis also moves an offset past the end back to size - 1, with end before it: empty
    # either way.)
    return start, min(end, size - 1)


def _sorted(
    db: Database, elements: list[bytes], options: _Options, alpha: bool, by: Pattern | None
) -> list[bytes]:
    """``elements`` in the order SORT gives them (see the module docstring)."""
    weights: list[bytes | None] = (
        [by.lookup(db, element) for element in elements] if by is not None else []
    )
    keyed: list[tuple[Any, bytes]]
    if alpha:
        whole = options.store is not None
        if by is None:
            keyed = [(element if whole else c_string(element), element) for element in elements]
        else:
            keyed = [
                ((0, b"") if weight is None else (1, weight if whole else c_string(weight)), e)
                for weight, e in zip(weights, elements, strict=True)
            ]
    else:
        keyed = []
        bad = False
        for index, element in enumerate(elements):
            raw = weights[index] if by is not None else element
            score = 0.0 if raw is None else parse_strtod(raw)
            if score is None:
                bad = True
                score = 0.0
            keyed.append(((score, element), element))
        if bad:
            raise CommandError(errors.SORT_NOT_DOUBLE)
    keyed.sort(key=itemgetter(0), reverse=options.desc)
    return [element for _, element in keyed]


def _sort(client: Client, argv: list[bytes], readonly: bool) -> Reply:
    options = _parse(argv, readonly, lambda: _reads_any_key(client, argv, readonly))
    db = client.db
    value: Any = db.lookup_read(argv[1])
    if value is None:
        value = deque()
    elif type(value) is not deque and type(value) is not set and type(value) is not ZSet:
        raise CommandError(errors.WRONGTYPE)
    if type(value) is ZSet:
        # Redis converts a compact sorted set to a skiplist for good before sorting it.
        encodings.converted(db, argv[1], value)
    dontsort, alpha, by = options.dontsort, options.alpha, options.by
    if dontsort and type(value) is set and (options.store is not None or client.mode & SCRIPT):
        # A stored result (or a script's, which its effects may depend on) must not depend on
        # the set's order: sort it after all.
        dontsort, alpha, by = False, True, None
    start, end = _window(options.offset, options.count, len(value))
    chosen: list[bytes]
    if dontsort and type(value) is not set:
        # A list or sorted set in its own order: only the window is read.
        chosen = [] if end < start else _window_of(value, start, end, options.desc)
    else:
        # Sorted (even for an empty window: every weight is read and checked all the same).
        elements = _members(value)
        if not dontsort:
            elements = _sorted(db, elements, options, alpha, by)
        chosen = elements[start : end + 1] if end >= start else []
    gets = options.gets
    store = options.store
    if store is None:
        if not gets:
            return chosen
        return [pattern.lookup(db, element) for element in chosen for pattern in gets]
    items = chosen
    if gets:
        items = []
        for element in chosen:
            for pattern in gets:
                found = pattern.lookup(db, element)
                items.append(b"" if found is None else found)
    return _store(client, store, items)


def _window_of(value: deque[bytes] | ZSet, start: int, end: int, desc: bool) -> list[bytes]:
    """Positions ``start..end`` of a list, or of a sorted set by rank; counted from the other
    end with ``desc``."""
    if isinstance(value, ZSet):
        size = len(value)
        if desc:
            ranked = value.items(size - 1 - end, size - start, reverse=True)
        else:
            ranked = value.items(start, end + 1)
        return [member for member, _ in ranked]
    source = reversed(value) if desc else value
    return list(islice(source, start, end + 1))


def _members(value: deque[bytes] | set[bytes] | ZSet) -> list[bytes]:
    if isinstance(value, ZSet):
        return list(value.scores)
    return list(value)


def _store(client: Client, destination: bytes, items: list[bytes]) -> int:
    """STORE: ``items`` become the list at ``destination``; none deletes it."""
    db = client.db
    ctx = client.ctx
    if not items:
        if db.delete_stored(destination):
            ctx.dirty += 1
            client.propagate_as = [[b"DEL", destination]]
        return 0
    # A write lookup first: a destination whose time has come is expired (and that propagated)
    # before the new list takes its place, as Redis's setKey does. Only a new key serves a
    # client waiting there; a list written over another value does not (Redis's dbOverwrite).
    existed = db.lookup(destination) is not None
    db.set_value(destination, deque(items))
    if not existed:
        db.note_ready(destination)
    ctx.dirty += len(items)
    rpush = [b"RPUSH", destination, *items]
    if existed:
        client.propagate_as = [[b"MULTI"], [b"DEL", destination], rpush, [b"EXEC"]]
    else:
        client.propagate_as = [rpush]
    return len(items)


def sort_keys(argv: list[bytes]) -> list[bytes]:
    """SORT's keys for COMMAND GETKEYS, found as Redis's ``sortGetKeys`` finds them: the key to
    sort, then the last STORE's destination. The words after LIMIT (two), BY and GET (one) are
    skipped; any other word is looked at, a STORE's destination included."""
    destination: bytes | None = None
    argc = len(argv)
    i = 2
    while i < argc:
        word = option_word(argv[i])
        if word == b"limit":
            i += 2
        elif word == b"by" or word == b"get":
            i += 1
        elif word == b"store" and i + 1 < argc:
            destination = argv[i + 1]
        i += 1
    return [argv[1]] if destination is None else [argv[1], destination]


@command(
    "sort",
    arity=-2,
    flags=("write", "denyoom", "movablekeys"),
    keys=(1, 1, 1),
    group="generic",
    summary="Sort the elements in a list, set or sorted set",
    since="1.0.0",
    syntax=_SYNTAX + " [STORE destination]",
    complexity=_COMPLEXITY,
    acl_categories=("set", "sortedset", "list", "dangerous"),
    key_specs=(_SOURCE_SPEC, _PATTERN_SPEC, _STORE_SPEC),
    getkeys=sort_keys,
)
def sort(client: Client, argv: list[bytes]) -> Reply:
    """SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC]
    [ALPHA] [STORE destination]

    The sorted elements (or GET values; a null for a GET that finds nothing), or with STORE
    the length of the list stored. See the module docstring.
    """
    return _sort(client, argv, readonly=False)


@command(
    "sort_ro",
    arity=-2,
    flags=("readonly", "movablekeys"),
    keys=(1, 1, 1),
    group="generic",
    summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
    since="7.0.0",
    syntax=_SYNTAX,
    complexity=_COMPLEXITY,
    acl_categories=("set", "sortedset", "list", "dangerous"),
    key_specs=(_SOURCE_SPEC, _PATTERN_SPEC),
)
def sort_ro(client: Client, argv: list[bytes]) -> Reply:
    """SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
    [ASC | DESC] [ALPHA]

    SORT without STORE, for read-only contexts.
    """
    return _sort(client, argv, readonly=True)
