"""DUMP, RESTORE, RESTORE-ASKING and MIGRATE (Redis's ``cluster.c``): one key's value as a
payload, a key made from one, and keys moved to another server.

A *payload* is the value as an RDB object (its type byte and body), Redis's RDB version (2
bytes, little-endian) and a CRC-64 of all that (8 bytes, little-endian): the serialization is
:mod:`zyst.persistence.rdbvalues`'s; DUMP writes the encoding Redis holds the value in (see
:mod:`zyst.encodings`: a hash Redis keeps as a hashtable is dumped as one, whatever its size).

RESTORE, as Redis 7.0:

- options first (a syntax error, IDLETIME and FREQ exclude each other, their values checked),
  then BUSYKEY unless REPLACE, then the TTL, then the payload's version and checksum, then its
  contents ("Bad data format");
- a TTL of 0 is none; ABSTTL makes it a Unix time in ms; one already past (at the deadline
  millisecond included) creates nothing, and when REPLACE removed a key that is a ``DEL``:
  propagated as such, published as ``del``. While the AOF loads, a past deadline is stored as
  it is (the file says what happened next);
- a relative TTL is propagated as the absolute one, with ``ABSTTL`` appended; IDLETIME and
  FREQ go out as given (the replay sets the idle time anew);
- the key is added (a new key: ``new`` and then ``restore`` are published, WATCH and tracking
  told, clients blocked on a list there served); IDLETIME sets its LRU clock, FREQ its LFU
  counter, each only under the kind of policy it belongs to (Redis's ``objectSetLRUOrLFU``,
  24-bit clock arithmetic included);
- a hash or sorted set loaded from its compact encoding stays compact unless it has too many
  entries, as Redis's loader decides (:func:`zyst.encodings.loaded`).

MIGRATE blocks the server while it talks to the target (:mod:`zyst.migrating` has the I/O and
the connection cache), as Redis does: AUTH or AUTH2 if given, SELECT when the cached connection
last selected another database, one RESTORE per key (with its TTL left, REPLACE if given; never
RESTORE-ASKING, which Redis sends only in cluster mode), then one reply line each. A key the
target accepted is deleted here unless COPY, and the command is propagated as ``DEL`` of those
keys. An error line from the target is the reply (``ERR Target instance replied with error:
...``), and a failed AUTH or SELECT makes every key fail; on a connection failure before any
reply (not a timeout) MIGRATE retries once on a new connection, then answers ``IOERR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zyst import access, encodings, errors
from zyst.commands.args import LLONG_MAX, option_word, parse_int
from zyst.commands.introspection import atoi
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.migrating import CHUNK, IOFailure, cache_of
from zyst.persistence.rdb import RdbError
from zyst.persistence.rdbvalues import PayloadError, dump_payload, restore_payload
from zyst.protocol.resp import OK, Status, encode_command
from zyst.types.zset import ZSet

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.keyspace import Database

_NOKEY: Final = Status(b"NOKEY")

# RDB types of a hash or sorted set in its compact encoding (ziplist and listpack forms).
_COMPACT_TYPES: Final = frozenset({12, 13, 16, 17})
_BIG_ENCODINGS: Final = frozenset({b"hashtable", b"skiplist"})

# Redis's LRU clock: seconds, 24 bits wide (LRU_CLOCK_MAX).
_LRU_CLOCK_MAX: Final = (1 << 24) - 1


def _wrap64(value: int) -> int:
    """``value`` as a C ``long long`` computed with wrap-around (what x86-64 gives)."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


# -- DUMP -------------------------------------------------------------------------------------
def payload_of(client: Client, db: Database, key: bytes, value: object) -> bytes:
    """The DUMP payload of ``value``, the value of ``key`` in ``db``, in the encoding Redis
    holds it in (its history may differ from what its contents and thresholds say)."""
    ctx = client.ctx
    limits = ctx.limits
    if type(value) is bytearray:
        value = bytes(value)
    elif type(value) in (dict, set, ZSet):
        big = encodings.encoding(db, key, value, limits) in _BIG_ENCODINGS
        if big == encodings.fits(value, limits):
            limits = _forcing(client, type(value), big)
    return dump_payload(value, limits, ctx.config.rdbcompression)


def _forcing(client: Client, kind: type, big: bool) -> encodings.Limits:
    """Thresholds under which a collection of ``kind`` takes its big encoding (``big``) or its
    compact one whatever its contents."""
    limits = encodings.Limits(client.ctx.config)
    limits.copy_from(client.ctx.limits)
    entries = 0 if big else encodings.INTSET_CAP
    length = 0 if big else LLONG_MAX
    if kind is dict:
        limits.hash_max_listpack_entries = entries
        limits.hash_max_listpack_value = length
    elif kind is set:
        limits.set_max_intset_entries = entries
    else:
        limits.zset_max_listpack_entries = entries
        limits.zset_max_listpack_value = length
    return limits


@command(
    "dump",
    arity=2,
    flags=("readonly",),
    keys=(1, 1, 1),
    group="generic",
    summary="Return a serialized version of the value stored at the specified key.",
    since="2.6.0",
    syntax="key",
    complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is the "
    "number of Redis objects composing the value and M their average size. For small string "
    "values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
    acl_categories=("keyspace", "read", "slow"),
    tips=("nondeterministic_output",),
    key_specs=(KeySpec(flags=("RO", "access")),),
)
def dump(client: Client, argv: list[bytes]) -> Reply:
    """DUMP key

    The payload of the value at ``key`` (see the module docstring), null when it is missing.
    """
    db = client.db
    value = db.lookup_read(argv[1])
    if value is None:
        return None
    return payload_of(client, db, argv[1], value)


# -- RESTORE ----------------------------------------------------------------------------------
_RESTORE_SYNTAX: Final = (
    "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]"
)
_RESTORE_COMPLEXITY: Final = (
    "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
    "where N is the number of Redis objects composing the value and M their average size. For "
    "small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
    "O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting "
    "values into sorted sets is O(log(N))."
)


def _restore(client: Client, argv: list[bytes]) -> Reply:
    """RESTORE and RESTORE-ASKING (see the module docstring)."""
    argc = len(argv)
    replace = absttl = False
    lfu_freq = lru_idle = -1
    lru_clock = 0
    keyspace = client.ctx.keyspace
    j = 4
    while j < argc:
        option = option_word(argv[j])
        more = argc - j - 1
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and more >= 1 and lfu_freq == -1:
            lru_idle = parse_int(argv[j + 1])
            if lru_idle < 0:
                raise CommandError(errors.RESTORE_BAD_IDLETIME)
            lru_clock = keyspace.lru_clock & _LRU_CLOCK_MAX
            j += 1
        elif option == b"freq" and more >= 1 and lru_idle == -1:
            lfu_freq = parse_int(argv[j + 1])
            if lfu_freq < 0 or lfu_freq > 255:
                raise CommandError(errors.RESTORE_BAD_FREQ)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    db = client.db
    key = argv[1]
    if not replace and db.lookup(key) is not None:
        raise CommandError(errors.BUSYKEY)
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise CommandError(errors.RESTORE_BAD_TTL)
    data = argv[3]
    try:
        value = restore_payload(data)
    except PayloadError as exc:
        raise CommandError(errors.DUMP_PAYLOAD_INVALID) from exc
    except RdbError as exc:
        raise CommandError(errors.RESTORE_BAD_DATA) from exc
    ctx = client.ctx
    # (REPLACE removes what is stored, a key past its deadline included, as Redis's dbDelete.)
    deleted = replace and db.delete_stored(key)
    now = keyspace.clock()
    if ttl and not absttl:
        ttl = _wrap64(ttl + now)
    if ttl and ttl <= now and not ctx.loading:
        if deleted:
            client.propagate_as = [[b"DEL", key]]
            ctx.dirty += 1
        return OK
    if key in db.data:  # a key past its deadline that a CLIENT PAUSE keeps: it goes now
        db.delete_stored(key)
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            client.propagate_as = [[argv[0], key, b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    if keyspace.lfu:
        if lfu_freq >= 0:
            db.set_access(key, (access.lfu_minutes(keyspace.lru_clock) << 8) | lfu_freq)
    elif lru_idle >= 0:
        db.set_access(key, keyspace.lru_clock - _lru_idle_seconds(lru_idle, lru_clock))
    encodings.loaded(db, key, value, data[0] in _COMPACT_TYPES, ctx.limits)
    ctx.dirty += 1
    return OK


def _lru_idle_seconds(idle: int, clock: int) -> int:
    """The idle time (s) Redis's OBJECT IDLETIME gives right after RESTORE ... IDLETIME
    ``idle`` at the 24-bit LRU ``clock``: Redis stores ``clock - idle`` in a 24-bit field
    (after scaling ``idle`` by 1000/1000 in 64-bit arithmetic, and adding LRU_CLOCK_MAX once
    if that went negative), then reads the time elapsed on the wrapping clock."""
    scaled = _wrap64(idle * 1000)
    scaled = -(-scaled // 1000) if scaled < 0 else scaled // 1000  # C's division
    stamp = clock - scaled
    if stamp < 0:
        stamp += _LRU_CLOCK_MAX
    stamp &= _LRU_CLOCK_MAX
    return clock - stamp if clock >= stamp else clock + (_LRU_CLOCK_MAX - stamp)


@command(
    "restore",
    arity=-4,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    group="generic",
    summary="Create a key using the provided serialized value, previously obtained using DUMP.",
    since="2.6.0",
    syntax=_RESTORE_SYNTAX,
    complexity=_RESTORE_COMPLEXITY,
    acl_categories=("keyspace", "write", "slow", "dangerous"),
    key_specs=(KeySpec(flags=("OW", "update")),),
)
def restore(client: Client, argv: list[bytes]) -> Reply:
    """RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]

    Makes ``key`` from a DUMP payload (see the module docstring); OK.
    """
    return _restore(client, argv)


@command(
    "restore-asking",
    arity=-4,
    flags=("write", "denyoom", "asking"),
    keys=(1, 1, 1),
    group="server",
    summary="An internal command for migrating keys in a cluster",
    since="3.0.0",
    syntax=_RESTORE_SYNTAX,
    complexity=_RESTORE_COMPLEXITY,
    acl_categories=("keyspace", "write", "slow", "dangerous"),
    key_specs=(KeySpec(flags=("OW", "update")),),
)
def restore_asking(client: Client, argv: list[bytes]) -> Reply:
    """RESTORE-ASKING key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
    [FREQ frequency]

    RESTORE, as a cluster's MIGRATE sends it (there is no cluster mode here: the same).
    """
    return _restore(client, argv)


# -- MIGRATE ----------------------------------------------------------------------------------
def migrate_keys(argv: list[bytes]) -> list[bytes]:
    """MIGRATE's keys, found as Redis's ``migrateGetKeys`` finds them: the key argument, or
    with an empty one the words after the first ``KEYS`` (none, an error, when the key
    argument is not empty). The words after AUTH (one) and AUTH2 (two) are skipped."""
    first, count = 3, 1
    argc = len(argv)
    i = 6
    while i < argc:
        word = option_word(argv[i])
        if word == b"keys":
            if argv[3]:
                count = 0
            else:
                first = i + 1
                count = argc - first
            break
        if word == b"auth":
            i += 1
        elif word == b"auth2":
            i += 2
        i += 1
    if count <= 0:
        raise CommandError(errors.GETKEYS_INVALID_ARGUMENTS)
    return argv[first : first + count]


class _Options:
    """MIGRATE's options, parsed as Redis parses them (in order, each checked as it comes)."""

    __slots__ = ("copy", "keys", "password", "replace", "username")

    def __init__(self, argv: list[bytes]) -> None:
        self.copy = self.replace = False
        self.username: bytes | None = None
        self.password: bytes | None = None
        self.keys = argv[3:4]
        argc = len(argv)
        j = 6
        while j < argc:
            option = option_word(argv[j])
            more = argc - 1 - j
            if option == b"copy":
                self.copy = True
            elif option == b"replace":
                self.replace = True
            elif option == b"auth":
                if not more:
                    raise CommandError(errors.SYNTAX)
                j += 1
                self.password = argv[j]
            elif option == b"auth2":
                if more < 2:
                    raise CommandError(errors.SYNTAX)
                self.username = argv[j + 1]
                self.password = argv[j + 2]
                j += 2
            elif option == b"keys":
                if argv[3]:
                    raise CommandError(errors.MIGRATE_KEYS_NEED_EMPTY_KEY)
                self.keys = argv[j + 1 :]
                break
            else:
                raise CommandError(errors.SYNTAX)
            j += 1


@command(
    "migrate",
    arity=-6,
    flags=("write", "movablekeys"),
    keys=(3, 3, 1),
    group="generic",
    summary="Atomically transfer a key from a Redis instance to another one.",
    since="2.6.0",
    syntax='host port <key | ""> destination-db timeout [COPY] [REPLACE] '
    "[AUTH password | AUTH2 username password] [KEYS key [key ...]]",
    complexity="This command actually executes a DUMP+DEL in the source instance, and a RESTORE "
    "in the target instance. See the pages of these commands for time complexity. Also an O(N) "
    "data transfer between the two instances is performed.",
    acl_categories=("keyspace", "write", "slow", "dangerous"),
    tips=("nondeterministic_output",),
    key_specs=(
        KeySpec(flags=("RW", "access", "delete"), index=3, lastkey=0),
        KeySpec(
            flags=("RW", "access", "delete", "incomplete"),
            keyword="KEYS",
            startfrom=-2,
            lastkey=-1,
        ),
    ),
    getkeys=migrate_keys,
)
def migrate(client: Client, argv: list[bytes]) -> Reply:
    """MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
    [AUTH password | AUTH2 username password] [KEYS key [key ...]]

    OK once the target has every key (deleted here unless COPY); NOKEY when none of the keys
    exists. ``timeout`` (ms; 1000 when not positive) bounds the connection, and each write and
    each wait for a reply line. See the module docstring.
    """
    options = _Options(argv)
    timeout = parse_int(argv[5])
    dbid = parse_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    db = client.db
    found: list[tuple[bytes, object]] = []
    for key in options.keys:
        value = db.lookup_read(key)
        if value is not None:
            found.append((key, value))
    if not found:
        return _NOKEY
    return _Migration(client, argv, options, dbid, timeout, found).run()


class _Migration:
    """One MIGRATE's exchange with its target: Redis's ``migrateCommand`` after the keys were
    found, its retry included."""

    def __init__(
        self,
        client: Client,
        argv: list[bytes],
        options: _Options,
        dbid: int,
        timeout: int,
        found: list[tuple[bytes, object]],
    ) -> None:
        self.client = client
        self.host = argv[1]
        self.port = argv[2]
        self.options = options
        self.dbid = dbid
        self.timeout = timeout
        self.found = found
        self.cache = cache_of(client.ctx)
        # The keys the target took and that were deleted here (propagated as DEL).
        self.moved: list[bytes] = []

    def run(self) -> Reply:
        may_retry = True
        while True:
            try:
                return self._attempt(may_retry)
            except IOFailure as failure:
                if not self.moved:  # (once keys moved, the connection is closed already)
                    self.cache.close(self.host, self.port)
                if may_retry and not failure.timed_out and not isinstance(failure, _NoRetry):
                    may_retry = False
                    continue
                writing = isinstance(failure, _WriteFailure)
                raise CommandError(
                    errors.MIGRATE_WRITE_FAILED if writing else errors.MIGRATE_READ_FAILED
                ) from None

    def _attempt(self, may_retry: bool) -> Reply:
        """One try on the (cached or new) connection; raises :class:`IOFailure` for the retry
        logic of :meth:`run`."""
        options = self.options
        timeout = self.timeout
        link = self.cache.get(self.host, self.port, atoi(self.port), timeout)
        if link is None:
            raise CommandError(errors.MIGRATE_CONNECT_FAILED)
        commands: list[list[bytes]] = []
        if options.password is not None:
            auth = [b"AUTH", options.password]
            if options.username is not None:
                auth.insert(1, options.username)
            commands.append(auth)
        select = link.last_dbid != self.dbid
        if select:
            commands.append([b"SELECT", b"%d" % self.dbid])
        client = self.client
        db = client.db
        now = client.ctx.keyspace.clock()
        sent: list[bytes] = []
        for key, value in self.found:
            ttl = 0
            when = db.get_expire(key)
            if when is not None:
                ttl = when - now
                if ttl < 0:
                    continue  # expired since it was found: not sent, not deleted
                ttl = max(ttl, 1)
            restore = [b"RESTORE", key, b"%d" % ttl, payload_of(client, db, key, value)]
            if options.replace:
                restore.append(b"REPLACE")
            commands.append(restore)
            sent.append(key)
        kept = set(sent)
        self.found = [(key, value) for key, value in self.found if key in kept]
        data = b"".join(encode_command(command) for command in commands)
        for start in range(0, len(data), CHUNK):
            try:
                link.write(memoryview(data)[start : start + CHUNK], timeout)
            except IOFailure as failure:
                raise _WriteFailure(failure.timed_out) from None
        auth_reply = link.read_line(timeout) if options.password is not None else b""
        select_reply = link.read_line(timeout) if select else b""
        failed_before = auth_reply.startswith(b"-") or select_reply.startswith(b"-")
        error: bytes | None = None
        socket_failure: IOFailure | None = None
        answered = 0
        for key in sent:
            try:
                line = link.read_line(timeout)
            except IOFailure as failure:
                socket_failure = failure
                break
            answered += 1
            if failed_before or line.startswith(b"-"):
                if error is None:
                    link.last_dbid = -1
                    if auth_reply.startswith(b"-"):
                        error = auth_reply
                    elif select_reply.startswith(b"-"):
                        error = select_reply
                    else:
                        error = line
            elif not options.copy:
                self._moved(key)
        if (
            error is None
            and socket_failure is not None
            and answered == 0
            and may_retry
            and not socket_failure.timed_out
        ):
            raise socket_failure  # nothing was done: run() retries on a new connection
        if socket_failure is not None:
            self.cache.close(self.host, self.port)
        if self.moved:
            client.propagate_as = [[b"DEL", *self.moved]]
        if error is not None:
            raise CommandError(errors.migrate_target_error(error[1:]))
        if socket_failure is not None:
            raise _NoRetry(socket_failure.timed_out)
        link.last_dbid = self.dbid
        return OK

    def _moved(self, key: bytes) -> None:
        """The target took ``key``: delete it here (Redis's dbDelete: stored, whatever its
        deadline). The dispatcher signals the keys of the DEL it is propagated as."""
        self.client.db.delete_stored(key)
        self.client.ctx.dirty += 1
        self.moved.append(key)


class _WriteFailure(IOFailure):
    """Sending the commands to the target failed (``IOERR ... writing``)."""


class _NoRetry(IOFailure):
    """Reading the replies failed after some were read: no retry."""
