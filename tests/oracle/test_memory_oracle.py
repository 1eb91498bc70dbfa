"""MEMORY USAGE against redis-server (HELP is checked with the other containers' in
test_server_oracle).

The byte counts themselves differ (Python objects against jemalloc), so for USAGE the oracle
decides the reply's kind (an integer, a null, which error) and Zyst's figures are checked for
what an estimate must get right: it grows with the value, a big string counts its bytes, and
SAMPLES 0 measures every element.
"""

from __future__ import annotations

from tests.conftest import Oracle, RawConnection, ServerProcess, parse_reply


def test_errors_and_missing_keys(o: Oracle) -> None:
    o.check("SET", "s", "v")
    for args in [
        ("MEMORY", "USAGE", "nokey"),
        ("MEMORY", "USAGE", "nokey", "SAMPLES", "3"),
        ("MEMORY", "USAGE", "s", "SAMPLES"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "x"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "-1"),
        ("MEMORY", "USAGE", "nokey", "SAMPLES", "-1"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "1", "extra"),
        ("MEMORY", "USAGE", "s", "bogus"),
        # The option word is compared as a C string, up to a NUL.
        ("MEMORY", "USAGE", "nokey", "samples\0x", "3"),
        ("MEMORY", "USAGE", "s", "SAMPLES\0", "-1"),
        ("MEMORY", "USAGE"),
        ("MEMORY", "NOSUCH"),
        ("MEMORY",),
    ]:
        o.check(*args)


def test_every_type_has_a_size(o: Oracle) -> None:
    o.check_many(
        [
            ("SET", "s", "v"),
            ("SET", "n", "12345"),
            ("RPUSH", "l", "a", "b"),
            ("HSET", "h", "f", "v"),
            ("SADD", "st", "1", "x"),
            ("ZADD", "z", "1", "m"),
        ]
    )
    for key in ("s", "n", "l", "h", "st", "z"):
        for extra in ((), ("SAMPLES", "0"), ("samples", "1")):
            ours, theirs = o.run("MEMORY", "USAGE", key, *extra)
            assert ours[:1] == theirs[:1] == b":", (key, ours, theirs)


def test_figures_follow_the_value(zyst_proc: ServerProcess) -> None:
    with RawConnection(zyst_proc.port) as c:
        c.command("FLUSHALL")
        c.command("SET", "big", b"A" * 100_000)
        c.command("SET", "small", b"A" * 10)
        big = parse_reply(c.command("MEMORY", "USAGE", "big"))
        small = parse_reply(c.command("MEMORY", "USAGE", "small"))
        assert 100_000 < big < 101_000
        assert small < 200
        c.command("RPUSH", "l", *[b"x" * 100] * 1000)
        c.command("RPUSH", "short", b"x" * 100)
        assert parse_reply(c.command("MEMORY", "USAGE", "l")) > 100 * 1000
        assert parse_reply(c.command("MEMORY", "USAGE", "short")) < 1000
        # Sampling the first 5 of [small…, large…] underestimates; sampling all does not.
        c.command("HSET", "h", *[p for i in range(10) for p in (f"f{i}", "v")])
        c.command("HSET", "h", *[p for i in range(10) for p in (f"g{i}", "v" * 10_000)])
        sampled = parse_reply(c.command("MEMORY", "USAGE", "h"))
        full = parse_reply(c.command("MEMORY", "USAGE", "h", "SAMPLES", "0"))
        assert sampled < 10 * 10_000 < full
        c.command("ZADD", "z", *[p for i in range(500) for p in (i, f"member:{i:05}")])
        c.command("SADD", "st", *range(500))
        for key in ("z", "st"):
            assert parse_reply(c.command("MEMORY", "USAGE", key)) > 500 * 8
