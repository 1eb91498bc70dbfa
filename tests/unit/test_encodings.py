"""zyst.encodings in-process: the side table of marks stays small (stale marks go when their
key is deleted, expired, flushed, or by the cron's pruning) and the computed encodings."""

from __future__ import annotations

from zyst import encodings
from zyst.config import Config
from zyst.keyspace import Keyspace
from zyst.types.zset import ZSet


def test_string_encoding() -> None:
    assert encodings.string_encoding(b"-9223372036854775808") == b"int"
    assert encodings.string_encoding(b"9223372036854775808") == b"embstr"
    assert encodings.string_encoding(b"007") == b"embstr"
    assert encodings.string_encoding(b"x" * 44) == b"embstr"
    assert encodings.string_encoding(b"x" * 45) == b"raw"


def test_fits() -> None:
    config = Config()
    config.set_max_intset_entries = 2
    assert encodings.fits({b"1", b"-2"}, encodings.Limits(config))
    assert not encodings.fits({b"1", b"-2", b"3"}, encodings.Limits(config))
    assert not encodings.fits({b"01"}, encodings.Limits(config))
    config.hash_max_listpack_value = 2
    assert encodings.fits({b"ab": b"cd"}, encodings.Limits(config))
    assert not encodings.fits({b"ab": b"cde"}, encodings.Limits(config))
    zset = ZSet()
    zset.add(b"abc", 1.0)
    config.zset_max_listpack_value = 2
    assert not encodings.fits(zset, encodings.Limits(config))


def _marked(keyspace: Keyspace, key: bytes) -> bytes:
    db = keyspace.dbs[0]
    value = encodings.float_string(db, key, b"12")
    db.set_value(key, value)
    return value


def test_stale_marks_go() -> None:
    keyspace = Keyspace(2, clock=lambda: 1000)
    db = keyspace.dbs[0]
    _marked(keyspace, b"deleted")
    db.delete(b"deleted")
    _marked(keyspace, b"stored")
    db.delete_stored(b"stored")
    _marked(keyspace, b"expired")
    db.set_expire(b"expired", 10)
    assert db.lookup(b"expired") is None
    assert db.marks == {}
    _marked(keyspace, b"flushed")
    db.flush()
    assert db.marks == {}


def test_prune_drops_stale_marks_and_keeps_live_ones() -> None:
    keyspace = Keyspace(1)
    db = keyspace.dbs[0]
    for i in range(40):
        _marked(keyspace, b"k%d" % i)
    for i in range(0, 40, 2):
        db.set_value(b"k%d" % i, b"overwritten")  # no work here: the mark goes stale
    assert len(db.marks) == 40
    for _ in range(3):
        encodings.prune(keyspace, per_db=16)
    assert sorted(db.marks) == sorted(b"k%d" % i for i in range(1, 40, 2))
    # A live mark: INCRBYFLOAT's "12" is embstr, where a SET of it would be int.
    assert encodings.encoding(db, b"k1", db.data[b"k1"], encodings.Limits(Config())) == b"embstr"
    assert encodings.encoding(db, b"k0", db.data[b"k0"], encodings.Limits(Config())) == b"embstr"
