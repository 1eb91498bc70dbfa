"""The client-limit settings and INFO clients, compared byte for byte with redis-server:
CONFIG GET of each setting (defaults), CONFIG SET's range errors, and the INFO clients fields
in Redis's order."""

from __future__ import annotations

import pytest

from tests.conftest import Oracle


@pytest.mark.parametrize(
    "name", ["tcp-keepalive", "timeout", "maxclients", "tcp-backlog", "client-output-buffer-limit"]
)
def test_config_get_of_client_limit_settings(oracle: Oracle, name: str) -> None:
    oracle.check("CONFIG", "GET", name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tcp-keepalive", "-1"),
        ("tcp-keepalive", "2147483648"),
        ("tcp-keepalive", "ten"),
        ("timeout", "-1"),
        ("maxclients", "0"),
    ],
)
def test_config_set_out_of_range(oracle: Oracle, name: str, value: str) -> None:
    oracle.check("CONFIG", "SET", name, value)


def test_config_set_tcp_keepalive_and_timeout_round_trip(oracle: Oracle) -> None:
    try:
        oracle.check("CONFIG", "SET", "tcp-keepalive", "60", "timeout", "3600")
        oracle.check("CONFIG", "GET", "tcp-keepalive")
        oracle.check("CONFIG", "GET", "timeout")
    finally:
        oracle.check("CONFIG", "SET", "tcp-keepalive", "300", "timeout", "0")


def test_info_clients_names_its_fields_in_redis_order(oracle: Oracle) -> None:
    ours, theirs = oracle.run("INFO", "clients")
    assert [line.split(b":")[0] for line in ours.split(b"\r\n")[1:]] == [
        line.split(b":")[0] for line in theirs.split(b"\r\n")[1:]
    ]
