"""Each client's query buffer, seen through CLIENT LIST's ``qbuf`` and ``qbuf-free``, on Zyst
and on redis-server side by side: none before the first read; 16 KB (Redis's PROTO_IOBUF_LEN)
after a small command; given back after two idle seconds; sized for a big argument on its way,
then shrunk towards what the recent reads needed while the client goes on with small commands.
(The figures Redis's own unit/querybuf checks.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import RawConnection, ServerProcess, wait_until

KB = 1024


@pytest.fixture(params=["zyst", "redis"])
def server(
    request: pytest.FixtureRequest, zyst_proc: ServerProcess, redis_server: ServerProcess
) -> Iterator[ServerProcess]:
    yield zyst_proc if request.param == "zyst" else redis_server


def client_fields(admin: RawConnection, client_id: int) -> dict[str, int]:
    """qbuf, qbuf-free, their sum (``buffer``) and idle of the client ``client_id``."""
    listing = admin.command("CLIENT", "LIST", "ID", str(client_id)).decode()
    fields = dict(re.findall(r"([a-z-]+)=(\S*)", listing))
    qbuf, free = int(fields["qbuf"]), int(fields["qbuf-free"])
    return {"qbuf": qbuf, "qbuf-free": free, "buffer": qbuf + free, "idle": int(fields["idle"])}


def client_id(conn: RawConnection) -> int:
    reply = conn.command("CLIENT", "ID")
    assert reply.startswith(b":")
    return int(reply[1:-2])


def test_no_buffer_before_the_first_read_16kb_after_it_none_after_two_idle_seconds(
    server: ServerProcess,
) -> None:
    with RawConnection(server.port) as admin, RawConnection(server.port) as conn:
        ident = client_id(conn)
        assert 16 * KB <= client_fields(admin, ident)["buffer"] < 32 * KB
        # Given back only once idle: the cron visits the client many times before that.
        assert conn.command("CLIENT", "SETNAME", "test_client") == b"+OK\r\n"
        wait_until(
            lambda: client_fields(admin, ident)["buffer"] == 0,
            "the idle client's query buffer to be given back",
        )
        assert client_fields(admin, ident)["idle"] >= 2
        # A read makes it again.
        assert conn.command("PING") == b"+PONG\r\n"
        assert 16 * KB <= client_fields(admin, ident)["buffer"] < 32 * KB


def test_a_connection_that_never_sent_anything_holds_no_buffer(server: ServerProcess) -> None:
    with RawConnection(server.port) as admin, RawConnection(server.port):
        ident = client_id(admin)

        def silent_clients() -> list[str]:
            listing = admin.command("CLIENT", "LIST").decode().splitlines()
            return [line for line in listing if " cmd=NULL " in line and f"id={ident} " not in line]

        wait_until(lambda: len(silent_clients()) == 1, "the silent connection to be accepted")
        fields = dict(re.findall(r"([a-z-]+)=(\S*)", silent_clients()[0]))
        # (Redis's empty buffer has a few bytes of slack: 4.)
        assert int(fields["qbuf"]) == 0 and int(fields["qbuf-free"]) < 64


def test_a_big_argument_grows_the_buffer_and_small_commands_shrink_it_again(
    server: ServerProcess,
) -> None:
    with RawConnection(server.port) as admin, RawConnection(server.port) as conn:
        ident = client_id(conn)
        assert conn.command("SET", "qb-big", b"A" * 400_000) == b"+OK\r\n"
        grown = client_fields(admin, ident)["buffer"]
        assert grown > 32 * KB
        shrunk: list[int] = []

        def smaller() -> bool:
            assert conn.command("SET", "qb-big", b"A" * 100) == b"+OK\r\n"
            shrunk.append(client_fields(admin, ident)["buffer"])
            return shrunk[-1] < grown

        wait_until(smaller, "the query buffer to shrink to the recent peak")
        # Not given back: the client is busy, and room for its recent reads is kept.
        assert 0 < shrunk[-1] < grown
