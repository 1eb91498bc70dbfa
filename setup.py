"""Build step: compile Zyst's hot-path modules with mypyc.

Zyst is written in Python; mypyc compiles these fully typed modules (mypy --strict clean) into
C extensions that run the same code about twice as fast per command. Everything else stays
plain Python. Set ``ZYST_PURE_PYTHON=1`` to install without compiling (no C compiler needed).

Three small extensions are written in C: ``zyst.types.popcount``, BITCOUNT's bit counter, which
uses the CPU's popcount instruction (without it, in a pure-Python install, bits are counted
by bitarray); ``zyst.types.hllcore``, HyperLogLog's hashing and register loops (a pure-Python
install runs the same algorithms from ``zyst/types/hll.py``); and ``zyst.types.geomatch``, the
loop of a geo search (a pure-Python install runs it in Python). See their sources for why.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

HOT_MODULES = [
    "src/zyst/protocol/resp.py",
    "src/zyst/protocol/inline.py",
    "src/zyst/commands/table.py",
    "src/zyst/commands/args.py",
    "src/zyst/commands/strings.py",
    "src/zyst/commands/keys.py",
    "src/zyst/commands/lists.py",
    "src/zyst/commands/hashes.py",
    "src/zyst/commands/sets.py",
    "src/zyst/commands/bitmaps.py",
    "src/zyst/types/bitmap.py",
    "src/zyst/types/bitfield.py",
    "src/zyst/commands/scan.py",
    "src/zyst/commands/zsets.py",
    "src/zyst/types/zset.py",
    "src/zyst/types/stream.py",
    "src/zyst/commands/streams.py",
    "src/zyst/types/streamgroups.py",
    "src/zyst/commands/streamgroups.py",
    "src/zyst/commands/geo.py",
    "src/zyst/types/geohash.py",
    "src/zyst/pqsort.py",
    "src/zyst/keyspace.py",
    "src/zyst/access.py",
    "src/zyst/notify.py",
    "src/zyst/encodings.py",
    "src/zyst/scanning.py",
    "src/zyst/numbers.py",
    "src/zyst/glob.py",
    "src/zyst/client.py",
    "src/zyst/context.py",
    "src/zyst/connection.py",
    "src/zyst/propagation.py",
    "src/zyst/timing.py",
    "src/zyst/persistence/aof.py",
    "src/zyst/persistence/rdb.py",
    "src/zyst/persistence/rdbvalues.py",
    "src/zyst/persistence/rdbfile.py",
    "src/zyst/commands/maxmemory.py",
    "src/zyst/types/hll.py",
    "src/zyst/commands/hll.py",
]

ext_modules = []
if not os.environ.get("ZYST_PURE_PYTHON"):
    from mypyc.build import mypycify

    ext_modules = [
        *mypycify(HOT_MODULES, opt_level="3"),
        Extension("zyst.types.popcount", ["src/zyst/types/popcount.c"], extra_compile_args=["-O2"]),
        Extension("zyst.types.hllcore", ["src/zyst/types/hllcore.c"], extra_compile_args=["-O2"]),
        Extension(
            "zyst.types.streamresp", ["src/zyst/types/streamresp.c"], extra_compile_args=["-O2"]
        ),
        # Doubles as Redis computes them: no fused multiply-add (see geomatch.c).
        Extension(
            "zyst.types.geomatch",
            ["src/zyst/types/geomatch.c"],
            extra_compile_args=["-O2", "-ffp-contract=off"],
        ),
    ]

setup(ext_modules=ext_modules)
