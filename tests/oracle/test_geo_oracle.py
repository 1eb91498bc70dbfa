"""Geospatial commands against real Redis 7.0: the same commands go to Zyst and to redis-server
and the raw replies are compared byte for byte (coordinates, distances and hashes to the last
digit, the order of search results, every error), in RESP2 and RESP3.

The random part builds seeded sets of points (clustered, so searches find many; near the
poles' limits and the antimeridian; some sharing coordinates) and runs searches with random
shapes, units and options through every search command. ``ZYST_GEO_EXAMPLES`` raises the
number of seeds (the default keeps the file to a few seconds).
"""

from __future__ import annotations

import os
import random

import pytest

from tests.conftest import Oracle, ServerProcess, hello3
from tests.oracle.test_keyevents_oracle import redis_events

Arg = bytes | str | int
Command = tuple[Arg, ...]

SICILY: Command = (
    "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania",
)  # fmt: skip


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def o(request: pytest.FixtureRequest, oracle: Oracle) -> Oracle:
    """The oracle, in RESP2 or RESP3."""
    if request.param == 3:
        hello3(oracle)
    return oracle


def test_the_documented_examples(o: Oracle) -> None:
    assert o.check(*SICILY) == b":2\r\n"
    o.check_all(
        ("GEODIST", "Sicily", "Palermo", "Catania"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "km"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "MI"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "ft"),
        ("GEODIST", "Sicily", "Palermo", "Palermo"),
        ("GEODIST", "Sicily", "Foo", "Bar"),
        ("GEODIST", "nokey", "Foo", "Bar"),
        ("GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting"),
        ("GEOPOS", "Sicily"),
        ("GEOPOS", "nokey", "a", "b"),
        ("GEOHASH", "Sicily", "Palermo", "Catania", "NonExisting"),
        ("GEOHASH", "nokey", "a"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "100", "km"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "DESC"),
        ("GEORADIUSBYMEMBER_RO", "Sicily", "Catania", "200", "km", "COUNT", "1"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC",
         "WITHCOORD", "WITHDIST", "WITHHASH"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "DESC",
         "COUNT", "1", "ANY"),
        ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"),
    )  # fmt: skip


def test_geoadd_options_and_replies(o: Oracle) -> None:
    o.check_all(
        SICILY,
        ("GEOADD", "Sicily", "NX", "13.361389", "38.115556", "Palermo", "1", "2", "new"),
        ("GEOADD", "Sicily", "XX", "1", "2", "Palermo", "3", "4", "nothere"),
        ("GEOADD", "Sicily", "XX", "CH", "5", "6", "Palermo", "3", "4", "nothere2"),
        ("GEOADD", "Sicily", "CH", "5", "6", "Palermo", "7", "8", "Catania"),
        ("GEOADD", "Sicily", "ch", "nx", "ch", "9", "9", "Palermo", "9", "9", "x"),
        ("GEOADD", "Sicily", "XX", "NX", "1", "2", "x"),
        ("GEOADD", "Sicily", "1", "2", "x", "3"),
        ("GEOADD", "Sicily", "NX", "1", "2"),
        ("GEOADD", "Sicily", "1", "2"),
        ("GEOADD", "Sicily", "1", "2", "ok", "200", "2", "bad"),  # nothing is added
        ("GEOADD", "Sicily", "1", "2", "ok", "x", "2", "bad"),
        ("GEOADD", "Sicily", "1", "nan", "bad"),
        ("GEOADD", "Sicily", "inf", "0", "bad"),
        ("GEOADD", "Sicily", "-180", "-85.05112878", "corner", "180", "85.05112878", "top"),
        ("GEOADD", "Sicily", "-180.0000001", "0", "bad"),
        ("GEOADD", "Sicily", "0", "85.05112879", "bad"),
        ("GEOADD", "Sicily", "1e300", "-1e-300", "bad"),
        ("GEOADD", "Sicily", " 1", "2", "bad"),
        ("GEOADD", "Sicily", "0x10", "1e1", "hex"),
        ("GEOADD", "Sicily", "1-2", "2", "bad"),
        ("GEOADD", "Sicily", "--1", "2", "bad"),
        ("GEOADD", "Sicily", "-", "2", "bad"),
        ("GEOADD", "Sicily", ".", "2", "bad"),
        ("GEOADD", "Sicily", "1.2.3", "2", "bad"),
        ("GEOADD", "Sicily", "1", "2\x00", "bad"),
        ("GEOADD", "Sicily", "+1.5", "-.5", "plus", "5.", "-0", "dot", "007.25", "-85.0", "z"),
        ("GEOADD", "Sicily", "12.3456789012345678901234", "-0.000000000000000000000001", "long"),
        ("GEOADD", "Sicily", "0." + "0" * 400 + "1", "0", "underflow"),
        ("GEOADD", "Sicily", "0", "1" + "0" * 400, "overflow"),
        ("GEOPOS", "Sicily", "corner", "top", "hex", "ok", "new", "x", "plus", "dot", "z", "long"),
        ("GEOHASH", "Sicily", "corner", "top", "hex", "ok", "new", "x"),
        ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"),
        ("SET", "str", "x"),
        ("GEOADD", "str", "1", "2", "x"),
        ("GEOADD", "str", "1", "200", "x"),  # the coordinates are checked first
        ("GEOADD", "str", "XX", "NX", "1", "2", "x"),
    )


def test_scores_that_geoadd_does_not_make_decode_as_in_redis(o: Oracle) -> None:
    """Any score of a sorted set decodes to some point (C's conversion to an unsigned
    integer), and the searches find those in range."""
    scores = ["0", "1", "-1", "-0.5", "1.5", "4503599627370495", "4503599627370496",
              "9007199254740993", "1e18", "9.3e18", "1.8e19", "1e30", "-1e30", "inf", "-inf",
              "3471579339700058", "3479099956230698.5"]  # fmt: skip
    o.check("ZADD", "z", *[part for i, s in enumerate(scores) for part in (s, f"m{i}")])
    members = [f"m{i}" for i in range(len(scores))]
    o.check("GEOPOS", "z", *members)
    o.check("GEOHASH", "z", *members)
    for i in range(0, len(members) - 1, 2):
        o.check("GEODIST", "z", members[i], members[i + 1], "km")
    o.check("GEOSEARCH", "z", "FROMLONLAT", "-180", "-85", "BYRADIUS", "100", "km",
            "WITHHASH", "WITHCOORD", "WITHDIST", "ASC")  # fmt: skip
    o.check("GEOSEARCH", "z", "FROMLONLAT", "13", "38", "BYBOX", "1000", "1000", "km",
            "WITHHASH", "ASC")  # fmt: skip


ERRORS: list[Command] = [
    ("GEOADD", "k", "1", "2"),
    ("GEOPOS",),
    ("GEODIST", "Sicily", "a"),
    ("GEODIST", "Sicily", "a", "b", "km", "x"),
    ("GEODIST", "Sicily", "a", "b", "yards"),
    ("GEODIST", "nokey", "a", "b", "yards"),
    ("GEODIST", "str", "a", "b", "yards"),
    ("GEODIST", "str", "a", "b"),
    ("GEOHASH", "str", "a"),
    ("GEOPOS", "str", "a"),
    ("GEORADIUS", "Sicily", "15", "37", "200"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "parsecs"),
    ("GEORADIUS", "Sicily", "15", "37", "-1", "km"),
    ("GEORADIUS", "Sicily", "15", "37", "x", "km"),
    ("GEORADIUS", "Sicily", "15", "100", "x", "km"),
    ("GEORADIUS", "Sicily", "a", "37", "1", "km"),
    ("GEORADIUS", "str", "a", "37", "1", "km"),
    ("GEORADIUS", "nokey", "a", "37", "1", "km"),
    ("GEORADIUS", "nokey", "15", "37", "1", "km"),
    ("GEORADIUS", "nokey", "15", "37", "1", "km", "STORE", "dst"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "-3"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY", "COUNT", "1", "WITHDIST"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d", "WITHDIST"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "d", "WITHHASH"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "FROMMEMBER", "Palermo"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "Sicily", "15", "37", "200", "km", "nosuch"),
    ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "d"),
    ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STOREDIST", "d"),
    ("GEORADIUSBYMEMBER", "Sicily", "nobody", "200", "km"),
    ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "x", "km"),
    ("GEORADIUSBYMEMBER", "nokey", "Palermo", "x", "km"),
    ("GEORADIUSBYMEMBER", "nokey", "Palermo", "x", "km", "STORE", "dst"),
    ("GEORADIUSBYMEMBER", "nokey", "Palermo", "x", "km", "bad"),
    ("GEORADIUSBYMEMBER", "nokey", "Palermo", "1", "km", "WITHDIST", "STORE", "x"),
    ("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "STORE", "x"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200"),
    ("GEOSEARCH", "Sicily", "BYRADIUS", "200", "km", "WITHDIST"),
    ("geosearch", "Sicily", "BYRADIUS", "200", "km", "WITHDIST"),
    ("GeoSearch", "Sicily", "FROMLONLAT", "15", "37", "ASC"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "FROMMEMBER", "Palermo", "BYRADIUS", "1",
     "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "15", "37", "BYRADIUS", "1",
     "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMMEMBER", "Catania", "BYRADIUS", "1",
     "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "BYBOX", "1", "1",
     "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "m", "BYRADIUS", "1",
     "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "x", "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "y", "furlong"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "-1", "1", "furlong"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "-1", "m"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "furlong"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", "1", "m"),
    ("GEOSEARCH", "nokey", "FROMMEMBER", "nobody", "BYRADIUS", "1", "m"),
    ("GEOSEARCH", "nokey", "FROMMEMBER", "nobody", "BYRADIUS", "1", "x"),
    ("GEOSEARCH", "nokey", "FROMMEMBER", "nobody"),
    ("GEOSEARCH", "str", "FROMMEMBER", "nobody", "BYRADIUS", "1", "x"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "91", "BYRADIUS", "1", "m"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "STOREDIST"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "STORE", "x"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "ANY"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "COUNT", "0"),
    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m",
     "WITHDIST"),
    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "STORE",
     "x"),
    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "ASC", "COUNT", "2"),
    ("GEOSEARCHSTORE", "d", "Sicily", "BYRADIUS", "1", "m", "ASC", "COUNT", "2"),
    ("GEOSEARCHSTORE", "d", "str", "BYRADIUS", "1", "m", "ASC", "COUNT", "2"),
    ("GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "ANY"),
]  # fmt: skip


def test_errors_as_in_redis(o: Oracle) -> None:
    o.check_all(SICILY, ("SET", "str", "x"), ("SET", "d", "keep"))
    for command in ERRORS:
        o.check(*command)
    # None of them touched the destinations.
    o.check_all(("GET", "d"), ("EXISTS", "dst", "x"))


# -- the seeded random part ---------------------------------------------------------------------
CENTRES = [(13.4, 38.1), (-0.1, 51.5), (179.9, 0.0), (-179.95, -10.0), (0.0, 84.9),
           (0.0, -84.9), (116.4, 39.9), (-73.9, 40.7)]  # fmt: skip
UNITS = ["m", "km", "ft", "mi", "KM", "Mi"]


def _coordinate(rng: random.Random, centre: tuple[float, float], spread: float) -> tuple[str, str]:
    lon = min(max(centre[0] + rng.uniform(-spread, spread), -180.0), 180.0)
    lat = min(max(centre[1] + rng.uniform(-spread, spread), -85.05112878), 85.05112878)
    return repr(round(lon, rng.choice([2, 6, 12]))), repr(round(lat, rng.choice([2, 6, 12])))


def _points(rng: random.Random, key: str, count: int) -> Command:
    """GEOADD of ``count`` points near a few centres, some repeated exactly."""
    args: list[Arg] = ["GEOADD", key]
    seen: list[tuple[str, str]] = []
    for i in range(count):
        if seen and rng.random() < 0.1:
            lon, lat = rng.choice(seen)
        else:
            lon, lat = _coordinate(rng, rng.choice(CENTRES), rng.choice([0.01, 0.5, 3.0]))
            seen.append((lon, lat))
        args += [lon, lat, f"p{i}"]
    return tuple(args)


def _shape(rng: random.Random) -> list[Arg]:
    unit = rng.choice(UNITS)
    size = rng.choice([0, 1, 50, 500, 5_000, 80_000, 1_000_000, 5e6, 2e7])
    if unit.lower() == "km":
        size /= 1000
    elif unit.lower() == "mi":
        size /= 1609
    elif unit == "ft":
        size *= 3
    if rng.random() < 0.5:
        return ["BYRADIUS", repr(size), unit]
    return ["BYBOX", repr(size * rng.uniform(0.2, 2)), repr(size * rng.uniform(0.2, 2)), unit]


def _options(rng: random.Random, store: bool) -> list[Arg]:
    options: list[Arg] = []
    if rng.random() < 0.6:
        options.append(rng.choice(["ASC", "DESC", "asc"]))
    if rng.random() < 0.5:
        options += ["COUNT", rng.choice([1, 2, 3, 10, 100])]
        if rng.random() < 0.3:
            options.append("ANY")
    if not store:
        for word in ("WITHCOORD", "WITHDIST", "WITHHASH"):
            if rng.random() < 0.4:
                options.append(word)
    rng.shuffle(options)
    return _keep_count_pairs(options)


def _keep_count_pairs(options: list[Arg]) -> list[Arg]:
    """Put COUNT's number back right after it once the options were shuffled."""
    if "COUNT" not in options:
        return options
    words = [w for w in options if w != "COUNT" and not isinstance(w, int)]
    (number,) = [w for w in options if isinstance(w, int)]
    at = options.index("COUNT")
    words.insert(min(at, len(words)), "COUNT")
    words.insert(words.index("COUNT") + 1, number)
    return words


def _centre(rng: random.Random, key: str, members: int) -> list[Arg]:
    if rng.random() < 0.4:
        return ["FROMMEMBER", f"p{rng.randrange(members)}"]
    lon, lat = _coordinate(rng, rng.choice(CENTRES), rng.choice([0.01, 1.0, 5.0]))
    return ["FROMLONLAT", lon, lat]


def _search(rng: random.Random, key: str, members: int) -> list[Command]:
    """One random search, by one of the six search commands, and what checks its result."""
    kind = rng.randrange(6)
    centre = _centre(rng, key, members)
    shape = _shape(rng)
    if kind == 0:
        return [("GEOSEARCH", key, *centre, *shape, *_options(rng, False))]
    if kind == 1:
        stored: list[Arg] = ["STOREDIST"] if rng.random() < 0.5 else []
        return [
            ("GEOSEARCHSTORE", "dst", key, *centre, *shape, *_options(rng, True), *stored),
            ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ]
    # The GEORADIUS family: a circle only.
    radius = shape[1] if shape[0] == "BYRADIUS" else shape[2]
    unit = shape[-1]
    if centre[0] == "FROMMEMBER":
        head: list[Arg] = ["GEORADIUSBYMEMBER", key, centre[1], radius, unit]
    else:
        head = ["GEORADIUS", key, centre[1], centre[2], radius, unit]
    if kind == 2:
        head[0] = f"{head[0]}_RO"
        return [(*head, *_options(rng, False))]
    if kind == 3:
        return [(*head, *_options(rng, False))]
    word = rng.choice(["STORE", "STOREDIST"])
    return [
        (*head, *_options(rng, True), word, "dst"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
    ]


SEEDS = range(int(os.environ.get("ZYST_GEO_EXAMPLES", "6")))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_searches_as_in_redis(oracle: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    if seed % 2:
        hello3(oracle)
    members = rng.choice([20, 120, 300])  # both of Redis's encodings
    commands: list[Command] = [_points(rng, "g", members)]
    for _ in range(60):
        commands += _search(rng, "g", members)
    commands += [
        ("GEOPOS", "g", *[f"p{i}" for i in range(0, members, 7)]),
        ("GEOHASH", "g", *[f"p{i}" for i in range(0, members, 7)]),
        *[("GEODIST", "g", f"p{rng.randrange(members)}", f"p{rng.randrange(members)}",
           rng.choice(UNITS)) for _ in range(20)],
    ]  # fmt: skip
    oracle.check_many(commands)


def test_huge_and_zero_radii(o: Oracle) -> None:
    rng = random.Random(99)
    o.check(*_points(rng, "g", 200))
    for lon, lat in [(0, 0), (179.99, 0), (-179.99, 84), (10, -85), (45, 60), (-90, -70)]:
        for radius in ("0", "1", "3000", "5000", "8000", "15000", "20000", "40000"):
            o.check("GEOSEARCH", "g", "FROMLONLAT", lon, lat, "BYRADIUS", radius, "km", "ASC")
            o.check("GEOSEARCH", "g", "FROMLONLAT", lon, lat, "BYBOX", radius, radius, "km",
                    "DESC", "WITHDIST")  # fmt: skip


def test_stores_replace_and_delete_the_destination(o: Oracle) -> None:
    o.check_all(
        SICILY,
        ("SET", "dst", "a string", "EX", "100"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
        ("TYPE", "dst"),
        ("TTL", "dst"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
         "STOREDIST", "COUNT", "1"),
        ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
        ("EXISTS", "dst"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "a", "STOREDIST", "b"),
        ("ZRANGE", "b", "0", "-1", "WITHSCORES"),
        ("EXISTS", "a"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "km", "STOREDIST", "a", "STORE", "b"),
        ("ZRANGE", "b", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "b"),
        ("EXISTS", "b"),
        ("GEOSEARCHSTORE", "Sicily", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"),
        ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"),
        ("OBJECT", "ENCODING", "Sicily"),
    )  # fmt: skip


def test_command_getkeys_and_scripts(o: Oracle) -> None:
    o.check_all(
        SICILY,
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STORE", "a"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STORE", "a", "STOREDIST",
         "b"),
        ("COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "x", "3", "m", "STOREDIST", "a"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "STOREDIST", "a", "STORE",
         "b", "store", "c"),
        ("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "m", "COUNT", "STORE"),
        ("COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "s", "FROMMEMBER", "x", "BYRADIUS", "1",
         "m"),
        ("EVAL", "return redis.call('GEOPOS', KEYS[1], 'Palermo', 'x')", "1", "Sicily"),
        ("EVAL", "redis.setresp(3); return redis.call('GEOPOS', KEYS[1], 'Palermo')", "1",
         "Sicily"),
        ("EVAL", "redis.setresp(3); return redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', 15, 37,"
         " 'BYRADIUS', 200, 'km', 'WITHCOORD', 'WITHDIST', 'WITHHASH')", "1", "Sicily"),
        ("EVAL", "return redis.call('GEOADD', KEYS[1], 1, 2, 'x')", "1", "Sicily"),
        ("MULTI",),
        ("GEOADD", "Sicily", "3", "4", "y"),
        ("GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "y", "BYRADIUS", "500", "km"),
        ("GEOPOS", "d", "x", "y"),
        ("EXEC",),
    )  # fmt: skip


EVENTS: list[tuple[str, ...]] = [
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo"),  # nothing changed: no event
    ("GEOADD", "g", "XX", "CH", "13", "38", "Palermo"),
    ("SET", "d", "x"),
    ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km"),
    ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),  # del
    ("GEOSEARCHSTORE", "d", "nokey", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "e"),
    ("GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "e2"),
    ("GEORADIUSBYMEMBER", "g", "Palermo", "10", "km", "STOREDIST", "f"),
    ("GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "e"),  # del
    ("GEORADIUS", "g", "15", "37", "200", "km"),
    ("GEOSEARCH", "nokey", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),  # keymiss
    ("GEOPOS", "nokey", "a"),
    ("GEODIST", "nokey", "a", "b"),
    ("GEOHASH", "nokey", "a"),
]


@pytest.mark.parametrize("flags", ["AKE", "KEzgn", "Em"])
def test_keyspace_events_as_in_redis(
    flags: str, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    theirs = redis_events(redis_server.port, EVENTS, flags)
    assert redis_events(zyst_proc.port, EVENTS, flags) == theirs
    assert theirs


def test_searches_across_cell_edges(oracle: Oracle) -> None:
    """A dense grid and many small shapes around random centres: every side's neighbour cell
    is needed by some search (a wrong neighbour loses the points only it holds)."""
    rng = random.Random(7)
    points: list[Arg] = ["GEOADD", "grid"]
    for i in range(30):
        for j in range(30):
            points += [repr(10 + i / 15), repr(45 + j / 15), f"g{i}.{j}"]
    commands: list[Command] = [tuple(points)]
    for _ in range(150):
        lon, lat = repr(rng.uniform(10.2, 11.8)), repr(rng.uniform(45.2, 46.8))
        size = repr(rng.uniform(2, 60))
        if rng.random() < 0.5:
            shape: list[Arg] = ["BYRADIUS", size, "km"]
        else:
            shape = ["BYBOX", size, repr(rng.uniform(2, 60)), "km"]
        commands.append(("GEOSEARCH", "grid", "FROMLONLAT", lon, lat, *shape))
    oracle.check_many(commands)
