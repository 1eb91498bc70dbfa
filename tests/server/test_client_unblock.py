"""CLIENT UNBLOCK: one client ends another's wait, run on Zyst and on redis-server with the raw
bytes compared (each server's own client ids are looked up with CLIENT ID)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Oracle, RawConnection
from tests.server.test_blocking import Scenario, both, read_exactly, send, wait_blocked

__all__ = ["both"]  # the fixture, imported for the tests below


def client_id(conn: RawConnection) -> bytes:
    return conn.command("CLIENT", "ID")[1:-2]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("reason", [(), ("TIMEOUT",), ("error",)])
def test_unblock_ends_the_wait_and_the_pipeline_goes_on(
    both: Callable[[Scenario], None], protocol: int, reason: tuple[str, ...]
) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as waiter:
            probe.command("CONFIG", "RESETSTAT")
            hello = waiter.command("HELLO", str(protocol))[:1]
            target = client_id(waiter)
            # BLPOP, then a PING pipelined behind it: the PING waits for the BLPOP's end.
            send(waiter, "BLPOP", "q", "0")
            send(waiter, "PING")
            wait_blocked(probe, 1)
            unblocked = probe.command("CLIENT", "UNBLOCK", target, *reason)
            got = read_exactly(waiter, 2)
            again = probe.command("CLIENT", "UNBLOCK", target, *reason)
            wait_blocked(probe, 0)
            # ERROR counts an UNBLOCKED error reply; TIMEOUT counts none.
            return [hello, unblocked, got, again, probe.command("INFO", "errorstats")]

    both(scenario)


def test_unblock_of_a_client_that_does_not_wait(both: Callable[[Scenario], None]) -> None:
    def scenario(port: int) -> list[bytes]:
        with RawConnection(port) as probe, RawConnection(port) as other:
            return [
                probe.command("CLIENT", "UNBLOCK", client_id(other)),
                probe.command("CLIENT", "UNBLOCK", client_id(probe)),
                probe.command("CLIENT", "UNBLOCK", "999999"),
                other.command("PING"),
            ]

    both(scenario)


def test_unblock_errors(oracle: Oracle) -> None:
    for args in [
        ("CLIENT", "UNBLOCK"),
        ("CLIENT", "UNBLOCK", "x"),
        ("CLIENT", "UNBLOCK", "1", "foo"),
        ("CLIENT", "UNBLOCK", "x", "foo"),
        ("CLIENT", "UNBLOCK", "1", "timeout", "extra"),
        # The reason is compared as a C string, up to a NUL.
        ("CLIENT", "UNBLOCK", "99999999", "timeout\0x"),
        ("CLIENT", "UNBLOCK", "x", "ERROR\0"),
        ("CLIENT", "UNBLOCK", "-1"),
        ("CLIENT", "UNBLOCK", "99999999999999999999"),
        ("CLIENT", "HELP"),
    ]:
        ours, theirs = oracle.run(*args)
        if args[1] == "HELP":
            # Zyst lists only the subcommands it has; UNBLOCK's two lines are Redis's.
            line = (
                b"+UNBLOCK <clientid> [TIMEOUT|ERROR]\r\n"
                b"+    Unblock the specified blocked client.\r\n"
            )
            assert line in ours and line in theirs
        else:
            assert ours == theirs, (args, ours, theirs)
