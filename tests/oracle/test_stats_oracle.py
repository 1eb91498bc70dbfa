"""Counters in INFO that tools read, against Redis: commands run, rejected calls, error
replies and their codes."""

from __future__ import annotations

from tests.conftest import Oracle


def info_fields(raw: bytes) -> dict[str, str]:
    text = raw.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def test_error_and_command_counters_match_redis(oracle: Oracle) -> None:
    oracle.check("CONFIG", "RESETSTAT")
    oracle.check("AUTH", "nopass-configured")
    oracle.check("NOSUCHCOMMAND", "x")
    oracle.check("SET", "k")
    oracle.check("SET", "k", "v")
    oracle.check("LPUSH", "k", "x")
    oracle.check("GET", "k")
    ours, theirs = (info_fields(raw) for raw in oracle.run("INFO", "everything"))
    for field in ("total_error_replies", "errorstat_ERR", "errorstat_WRONGTYPE"):
        assert ours[field] == theirs[field], field
    # Both count the INFO being run; the rejected calls are left out.
    assert ours["total_commands_processed"] == theirs["total_commands_processed"] == "5"
