"""Eviction quality against redis-server: under allkeys-lru and allkeys-lfu, the same seeded
Zipf cache-aside workload, each server capped at the same share of what the dataset costs it;
Zyst's hit ratio must be within 10% of Redis's.

The workload and its measurement are bench/eviction.py's (run small here, its figures read as
JSON); the printed ratios are the figures the issue asks for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_hit_ratios_are_within_ten_percent_of_redis() -> None:
    argv = [
        *(sys.executable, str(ROOT / "bench" / "eviction.py"), "--json"),
        *("--keys", "20000", "--ops", "60000", "--policies", "allkeys-lru,allkeys-lfu"),
    ]
    done = subprocess.run(argv, capture_output=True, check=True, timeout=600, cwd=ROOT)
    results = json.loads(done.stdout)
    for policy, by_server in results.items():
        ours = by_server["zyst"]["hit_ratio"]
        theirs = by_server["redis"]["hit_ratio"]
        print(f"{policy}: hit ratio zyst {ours:.4f} redis {theirs:.4f}")
        assert ours >= 0.9 * theirs, (policy, ours, theirs)
        # Both were at their limit, with keys evicted.
        for figures in by_server.values():
            assert figures["evicted_keys"] > 0
            assert figures["used_memory"] <= figures["maxmemory"] * 1.01
