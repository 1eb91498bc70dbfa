"""HyperLogLog commands (Redis's ``hyperloglog.c``): PFADD, PFCOUNT, PFMERGE, PFDEBUG and
PFSELFTEST, on string values in Redis's HLL representation (:mod:`zyst.types.hll`).

An HLL is an ordinary string: GET, SET, DUMP/RESTORE, the AOF and RDB carry its bytes as they
are, so an HLL made by Redis works here and back. A string that does not look like one
(:func:`zyst.types.hll.is_valid`) gets ``WRONGTYPE Key is not a valid HyperLogLog string
value.``; one whose registers turn out corrupt gets ``INVALIDOBJ``. Commands that change an HLL
first make the stored value a ``bytearray`` (:meth:`zyst.keyspace.Database.unshare`, as Redis
unshares it) and change it in place.

Propagation, as Redis decides it: PFADD when it created the key or raised a register (``dirty``
grows by one per element that did, plus one for the creation), PFMERGE always, PFDEBUG GETREG
and TODENSE when they turned a sparse HLL dense. PFCOUNT of one key is a read that may refresh
the cached cardinality in the value: then it counts as a change, is propagated as received and
signals the key (WATCH, tracking) itself, the dispatcher propagating only writes. Events:
``pfadd`` for PFADD and PFMERGE (``$`` class), none for the others.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Final

from zyst import errors
from zyst.commands.table import KeySpec, Reply, command
from zyst.errors import CommandError
from zyst.protocol.resp import OK, Status
from zyst.types import hll

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.keyspace import Database

_DENSE: Final = Status(b"dense")
_SPARSE: Final = Status(b"sparse")


def _checked(value: bytes | bytearray) -> None:
    if not hll.is_valid(value):
        raise CommandError(errors.HLL_WRONGTYPE)


@command(
    "pfadd",
    arity=-2,
    flags=("write", "denyoom", "fast"),
    keys=(1, 1, 1),
    group="hyperloglog",
    summary="Adds the specified elements to the specified HyperLogLog.",
    since="2.8.9",
    syntax="key [element [element ...]]",
    complexity="O(1) to add every element.",
    acl_categories=("write", "hyperloglog", "fast"),
    key_specs=(KeySpec(flags=("RW", "insert")),),
)
def pfadd(client: Client, argv: list[bytes]) -> Reply:
    """PFADD key [element [element ...]]

    1 if the HLL was created or some register grew, else 0; a missing key is created (even
    with no element)."""
    db = client.db
    key = argv[1]
    value = db.get_buffer_for_write(key)
    created = 0
    if value is None:
        buf = bytearray(hll.EMPTY)
        db.add(key, buf)
        created = 1
    else:
        _checked(value)
        buf = db.unshare(key, value)
    updated = created
    if len(argv) > 2:
        changed = hll.add(buf, argv, 2, client.ctx.config.hll_sparse_max_bytes)
        if changed < 0:
            raise CommandError(errors.HLL_INVALID)
        updated += changed
    if not updated:
        return 0
    hll.invalidate(buf)
    client.ctx.dirty += updated
    return 1


@command(
    "pfcount",
    arity=-2,
    flags=("readonly",),
    keys=(1, -1, 1),
    group="hyperloglog",
    summary="Return the approximated cardinality of the set(s) observed by the HyperLogLog at "
    "key(s).",
    since="2.8.9",
    syntax="key [key ...]",
    complexity="O(1) with a very small average constant time when called with a single key. "
    "O(N) with N being the number of keys, and much bigger constant times, when called with "
    "multiple keys.",
    acl_categories=("read", "hyperloglog", "slow"),
    key_specs=(
        KeySpec(
            flags=("RW", "access"),
            notes="RW because it may change the internal representation of the key, and "
            "propagate to replicas",
        ),
    ),
)
def pfcount(client: Client, argv: list[bytes]) -> Reply:
    """PFCOUNT key [key ...]

    The estimated cardinality of the HLL, or of the union of several (computed each time,
    nothing cached). A missing key counts as an empty HLL. One key's count is cached in its
    header; refreshing the cache is a change (propagated as the PFCOUNT itself)."""
    db = client.db
    if len(argv) > 2:
        return hll.to_signed(_union_count(db, argv[1:]))
    key = argv[1]
    value = db.get_buffer(key)
    if value is None:
        return 0
    _checked(value)
    buf = db.unshare(key, value)
    card = hll.cached(buf)
    if card >= 0:
        return card
    card = hll.count(buf)
    if card < 0:
        raise CommandError(errors.HLL_INVALID)
    hll.set_cached(buf, card)
    ctx = client.ctx
    ctx.dirty += 1
    signal = ctx.signal
    if signal.listening:
        signal.written(b"pfcount", argv, [(db.index, key)], None)
    if ctx.propagating:
        ctx.propagate(db.index, argv)
    return hll.to_signed(card)


def _union_count(db: Database, keys: list[bytes]) -> int:
    raw = bytearray(hll.REGISTERS)
    for key in keys:
        value = db.get_buffer(key)
        if value is None:
            continue
        _checked(value)
        if not hll.merge_into(raw, value):
            raise CommandError(errors.HLL_INVALID)
    return hll.estimate(hll.histogram_raw(raw)) & ((1 << 64) - 1)


@command(
    "pfmerge",
    arity=-2,
    flags=("write", "denyoom"),
    keys=(1, -1, 1),
    group="hyperloglog",
    summary="Merge N different HyperLogLogs into a single one.",
    since="2.8.9",
    syntax="destkey [sourcekey [sourcekey ...]]",
    complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
    acl_categories=("write", "hyperloglog", "slow"),
    key_specs=(
        KeySpec(flags=("RW", "access", "insert"), lastkey=0),
        KeySpec(flags=("RO", "access"), index=2, lastkey=-1),
    ),
)
def pfmerge(client: Client, argv: list[bytes]) -> Reply:
    """PFMERGE destkey [sourcekey [sourcekey ...]]

    Stores at ``destkey`` the union of the HLLs, itself included. The destination turns dense
    if any input is dense; otherwise it stays sparse until it outgrows ``hll-sparse-max-bytes``.
    """
    db = client.db
    raw = bytearray(hll.REGISTERS)
    use_dense = False
    for key in argv[1:]:
        value = db.get_buffer(key)
        if value is None:
            continue
        _checked(value)
        if value[4] == hll.DENSE:
            use_dense = True
        if not hll.merge_into(raw, value):
            raise CommandError(errors.HLL_INVALID)
    dest = argv[1]
    found = db.get_buffer_for_write(dest)
    if found is None:
        buf = bytearray(hll.EMPTY)
        db.add(dest, buf)
    else:
        buf = db.unshare(dest, found)
    if use_dense and not hll.to_dense(buf):
        raise CommandError(errors.HLL_INVALID)
    hll.store_max(buf, raw, client.ctx.config.hll_sparse_max_bytes)
    client.ctx.dirty += 1
    return OK


@command(
    "pfdebug",
    arity=3,
    flags=("write", "denyoom", "admin"),
    keys=(2, 2, 1),
    group="hyperloglog",
    summary="Internal commands for debugging HyperLogLog values",
    since="2.8.9",
    syntax="subcommand key",
    complexity="N/A",
    acl_categories=("write", "hyperloglog", "admin", "slow", "dangerous"),
    key_specs=(KeySpec(flags=("RW", "access")),),
)
def pfdebug(client: Client, argv: list[bytes]) -> Reply:
    """PFDEBUG GETREG | DECODE | ENCODING | TODENSE key

    GETREG: the 16384 registers (turning a sparse HLL dense); DECODE: a sparse HLL's opcodes
    as text; ENCODING: ``dense`` or ``sparse``; TODENSE: 1 if it turned a sparse HLL dense,
    else 0. The key is looked up and checked before the subcommand is."""
    db = client.db
    key = argv[2]
    value = db.get_buffer_for_write(key)
    if value is None:
        raise CommandError(errors.HLL_NO_KEY)
    _checked(value)
    buf = db.unshare(key, value)
    sub = argv[1].lower()
    if sub == b"getreg":
        if buf[4] == hll.SPARSE:
            if not hll.to_dense(buf):
                raise CommandError(errors.HLL_INVALID)
            _changed_quietly(client)
        return list(hll.unpack(buf))
    if sub == b"decode":
        if buf[4] != hll.SPARSE:
            raise CommandError(errors.HLL_NOT_SPARSE)
        return hll.decode(buf)
    if sub == b"encoding":
        return _DENSE if buf[4] == hll.DENSE else _SPARSE
    if sub == b"todense":
        if buf[4] != hll.SPARSE:
            return 0
        if not hll.to_dense(buf):
            raise CommandError(errors.HLL_INVALID)
        _changed_quietly(client)
        return 1
    raise CommandError(errors.pfdebug_unknown(argv[1]))


def _changed_quietly(client: Client) -> None:
    """PFDEBUG's change of encoding: propagated (so replicas and the AOF turn dense too), but,
    as in Redis, no key-modified signal (WATCH, tracking): the HLL's content is the same."""
    client.ctx.dirty += 1
    client.touched = []


@command(
    "pfselftest",
    arity=1,
    flags=("admin",),
    group="hyperloglog",
    summary="An internal command for testing HyperLogLog values",
    since="2.8.9",
    complexity="N/A",
    acl_categories=("hyperloglog", "admin", "slow", "dangerous"),
)
def pfselftest(client: Client, argv: list[bytes]) -> Reply:
    """PFSELFTEST

    OK, or ``ERR TESTFAILED ...``: Redis's self test of the HLL code. Registers written and
    read back (20 rounds of random values, Redis does 1000), then 10,000,000 distinct elements
    added to a dense and a sparse HLL at once, checking at each power of ten that the sparse
    one stays sparse while small, that both estimate the same, and that the error stays within
    six standard errors."""
    failure = _register_test(random.Random())
    if failure is None:
        failure = _estimate_test(random.getrandbits(64), client.ctx.config.hll_sparse_max_bytes)
    if failure is not None:
        raise CommandError(errors.pfselftest_failed(failure))
    return OK


def _register_test(rng: random.Random) -> str | None:
    dense = bytearray(hll.DENSE_SIZE)
    for _ in range(20):
        raw = bytes(byte & 63 for byte in rng.randbytes(hll.REGISTERS))
        for i in range(hll.REGISTERS):
            hll.dense_put(dense, i, raw[i])
        for i in range(hll.REGISTERS):
            got = hll.dense_get(dense, i)
            if got != raw[i]:
                return f"Register {i} should be {raw[i]} but is {got}"
        if hll.unpack(dense) != raw:
            return "unpacked registers differ"
    return None


def _estimate_test(seed: int, max_bytes: int) -> str | None:
    dense = bytearray(hll.DENSE_SIZE)
    dense[:4] = b"HYLL"
    sparse = bytearray(hll.EMPTY)
    relerr = 1.04 / 128.0  # 1.04 / sqrt(16384)
    done = 0
    checkpoint = 1
    while checkpoint <= 10_000_000:
        # Elements done+1 .. checkpoint, in batches (a list of them is what the adders take).
        while done < checkpoint:
            upto = min(checkpoint, done + 65536)
            batch = [hll.word(j ^ seed) for j in range(done + 1, upto + 1)]
            hll.dense_add(dense, batch, 0)
            if hll.add(sparse, batch, 0, max_bytes) < 0:
                return "sparse HLL corrupted"
            done = upto
        if checkpoint < max_bytes // 2 and sparse[4] != hll.SPARSE:
            return "sparse encoding not used"
        card = hll.count(dense)
        if card != hll.count(sparse):
            return "dense/sparse disagree"
        maxerr = 1 if checkpoint == 10 else math.ceil(relerr * 6 * checkpoint)
        if abs(checkpoint - card) > maxerr:
            return f"Too big error. card:{checkpoint} abserr:{abs(checkpoint - card)}"
        checkpoint *= 10
    return None
