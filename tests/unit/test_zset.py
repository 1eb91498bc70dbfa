"""The sorted set on its own (zyst.types.zset) and the score helpers of zyst.numbers: each
operation against a naive model (a list sorted by score, then member bytes)."""

from __future__ import annotations

import math
import random

import pytest

from zyst.numbers import format_double, parse_double, parse_range_double
from zyst.types.zset import LexRange, ScoreRange, ZSet


def model_order(scores: dict[bytes, float]) -> list[tuple[bytes, float]]:
    return sorted(scores.items(), key=lambda item: (item[1], item[0]))


def test_order_is_score_then_member_bytes() -> None:
    z = ZSet()
    for member, score in [(b"b", 1.0), (b"a", 1.0), (b"\xff", 0.0), (b"", 1.0), (b"ab", 1.0)]:
        assert z.add(member, score)
    assert list(z) == [(b"\xff", 0.0), (b"", 1.0), (b"a", 1.0), (b"ab", 1.0), (b"b", 1.0)]
    assert z.rank(b"a") == 2 and z.rank(b"a", reverse=True) == 2
    assert z.rank(b"\xff", reverse=True) == 4
    assert z.rank(b"missing") is None


def test_add_update_remove() -> None:
    z = ZSet()
    assert z.add(b"m", 1.0) is True
    assert z.add(b"m", 1.0) is False
    assert z.add(b"m", 5.0) is False
    assert z.score(b"m") == 5.0 and list(z) == [(b"m", 5.0)]
    assert z.remove(b"m") is True and z.remove(b"m") is False
    assert not z and len(z) == 0 and list(z) == []


def test_negative_zero_is_stored_as_zero() -> None:
    z = ZSet()
    z.add(b"m", -0.0)
    assert math.copysign(1.0, z.scores[b"m"]) == 1.0
    assert format_double(next(iter(z))[1]) == b"0"


def test_score_span_bounds() -> None:
    z = ZSet()
    for i, score in enumerate([-math.inf, -1.0, 0.0, 1.0, 1.0, 2.0, math.inf]):
        z.add(b"m%d" % i, score)

    def span(lo: float, lox: bool, hi: float, hix: bool) -> list[bytes]:
        a, b = z.score_span(ScoreRange(lo, lox, hi, hix))
        return [m for m, _ in z.items(a, b)]

    assert span(1.0, False, 1.0, False) == [b"m3", b"m4"]
    assert span(1.0, True, 2.0, False) == [b"m5"]
    assert span(1.0, False, 2.0, True) == [b"m3", b"m4"]
    assert span(-math.inf, False, math.inf, False) == [b"m%d" % i for i in range(7)]
    assert span(-math.inf, True, math.inf, True) == [b"m%d" % i for i in range(1, 6)]
    assert span(math.inf, True, math.inf, False) == []
    assert span(2.0, False, 1.0, False) == []
    assert span(1.0, True, 1.0, False) == []
    assert span(-0.0, True, 1.0, True) == []
    assert span(-0.0, False, 0.0, False) == [b"m2"]


def test_delete_span_and_items_reversed() -> None:
    z = ZSet()
    for i in range(10):
        z.add(b"%d" % i, float(i))
    assert [m for m, _ in z.items(2, 5, reverse=True)] == [b"4", b"3", b"2"]
    assert z.delete_span(2, 5) == 3
    assert [m for m, _ in z] == [b"0", b"1", b"5", b"6", b"7", b"8", b"9"]
    assert z.score(b"3") is None and len(z) == 7
    assert z.delete_span(4, 4) == 0


def lex_model(
    members: list[bytes], lo: tuple[bytes, bytes], hi: tuple[bytes, bytes]
) -> list[bytes]:
    spec = LexRange(lo, hi)
    return [m for m in sorted(members) if spec.above_min(m) and spec.below_max(m)]


BOUNDS = [
    (b"-", b""),
    (b"+", b""),
    (b"[", b"b"),
    (b"(", b"b"),
    (b"[", b"c"),
    (b"(", b""),
    (b"[", b""),
]


@pytest.mark.parametrize("lo", BOUNDS)
@pytest.mark.parametrize("hi", BOUNDS)
def test_lex_span_one_score(lo: tuple[bytes, bytes], hi: tuple[bytes, bytes]) -> None:
    members = [b"a", b"b", b"ba", b"c", b"d", b""]
    z = ZSet()
    for m in members:
        z.add(m, 7.0)
    spec = LexRange(lo, hi)
    expected = [] if spec.empty() else lex_model(members, lo, hi)
    a, b = z.lex_span(spec)
    assert [m for m, _ in z.items(a, b)] == expected
    assert z.lex_span_reverse(spec) == (a, b)


def test_lex_span_mixed_scores_walks_in_order() -> None:
    # Members out of byte order: walking up, the walk stops at the first member past the
    # maximum; walking down, at the first below the minimum (the maximum is not looked at again).
    z = ZSet()
    for score, member in enumerate([b"a", b"z", b"b"]):
        z.add(member, float(score))
    a, b = z.lex_span(LexRange((b"[", b"a"), (b"[", b"b")))
    assert [m for m, _ in z.items(a, b)] == [b"a"]
    a, b = z.lex_span_reverse(LexRange((b"[", b"a"), (b"[", b"b")))
    assert [m for m, _ in z.items(a, b)] == [b"a", b"z", b"b"]
    a, b = z.lex_span_reverse(LexRange((b"(", b"a"), (b"[", b"b")))
    assert [m for m, _ in z.items(a, b)] == [b"z", b"b"]


def test_random_operations_match_the_model() -> None:
    rng = random.Random(7)
    z = ZSet()
    model: dict[bytes, float] = {}
    for _ in range(3000):
        member = b"m%d" % rng.randrange(40)
        op = rng.randrange(4)
        if op == 0:
            score = float(rng.randrange(-5, 5))
            assert z.add(member, score) == (member not in model)
            model[member] = score
        elif op == 1:
            assert z.remove(member) == (member in model)
            model.pop(member, None)
        elif op == 2 and model:
            order = model_order(model)
            start = rng.randrange(len(order))
            stop = rng.randrange(start, len(order) + 1)
            assert z.items(start, stop) == order[start:stop]
            lo, hi = float(rng.randrange(-6, 6)), float(rng.randrange(-6, 6))
            lox, hix = rng.random() < 0.5, rng.random() < 0.5
            spec = ScoreRange(lo, lox, hi, hix)
            a, b = z.score_span(spec)
            assert z.items(a, b) == [
                (m, s) for m, s in order if spec.above_min(s) and spec.below_max(s)
            ]
        else:
            order = model_order(model)
            rank = z.rank(member)
            assert rank == (order.index((member, model[member])) if member in model else None)
        assert list(z) == model_order(model)
        assert len(z) == len(model)


@pytest.mark.parametrize("load", [1, 2, 128])
@pytest.mark.parametrize("scores", [1, 3, 1000])
def test_each_pair_is_found_where_it_is(load: int, scores: int) -> None:
    """Rank, change and removal find a pair that is there (stopping on meeting it) at every
    place in a block, among ties (one score, a few) and without."""
    rng = random.Random(load * scores)
    z = ZSet(load)
    model: dict[bytes, float] = {}
    for _ in range(300):
        member = b"m%03d" % rng.randrange(1000)
        model[member] = float(rng.randrange(scores))
        z.add(member, model[member])
    order = model_order(model)
    for rank, (member, _) in enumerate(order):
        assert z.rank(member) == rank
    for member in rng.sample(sorted(model), 100):
        old = model[member]
        model[member] = old + 1.0
        z.change(member, old, old + 1.0)
        assert list(z) == model_order(model)
    for member in rng.sample(sorted(model), len(model)):
        assert z.remove(member)
        del model[member]
        assert list(z) == model_order(model)


# -- doubles -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "strict", "loose"),
    [
        (b"1.5", 1.5, 1.5),
        (b"-0", -0.0, -0.0),
        (b"inf", math.inf, math.inf),
        (b"-Infinity", -math.inf, -math.inf),
        (b"0x1p3", 8.0, 8.0),
        (b"1e400", None, math.inf),
        (b"1e-400", None, 0.0),
        (b"4.9e-324", 5e-324, 5e-324),
        (b" 1", None, 1.0),
        (b"1 ", None, None),
        (b"", None, 0.0),
        (b"1\x00x", None, 1.0),
        (b"nan", None, None),
        (b"1_0", None, None),
        (b"1e", None, None),
        (b".", None, None),
        # Plain digits (read without strtod up to 15 of them), and what ends that path.
        (b"0", 0.0, 0.0),
        (b"000000000123", 123.0, 123.0),
        (b"999999999999999", 999999999999999.0, 999999999999999.0),
        (b"9999999999999999", 1e16, 1e16),
        (b"12345678901234567", 12345678901234567.0, 12345678901234567.0),
        (b"1:", None, None),
        (b"1/", None, None),
        (b"9a", None, None),
        (b"+5", 5.0, 5.0),
        (b"-5", -5.0, -5.0),
    ],
)
def test_parse_double(text: bytes, strict: float | None, loose: float | None) -> None:
    assert parse_double(text) == strict
    assert parse_range_double(text) == loose


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e300, b"1.0000000000000001e+300"),
        (0.1, b"0.10000000000000001"),
        (-0.0, b"-0"),
        (1.5e-7, b"1.4999999999999999e-07"),
        (3.0, b"3"),
        (1e17, b"1e+17"),
        (math.inf, b"inf"),
        (-math.inf, b"-inf"),
    ],
)
def test_format_double(value: float, text: bytes) -> None:
    assert format_double(value) == text
    if not math.isinf(value):
        assert parse_double(text) == value


@pytest.mark.parametrize("tree_blocks", [2, 16, 10_000])
@pytest.mark.parametrize("load", [1, 2, 5, 512])
def test_blocks_match_the_model(load: int, tree_blocks: int) -> None:
    """The same random operations on sets whose order spans many small blocks (splits, emptied
    blocks, spans across blocks) and on one block, against the naive model; positions from the
    Fenwick tree (from 2 blocks on), from the blocks' lengths (never a tree), or either as the
    number of blocks changes."""
    rng = random.Random(load)
    z = ZSet(load, tree_blocks)
    model: dict[bytes, float] = {}
    for step in range(4000):
        member = b"m%d" % rng.randrange(60)
        op = rng.randrange(10)
        if op < 3:
            score = float(rng.randrange(-3, 3))  # few scores: ties span blocks
            assert z.add(member, score) == (member not in model)
            model[member] = score
        elif op == 3:
            # ZINCRBY's way: a small step, which often keeps the pair in its block.
            old = model.get(member)
            score = (old or 0.0) + rng.choice((-1.0, -0.5, 0.5, 1.0))
            if old is None:
                z.insert(member, score)
            else:
                z.change(member, old, score)
            model[member] = score
        elif op == 4:
            assert z.remove(member) == (member in model)
            model.pop(member, None)
        elif op == 5 and model:
            order = model_order(model)
            start = rng.randrange(len(order))
            stop = rng.randrange(start, min(len(order), start + 8) + 1)
            assert z.delete_span(start, stop) == stop - start
            for gone, _ in order[start:stop]:
                del model[gone]
        order = model_order(model)
        size = len(order)
        assert len(z) == size and list(z) == order
        if not size:
            continue
        start = rng.randrange(size)
        stop = rng.randrange(start, size + 1)
        assert z.items(start, stop) == order[start:stop]
        assert z.members(start, stop, True) == [m for m, _ in reversed(order[start:stop])]
        assert z.at(start) == order[start]
        if member in model:
            rank = order.index((member, model[member]))
            assert z.rank(member) == rank and z.rank(member, True) == size - 1 - rank
        lo, hi = float(rng.randrange(-4, 4)), float(rng.randrange(-4, 4))
        spec = ScoreRange(lo, rng.random() < 0.5, hi, rng.random() < 0.5)
        a, b = z.score_span(spec)
        assert z.items(a, b) == [
            (m, s) for m, s in order if not spec.empty() and spec.above_min(s) and spec.below_max(s)
        ]
        if step % 7 == 0:
            one = ZSet(load)
            for m in model:
                one.add(m, 1.0)
            lex = LexRange(BOUNDS[rng.randrange(len(BOUNDS))], (b"[", b"m%d" % rng.randrange(60)))
            a, b = one.lex_span(lex)
            names = sorted(model)
            assert one.members(a, b) == ([] if lex.empty() else lex_model(names, lex.min, lex.max))
