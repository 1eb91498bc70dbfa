"""zyst.timing without a server: histogram buckets, percentiles, and how a batch's time is
shared out among its commands."""

from __future__ import annotations

import pytest

import zyst.commands  # noqa: F401  (the declarations, before zyst.timing)
from zyst import timing
from zyst.commands.table import Command, lookup
from zyst.timing import untimed_share


def test_every_duration_falls_in_a_bucket_whose_top_holds_it() -> None:
    previous_top = -1
    for index in range(timing.BUCKETS - 1):
        top = timing.bucket_high(index)
        assert top > previous_top
        assert timing.bucket(top) == index
        assert timing.bucket(previous_top + 1) == index
        previous_top = top


@pytest.mark.parametrize("ns", [1, 63, 64, 1000, 1024, 999_999, 10**9, 3 * 10**11])
def test_a_bucket_is_within_one_thirty_second_of_its_values(ns: int) -> None:
    top = timing.bucket_high(timing.bucket(ns))
    assert ns <= top <= ns * (1 + 1 / 32) + 1


def test_percentiles_are_the_top_of_the_bucket_holding_that_sample() -> None:
    histogram = [0] * timing.BUCKETS
    for ns in [1000] * 98 + [50_000, 2_000_000]:
        histogram[timing.bucket(ns)] += 1
    assert timing.percentile(histogram, 50) == pytest.approx(1.0, rel=0.04)
    assert timing.percentile(histogram, 99) == pytest.approx(50.0, rel=0.04)
    assert timing.percentile(histogram, 100) == pytest.approx(2000.0, rel=0.04)
    assert timing.percentile([0] * timing.BUCKETS, 50) == 0.0


def test_cumulative_buckets_double_from_one_microsecond() -> None:
    histogram = [0] * timing.BUCKETS
    for ns in (500, 1500, 1500, 5000):
        histogram[timing.bucket(ns)] += 1
    assert timing.cumulative_usec(histogram) == [(1, 1), (2, 3), (8, 4)]


def declared(name: bytes) -> Command:
    cmd = lookup(name)
    assert cmd is not None
    return cmd


def test_commands_that_can_be_slow_are_timed_one_by_one() -> None:
    for name in (b"keys", b"lrange", b"exec", b"debug", b"sinter", b"del"):
        assert declared(name).timed, name
    for name in (b"get", b"set", b"incr", b"zadd", b"hset", b"ping", b"mget"):
        assert not declared(name).timed, name


def test_untimed_commands_share_what_the_timed_ones_did_not_take() -> None:
    # GET, DEBUG (0.2 s, measured), GET: the GETs share the 0.01 s left.
    assert untimed_share(0.21, [(0.2, 0)], 2) == pytest.approx(0.005)


def test_a_command_inside_exec_does_not_count_twice_against_the_batch() -> None:
    # MULTI, EXEC (0.3 s) holding DEBUG (0.3 s, nesting 1): MULTI gets what is left.
    assert untimed_share(0.301, [(0.3, 1), (0.3, 0)], 1) == pytest.approx(0.001)


def test_a_batch_without_timed_commands_is_shared_equally() -> None:
    assert untimed_share(0.4, [], 4) == pytest.approx(0.1)
    assert untimed_share(0.5, [], 1) == 0.5
    assert untimed_share(0.5, [(0.5, 0)], 0) == 0.0
