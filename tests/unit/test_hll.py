"""The HyperLogLog representation (zyst.types.hll) on its own: the accelerated functions (the C
extension in a compiled install) answer exactly what the Python definitions answer, registers
read back what was written without disturbing their neighbours, and the sparse encoding
follows Redis's opcode rules. Byte-for-byte agreement with Redis itself is tested against
redis-server in tests/oracle/test_hll_oracle.py.
"""

from __future__ import annotations

import random

from zyst.types import hll


def random_elements(rng: random.Random, count: int) -> list[bytes]:
    return [rng.randbytes(rng.randint(0, 33)) for _ in range(count)]


def test_pattern_matches_the_python_definition() -> None:
    rng = random.Random(1)
    for element in random_elements(rng, 3000):
        pat = hll.pattern(element)
        assert pat == hll.pattern_py(element)
        assert 1 <= pat >> 14 <= 51
    # MurmurHash64A of the empty string with Redis's seed, worked out by hand from the algorithm.
    h = 0xADC83B19
    h ^= h >> 47
    h = (h * 0xC6A4A7935BD1E995) & (2**64 - 1)
    h ^= h >> 47
    assert hll.murmur64a(b"") == h


def test_dense_registers_round_trip() -> None:
    rng = random.Random(2)
    dense = bytearray(hll.DENSE_SIZE)
    values = [rng.randrange(64) for _ in range(hll.REGISTERS)]
    for index, value in enumerate(values):
        hll.dense_put(dense, index, value)
    assert [hll.dense_get(dense, i) for i in range(hll.REGISTERS)] == values
    assert list(hll.unpack(dense)) == values
    assert hll.unpack(dense) == hll.unpack_py(dense)
    packed = bytearray(hll.DENSE_SIZE)
    hll.pack(packed, bytes(values))
    assert packed == dense
    other = bytearray(hll.DENSE_SIZE)
    hll.pack_py(other, bytes(values))
    assert other == dense
    raw = bytes(values)
    assert hll.histogram_raw(raw) == hll.histogram_raw_py(raw)
    assert hll.dense_histogram(dense) == hll.dense_histogram_py(dense) == hll.histogram_raw(raw)
    # Overwriting one register leaves its neighbours as they were.
    hll.dense_put(dense, 5, 0)
    assert [hll.dense_get(dense, i) for i in (4, 5, 6)] == [values[4], 0, values[6]]


def test_dense_add_matches_the_python_definition() -> None:
    rng = random.Random(3)
    ours = bytearray(hll.DENSE_SIZE)
    theirs = bytearray(hll.DENSE_SIZE)
    for _ in range(20):
        batch = random_elements(rng, 500)
        assert hll.dense_add(ours, batch, 3) == hll.dense_add_py(theirs, batch, 3)
        assert ours == theirs


def test_dense_add_of_high_values_at_every_bit_offset() -> None:
    # Registers sit at bit offsets 0, 6, 4, 2 of their byte (index % 4); a value of 16 or more
    # at offset 4 or 6 spills into the next byte. Such values are rare (a run of 15 zero
    # bits): search for elements giving them at each offset.
    wanted: dict[int, bytes] = {}
    n = 0
    while len(wanted) < 4:
        element = b"%d" % n
        pat = hll.pattern(element)
        if pat >> 14 >= 16:
            wanted.setdefault((pat & (hll.REGISTERS - 1)) % 4, element)
        n += 1
    ours = bytearray(hll.DENSE_SIZE)
    theirs = bytearray(hll.DENSE_SIZE)
    batch = list(wanted.values())
    assert hll.dense_add(ours, batch, 0) == hll.dense_add_py(theirs, batch, 0) == 4
    assert ours == theirs


def test_sparse_opcodes() -> None:
    buf = bytearray(hll.EMPTY)
    assert hll.decode(buf) == b"Z:16384"
    assert hll.sparse_set(buf, 100, 3, 3000) == 1
    assert hll.decode(buf) == b"Z:100 v:3,1 Z:16283"
    assert hll.sparse_set(buf, 100, 2, 3000) == 0
    assert hll.sparse_set(buf, 101, 3, 3000) == 1
    assert hll.decode(buf) == b"Z:100 v:3,2 Z:16282"  # adjacent equal VALs merged
    assert hll.sparse_set(buf, 90, 1, 3000) == 1
    assert hll.decode(buf) == b"Z:90 v:1,1 z:9 v:3,2 Z:16282"  # runs up to 64 are ZERO
    assert hll.cached(buf) == -1
    histo = hll.histogram(buf)
    assert histo is not None and histo[0] == hll.REGISTERS - 3 and histo[3] == 2
    # Past the size limit it turns dense, with the same registers.
    assert hll.sparse_set(buf, 9000, 5, len(buf)) == 1
    assert buf[4] == hll.DENSE and len(buf) == hll.DENSE_SIZE
    assert [hll.dense_get(buf, i) for i in (90, 100, 101, 9000)] == [1, 3, 3, 5]
    # A value too large for a VAL turns it dense too.
    big = bytearray(hll.EMPTY)
    assert hll.sparse_set(big, 7, 40, 3000) == 1
    assert big[4] == hll.DENSE and hll.dense_get(big, 7) == 40


def test_sparse_and_dense_estimate_alike() -> None:
    rng = random.Random(4)
    sparse = bytearray(hll.EMPTY)
    dense = bytearray(hll.EMPTY)
    assert hll.to_dense(dense)
    for _ in range(10):
        batch = random_elements(rng, 100)
        hll.add(sparse, batch, 0, 100_000)
        hll.add(dense, batch, 0, 100_000)
        assert sparse[4] == hll.SPARSE
        assert hll.count(sparse) == hll.count(dense)


def test_corrupt_sparse_values_are_detected() -> None:
    header = bytes(hll.EMPTY[:16])
    for body in (b"", b"\x7f", b"\x7f\xff\x80", b"\x7f\xfe\x83", b"\x00" * 10):
        buf = bytearray(header + body)
        assert hll.histogram(buf) is None
        assert not hll.to_dense(buf)
        assert not hll.merge_into(bytearray(hll.REGISTERS), buf)
    for valid in (hll.is_valid, hll.is_valid_py):
        assert not valid(b"HYLL\x00" + bytes(20))  # dense of the wrong size
        assert not valid(b"HYLL\x02" + bytes(20))  # unknown encoding
        assert not valid(b"HYLX\x01" + bytes(20))
        assert not valid(b"HYLL\x01" + bytes(10))  # shorter than the header
        assert valid(hll.EMPTY) and valid(bytearray(hll.EMPTY))
        assert valid(b"HYLL\x00" + bytes(hll.DENSE_SIZE - 5))


def test_the_cached_count_is_read_from_the_header() -> None:
    buf = bytearray(hll.EMPTY)
    for card in (0, 1, 255, 1 << 40, (1 << 63) - 1):
        hll.set_cached(buf, card)
        assert hll.cached(buf) == hll.cached_py(buf) == card
        assert hll.cached(bytes(buf)) == card
    buf[15] |= 0x80  # marked stale
    assert hll.cached(buf) == hll.cached_py(buf) == -1


def test_estimates() -> None:
    assert hll.estimate([hll.REGISTERS] + [0] * 63) == 0
    # Every register above 51: Redis divides by zero and replies the smallest long long.
    assert hll.estimate([0] * 63 + [hll.REGISTERS]) == -(2**63)
    assert hll.to_signed(2**63) == -(2**63)
    # Nearly every register at 51: an estimate past the long long range, the same answer.
    assert hll.estimate([0] * 50 + [1, 16383] + [0] * 12) == -(2**63)


def test_sparse_walks_match_the_python_definitions() -> None:
    rng = random.Random(5)
    buf = bytearray(hll.EMPTY)
    hll.add(buf, random_elements(rng, 600), 0, 100_000)
    assert buf[4] == hll.SPARSE
    for index in [0, 1, hll.REGISTERS - 1, *(rng.randrange(hll.REGISTERS) for _ in range(200))]:
        assert hll.sparse_seek(buf, index) == hll.sparse_seek_py(buf, index)
    assert hll.sparse_histogram(buf) == hll.sparse_histogram_py(buf)
    for cut in (17, 18, len(buf) - 1):  # corrupt: cut short, an XZERO cut in two
        assert hll.sparse_seek(buf[:cut], 9000) == hll.sparse_seek_py(buf[:cut], 9000)
        assert hll.sparse_histogram(buf[:cut]) == hll.sparse_histogram_py(buf[:cut]) is None
    assert hll.sparse_seek(hll.EMPTY[:16], 3) == hll.sparse_seek_py(hll.EMPTY[:16], 3)


def test_raw_max_matches_the_python_definition() -> None:
    rng = random.Random(6)
    left = bytearray(rng.randbytes(hll.REGISTERS))
    right = rng.randbytes(hll.REGISTERS)
    expected = bytes(max(a, b) for a, b in zip(left, right, strict=True))
    other = bytearray(left)
    hll.raw_max(left, right)
    hll.raw_max_py(other, right)
    assert left == other == expected
