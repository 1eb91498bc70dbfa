"""The geohash arithmetic (zyst.types.geohash), the number formats of the geo replies and
Redis's partial quicksort (zyst.pqsort), on values Redis's documentation and its own replies
give."""

from __future__ import annotations

import functools
import random

import pytest

from zyst.commands.geo import fixed4, human
from zyst.pqsort import pqsort
from zyst.types import geohash


def test_palermo_and_catania_as_redis_stores_and_prints_them() -> None:
    palermo = geohash.score_of(13.361389, 38.115556)
    catania = geohash.score_of(15.087269, 37.502669)
    assert (palermo, catania) == (3479099956230698, 3479447370796909)
    lon, lat = geohash.decode(palermo)
    assert (human(lon), human(lat)) == (b"13.36138933897018433", b"38.11555639549629859")
    assert geohash.hash_string(palermo) == b"sqc8b49rny0"
    assert geohash.hash_string(catania) == b"sqdtr74hyu0"
    dist = geohash.distance(lon, lat, *geohash.decode(catania))
    assert fixed4(dist) == b"166274.1516"
    assert fixed4(dist / 1000) == b"166.2742"


def test_the_limits() -> None:
    assert geohash.in_limits(-180, -85.05112878) and geohash.in_limits(180, 85.05112878)
    assert not geohash.in_limits(0, 85.05112879) and not geohash.in_limits(180.0000001, 0)
    # A coordinate at its maximum scales to 2**26: one bit past the 52 (as in Redis).
    assert geohash.score_of(180, 85.05112878) == (1 << 52) | (1 << 53) | 0
    assert geohash.score_of(-180, -85.05112878) == 0
    # GEOPOS of a member whose score is 0, as redis-server 7.0.15 replies it.
    assert [human(x) for x in geohash.decode(0)] == [
        b"-179.99999731779098511",
        b"-85.05112751263942528",
    ]


def test_scores_convert_as_c_converts_a_double_to_uint64() -> None:
    assert geohash.score_bits(1.9) == 1
    assert geohash.score_bits(-1.0) == 2**64 - 1
    assert geohash.score_bits(-0.5) == 0
    assert geohash.score_bits(2.0**63) == 2**63
    assert geohash.score_bits(-(2.0**70)) == 2**63
    assert geohash.score_bits(2.0**64) == 0
    assert geohash.score_bits(float("inf")) == 0


def test_number_formats() -> None:
    assert human(0.0) == b"0" and human(-0.0) == b"0" and human(-1.5) == b"-1.5"
    assert human(1e-20) == b"0" and human(-1e-20) == b"0"
    assert fixed4(0.0) == b"0.0000" and fixed4(12.3) == b"12.3000" and fixed4(1e-4) == b"0.0001"
    assert fixed4(0.5 / 10000) == b"0.0000" and fixed4(2.5 / 10000) == b"0.0002"  # ties to even
    assert fixed4(0.00015) == b"0.0001"  # (0.00015 * 10000 is 1.4999999999999998)


def test_distances() -> None:
    # Same longitude: the meridian shortcut.
    assert geohash.distance(10, 0, 10, 1) == geohash.lat_distance(0, 1)
    # GEOADD mm 10 0 a 10 1 b; GEODIST mm a b, as redis-server 7.0.15 replies it.
    a = geohash.decode(geohash.score_of(10, 0))
    b = geohash.decode(geohash.score_of(10, 1))
    assert fixed4(geohash.distance(*a, *b)) == b"111226.0989"
    assert geohash.distance(0, 0, 180, 0) == pytest.approx(geohash.EARTH_RADIUS * 3.141592653589793)


def test_search_ranges_cover_the_shape() -> None:
    shape = geohash.Shape(13.361389, 38.115556, 1000.0, radius=200.0)
    ranges = geohash.search_ranges(shape)
    assert 1 <= len(ranges) <= 9
    catania = geohash.score_of(15.087269, 37.502669)
    assert any(low <= catania < high for low, high in ranges)
    # Around the whole world every neighbour is the same cell: each read once.
    world = geohash.search_ranges(geohash.Shape(0, 0, 1000.0, radius=40000.0))
    assert len(world) == len(set(world))


def _by_key(a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] > b[0]) - (a[0] < b[0])


@pytest.mark.parametrize("seed", range(20))
def test_pqsort_puts_in_place_what_a_full_sort_puts_there(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([3, 7, 8, 40, 41, 200])
    items = [(rng.randrange(size // 2 + 1), i) for i in range(size)]
    first = rng.randrange(size)
    last = rng.randrange(first, size)
    expected = sorted(items, key=functools.cmp_to_key(_by_key))
    pqsort(items, _by_key, first, last)
    assert [k for k, _ in items[first : last + 1]] == [k for k, _ in expected[first : last + 1]]
    assert sorted(items) == sorted(expected)  # a permutation


def test_pqsort_orders_equal_keys_as_redis() -> None:
    """Not stably: ten equal keys come out as Bentley-McIlroy's partition leaves them (the
    order Redis's pqsort.c, compiled, gives)."""
    items = [(0, i) for i in range(10)]
    pqsort(items, _by_key, 0, 2)
    assert [i for _, i in items] == [9, 1, 2, 3, 4, 5, 6, 7, 8, 0]


@pytest.mark.parametrize("seed", range(8))
def test_the_c_search_loop_agrees_with_the_python_one(seed: int) -> None:
    """Shape.matches (the C extension in a compiled install) and its Python reference give
    the same points and the same distances, bit for bit, odd scores included."""
    rng = random.Random(seed)
    lon, lat = rng.uniform(-180, 180), rng.uniform(-85, 85)
    scores = [
        float(geohash.score_of(min(max(lon + rng.gauss(0, 2), -180), 180),
                               min(max(lat + rng.gauss(0, 2), -85), 85)))
        for _ in range(3000)
    ] + [-1.0, -0.5, 1.5, 2.0**63, 2.0**64, 1e30, float("inf"), float("-inf")]  # fmt: skip
    for _ in range(20):
        conversion = rng.choice([1.0, 1000.0, 0.3048, 1609.34])
        size = rng.choice([0.0, 1.0, 100.0, 1e5, 1e6, 2e7]) / conversion
        width, height = size * rng.uniform(0.2, 2), size * rng.uniform(0.2, 2)
        box = rng.random() < 0.5
        shape = geohash.Shape(lon, lat, conversion, size, width, height, box)
        found = shape.matches(scores)
        assert found == shape.matches_portable(scores)
        assert all(shape.distance_to(scores[i]) == d for i, d in found[:50])
        # collect(): the same points as (distance, member, score), up to a limit.
        members = [b"m%d" % i for i in range(len(scores))]
        limit = rng.choice([0, 1, 5, 10**6])
        collected: list[tuple[float, bytes, float]] = []
        shape.collect(scores, members, collected, limit)
        portable: list[tuple[float, bytes, float]] = []
        shape.collect_portable(scores, members, portable, limit)
        expected = [(d, members[i], scores[i]) for i, d in found]
        assert collected == portable == (expected[:limit] if limit else expected)
