"""Zyst as a replica: of a real redis-server primary and of a Zyst primary (also in a chain),
under write load, with the link cut and resumed, restarted, its primary's keys expiring, promoted
with REPLICAOF NO ONE; and what its INFO replication, ROLE and CLIENT LIST show compared with
a redis-server replica in the same topology."""

from __future__ import annotations

import io
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hiredis
import pytest
import redis

from tests.conftest import (
    RawConnection,
    ServerProcess,
    free_port,
    redis_process,
    wait_until,
    zyst_process,
)
from tests.server.test_replication_primary import (
    NO_SYNC_DELAY,
    _caught_up,
    _fill,
    _info,
    _linked,
    _one_replica_online,
    _same_data,
    _stopped,
)
from zyst.keyspace import Keyspace
from zyst.persistence.rdbfile import write_rdb

_QUIET = ("--appendonly", "no", "--save", "", *NO_SYNC_DELAY)


def _zyst_replica(workdir: Path, primary: ServerProcess, *extra: str) -> ServerProcess:
    return zyst_process(workdir, *_QUIET, "--replicaof", "127.0.0.1", str(primary.port), *extra)


def _load(port: int, requests: int = 20000) -> None:
    """redis-benchmark's writes at pipeline 8, keys from a range of 2,000."""
    subprocess.run(
        [
            "redis-benchmark", "-p", str(port), "-q", "-r", "2000", "-n", str(requests),
            "-P", "8", "-t", "set,incr,lpush,rpop,sadd,hset,zadd,lpop,spop",
        ],
        capture_output=True, check=True,
    )  # fmt: skip


@contextmanager
def _redis_primary(tmp_path: Path, *extra: str) -> Iterator[tuple[ServerProcess, redis.Redis]]:
    with redis_process(tmp_path / "redis-primary", *NO_SYNC_DELAY, *extra) as proc:
        yield proc, redis.Redis(port=proc.port)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_a_zyst_replica_copies_a_redis_primary_under_load(tmp_path: Path, diskless: str) -> None:
    """The snapshot sized (``$<len>``, from Redis's file) or EOF-marked (streamed)."""
    with _redis_primary(tmp_path, "--repl-diskless-sync", diskless) as (primary_proc, primary):
        _fill(primary)
        redis.Redis(port=primary_proc.port, db=3).set("db3", "yes")
        with _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            redis.Redis(port=primary_proc.port, db=3).set("db3-later", "yes")
            _load(primary_proc.port)
            primary.expire("s", 1000)
            # A transaction arrives as MULTI ... EXEC and is applied whole.
            pipe = primary.pipeline(transaction=True)
            pipe.incr("tx").incr("tx").rpush("txl", "a", "b")
            pipe.execute()
            wait_until(lambda: _caught_up(primary, replica), "the replica to catch up")
            _same_data(primary, replica, (0, 3))
            _one_replica_online(primary, replica_proc.port)
            # Our ACKs reach the primary: its view of our offset catches up with its own.
            wait_until(
                lambda: _info(primary)["slave0"]["offset"] == _info(primary)["master_repl_offset"],
                "the replica's acknowledgement",
            )
            masters = replica.client_list(_type="master")
            assert len(masters) == 1 and masters[0]["flags"] == "M"
            assert masters[0]["addr"] == f"127.0.0.1:{primary_proc.port}"
            offset = _info(replica)["slave_repl_offset"]
            role = replica.execute_command("ROLE")
            assert role[:4] == [b"slave", b"127.0.0.1", primary_proc.port, b"connected"]
            assert role[4] >= offset  # (the primary may have PINGed in between)


@contextmanager
def _beside_redis(
    tmp_path: Path, primary_proc: ServerProcess, *redis_args: str
) -> Iterator[tuple[redis.Redis, redis.Redis, ServerProcess]]:
    """A Zyst replica and a redis-server replica (``redis_args``) of the same primary, both
    synced: (ours, theirs, our process)."""
    other = redis_process(tmp_path / "redis-replica", *NO_SYNC_DELAY, *redis_args)
    other.argv += ["--replicaof", "127.0.0.1", str(primary_proc.port)]
    with other, _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc:
        ours, theirs = redis.Redis(port=replica_proc.port), redis.Redis(port=other.port)
        primary = redis.Redis(port=primary_proc.port)
        for replica in (ours, theirs):
            wait_until(lambda: _caught_up(primary, replica), "the full sync")  # noqa: B023
        yield ours, theirs, replica_proc


def test_writes_to_a_replica_get_redis_errors(tmp_path: Path) -> None:
    """READONLY for its clients' writes as redis-server's replica answers; with
    replica-read-only no they are applied here (and go nowhere)."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        primary.set("k", "v")
        with _beside_redis(tmp_path, primary_proc) as (ours, theirs, _):
            for command in (("SET", "k", "w"), ("INCR", "n"), ("DEL", "k")):
                errors = []
                for replica in (ours, theirs):
                    with pytest.raises(redis.ResponseError) as caught:
                        replica.execute_command(*command)
                    errors.append(str(caught.value))
                assert errors[0] == errors[1]
            # Reads and read-only scripts are served.
            assert ours.get("k") == theirs.get("k") == b"v"
            # WAIT and min-replicas-to-write are a primary's: Redis's error, and no NOREPLICAS.
            errors = []
            for replica in (ours, theirs):
                replica.config_set("min-replicas-to-write", "1")
                with pytest.raises(redis.ResponseError) as caught:
                    replica.wait(1, 0)
                errors.append(str(caught.value))
                with pytest.raises(redis.ReadOnlyError):  # (READONLY: not NOREPLICAS)
                    replica.set("k", "w")
            assert errors[0] == errors[1]
            ours.config_set("replica-read-only", "no")
            assert ours.set("local", "1") is True
            assert ours.get("local") == b"1"
            # A local write is no part of the stream: the offsets still agree.
            assert _caught_up(primary, ours)


def test_a_replica_hides_expired_keys_but_waits_for_its_primary_to_delete_them(
    tmp_path: Path,
) -> None:
    """The primary's active expiry is off, so only its lazy expiry (a read) sends the DEL:
    until then the replica holds the key past its deadline, and its reads miss it."""
    with _redis_primary(tmp_path, "--enable-debug-command", "yes") as (primary_proc, primary):
        primary.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        primary.set("stays", "1")
        with _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            primary.set("brief", "1", px=200)
            wait_until(lambda: _caught_up(primary, replica), "the SET")
            wait_until(lambda: replica.exists("brief") == 0, "the key to look expired")
            assert replica.get("brief") is None
            assert replica.ttl("brief") == -2
            assert replica.dbsize() == 2  # still held: only the primary's DEL removes it
            assert primary.get("brief") is None  # the primary's lazy expiry: its DEL
            wait_until(lambda: replica.dbsize() == 1, "the primary's DEL")
            assert replica.get("stays") == b"1"


def test_a_cut_link_resumes_and_so_does_a_restarted_replica(tmp_path: Path) -> None:
    """A link cut by the primary or by the replica: a partial resync, in the database the
    stream had selected. A replica restarted from a snapshot that carries the replication
    history (its own SAVE; the file of its full sync would do too) continues it as Redis
    does; one restarted from nothing of the kind syncs in full."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        primary.set("before", "1")
        with _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            with _stopped(replica_proc):
                primary.client_kill_filter(_type="replica")
                for n in range(100):
                    primary.set(f"gap{n}", "x" * 1000)
            wait_until(lambda: _caught_up(primary, replica), "the replica to resume")
            _same_data(primary, replica, (0,))
            stats = _info(primary, "stats")
            assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)
            # The replica closes the link itself (CLIENT KILL TYPE master): it resumes too, in
            # the database the stream had selected (the primary does not SELECT it again).
            db3 = redis.Redis(port=primary_proc.port, db=3)
            db3.set("in-db3", "1")
            wait_until(lambda: _caught_up(primary, replica), "the write in db 3")
            assert replica.client_kill_filter(_type="master") == 1
            db3.set("after-kill", "1")
            wait_until(lambda: _caught_up(primary, replica), "the replica to resume")
            assert redis.Redis(port=replica_proc.port, db=3).get("after-kill") == b"1"
            assert replica.get("after-kill") is None
            assert _info(primary, "stats")["sync_partial_ok"] == 2
            assert replica.save() is True
        db3.set("while-down", "1")  # (no SELECT: the stream still has database 3 selected)
        with _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _caught_up(primary, replica), "the replica to resume")
            _same_data(primary, replica, (0, 3))
            stats = _info(primary, "stats")
            assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 3)
        (tmp_path / "zyst" / "dump.rdb").unlink()
        primary.set("while-down-again", "1")
        with _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _caught_up(primary, replica), "the full sync after a restart")
            _same_data(primary, replica, (0, 3))
            assert _info(primary, "stats")["sync_full"] == 2


def test_zyst_replicates_zyst_in_a_chain_and_a_promoted_replica_continues_the_history(
    tmp_path: Path,
) -> None:
    """A → B → C, all Zyst, under load: the same data on all three, WAIT counts B, and B
    adds nothing of its own to the stream it relays (its PINGs to C would move its offset
    past A's). C's full sync from B starts in the database A's stream had selected (the
    snapshot's repl-stream-db: no SELECT follows it). Then B is promoted (REPLICAOF NO ONE):
    C continues with B from the backlog (PSYNC2: no full sync), and A, made a replica of B,
    continues too."""
    often = ("--repl-ping-replica-period", "1")
    with zyst_process(tmp_path / "a", *_QUIET, *often) as a_proc:
        a = redis.Redis(port=a_proc.port)
        a3 = redis.Redis(port=a_proc.port, db=3)
        _fill(a)
        a3.set("db3", "yes")
        with _zyst_replica(tmp_path / "b", a_proc, *often) as b_proc:
            b = redis.Redis(port=b_proc.port)
            wait_until(lambda: _linked(b), "B's full sync")
            a3.set("db3-before-c", "1")  # A's stream now has database 3 selected
            wait_until(lambda: _caught_up(a, b), "B")
            with _zyst_replica(tmp_path / "c", b_proc) as c_proc:
                c = redis.Redis(port=c_proc.port)
                wait_until(lambda: _linked(c), "C's full sync")
                a3.set("db3-after-c", "1")  # no SELECT before it in the stream
                wait_until(lambda: _caught_up(a, c), "C")
                assert redis.Redis(port=c_proc.port, db=3).get("db3-after-c") == b"1"
                assert c.exists("db3-after-c") == 0
                _load(a_proc.port)
                a.set("acked", "1")
                assert a.wait(1, 60_000) == 1  # (a bound for a broken WAIT, not a timing)
                # Two of A's PINGs (one a second) pass along the chain: B's own, were it to
                # send any, would have moved its offset past A's meanwhile.
                pinged = _info(a)["master_repl_offset"] + 2 * len(b"*1\r\n$4\r\nPING\r\n")
                wait_until(lambda: _info(a)["master_repl_offset"] >= pinged, "A's PINGs")
                wait_until(lambda: _caught_up(a, b) and _caught_up(a, c), "B and C")
                _same_data(a, b, (0, 3))
                _same_data(a, c, (0, 3))
                # One history along the chain: the same ID and offsets.
                ids = {_info(server)["master_replid"] for server in (a, b, c)}
                assert len(ids) == 1
                # Promotion.
                assert b.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
                info_b = _info(b)
                assert info_b["role"] == "master"
                assert info_b["master_replid2"] == ids.pop()
                assert info_b["second_repl_offset"] == info_b["master_repl_offset"] + 1
                b.set("on-b", "1")
                wait_until(lambda: c.get("on-b") == b"1", "C to follow B's own writes")
                a.execute_command("REPLICAOF", "127.0.0.1", b_proc.port)
                wait_until(lambda: _caught_up(b, a), "A to follow B")
                assert a.get("on-b") == b"1"
                stats = _info(b, "stats")
                # C reconnected after the new ID, A came from the same history: no full sync.
                assert stats["sync_full"] == 1, stats
                assert stats["sync_partial_ok"] == 2, stats
                _same_data(b, a, (0, 3))
                _same_data(b, c, (0, 3))


def _field_names(client: redis.Redis) -> list[str]:
    return [name if not name.startswith("slave") else "slaveN" for name in _info(client)]


def test_replica_fields_and_role_have_redis_shape(tmp_path: Path) -> None:
    """A Zyst replica and a redis-server replica of the same primary: the same INFO
    replication field names in the same order and the same ROLE, linked and with the link
    down (a primary that is not there)."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        primary.set("k", "v")
        with _beside_redis(tmp_path, primary_proc) as (ours, theirs, _):
            assert _field_names(ours) == _field_names(theirs)
            role_ours = ours.execute_command("ROLE")
            role_theirs = theirs.execute_command("ROLE")
            assert role_ours[:4] == role_theirs[:4]
            assert ours.execute_command("HELLO", "3")[b"role"] == b"replica"
            nowhere = free_port()
            for replica in (ours, theirs):
                assert replica.execute_command("REPLICAOF", "127.0.0.1", nowhere) == b"OK"
                wait_until(
                    lambda: _info(replica)["master_link_status"] == "down",  # noqa: B023
                    "the link to go down",
                )
            assert _field_names(ours) == _field_names(theirs)
            assert ours.execute_command("ROLE")[:3] == theirs.execute_command("ROLE")[:3]
            again = [
                replica.execute_command("REPLICAOF", "127.0.0.1", nowhere)
                for replica in (ours, theirs)
            ]
            assert again[0] == again[1] == b"OK Already connected to specified master"
            for replica in (ours, theirs):
                assert replica.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
            assert _field_names(ours) == _field_names(theirs)
            for args in (("127.0.0.1", "70000"), ("127.0.0.1", "x"), ("127.0.0.1", "-1")):
                errors = []
                for replica in (ours, theirs):
                    with pytest.raises(redis.ResponseError) as caught:
                        replica.execute_command("REPLICAOF", *args)
                    errors.append(str(caught.value))
                assert errors[0] == errors[1]


def test_a_replica_authenticates_with_masterauth_and_masteruser(tmp_path: Path) -> None:
    with _redis_primary(tmp_path, "--requirepass", "sesame") as (primary_proc, _):
        primary = redis.Redis(port=primary_proc.port, password="sesame")
        primary.acl_setuser(
            "repl", enabled=True, passwords=["+pw"], commands=["+@all"], keys=["*"], channels=["*"]
        )
        primary.set("k", "v")
        with _zyst_replica(tmp_path / "zyst", primary_proc, "--masterauth", "sesame") as proc:
            replica = redis.Redis(port=proc.port)
            wait_until(lambda: _caught_up(primary, replica), "the sync with AUTH")
            assert replica.get("k") == b"v"
            # masteruser: AUTH with a user name; CONFIG SET takes effect at the next link.
            replica.config_set("masteruser", "repl")
            replica.config_set("masterauth", "pw")
            assert replica.client_kill_filter(_type="master") == 1
            primary.set("k2", "v2")
            wait_until(lambda: _caught_up(primary, replica), "the sync as user repl")
            users = [c["user"] for c in primary.client_list(_type="replica")]
            assert users == ["repl"]


def test_a_replica_without_its_primary_refuses_stale_reads_when_told_to(tmp_path: Path) -> None:
    """replica-serve-stale-data no: while the link is down only the commands flagged stale
    run, the others get MASTERDOWN (inside MULTI the transaction fails), as on redis-server;
    with the link up everything runs again."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        primary.set("k", "v")
        stale = ("--replica-serve-stale-data", "no")
        with _beside_redis(tmp_path, primary_proc, *stale) as (ours, theirs, _):
            ours.config_set("replica-serve-stale-data", "no")
            nowhere = free_port()
            for replica in (ours, theirs):
                replica.execute_command("REPLICAOF", "127.0.0.1", nowhere)
                wait_until(
                    lambda: _info(replica)["master_link_status"] == "down",  # noqa: B023
                    "the link to go down",
                )
            for command in (("GET", "k"), ("PING",), ("DBSIZE",), ("EXEC",)):
                errors = []
                for replica in (ours, theirs):
                    with pytest.raises(redis.ResponseError) as caught:
                        replica.execute_command(*command)
                    errors.append(str(caught.value))
                assert errors[0] == errors[1], command
                expected = "EXEC without MULTI" if command == ("EXEC",) else "Link with MASTER"
                assert expected in errors[0]
            outcomes = []
            for replica in (ours, theirs):
                pipe = replica.pipeline(transaction=True)
                pipe.execute_command("INFO", "server").get("k")
                with pytest.raises(redis.ResponseError) as caught:
                    pipe.execute()
                outcomes.append(str(caught.value))
            assert outcomes[0] == outcomes[1]
            assert ours.info("replication")["role"] == "slave"  # INFO is flagged stale
            assert ours.execute_command("REPLICAOF", "127.0.0.1", primary_proc.port) == b"OK"
            wait_until(lambda: _caught_up(primary, ours), "the link")
            assert ours.get("k") == b"v"


def test_a_replica_ignores_maxmemory_unless_told_otherwise(tmp_path: Path) -> None:
    """replica-ignore-maxmemory yes (the default): a replica far over its maxmemory evicts
    nothing, neither while the stream writes nor when its clients read, and answers no OOM;
    set to no, its own clients' commands evict as a primary's would."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        pipe = primary.pipeline(transaction=False)
        for n in range(3000):
            pipe.set(f"k{n}", b"x" * 1000)
        pipe.execute()
        limits = ("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-lru")
        with _zyst_replica(tmp_path / "zyst", primary_proc, *limits) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _caught_up(primary, replica), "the full sync")
            primary.set("later", b"y" * 1000)
            wait_until(lambda: _caught_up(primary, replica), "the stream")
            for n in range(0, 3000, 10):
                assert replica.get(f"k{n}") == b"x" * 1000
            assert replica.dbsize() == primary.dbsize() == 3001
            assert _info(replica, "stats")["evicted_keys"] == 0
            replica.config_set("replica-ignore-maxmemory", "no")
            replica.get("k1")
            wait_until(lambda: replica.dbsize() < 3001, "eviction on the replica's own")


def test_a_replica_with_the_aof_on_keeps_what_it_replicated(tmp_path: Path) -> None:
    """The AOF of a replica is rewritten from the snapshot of its full sync and then takes the
    stream: restarted on its own (no primary), it has the primary's dataset."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        _fill(primary)
        aof = ("--appendonly", "yes", "--appendfsync", "always")
        replica_dir = tmp_path / "zyst"
        with _zyst_replica(replica_dir, primary_proc, *aof) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _caught_up(primary, replica), "the full sync")
            wait_until(
                lambda: (
                    _info(replica, "persistence")["aof_rewrite_in_progress"] == 0
                    and _info(replica, "persistence")["aof_rewrites"] >= 1
                ),
                "the AOF rewrite after the sync",
            )
            _load(primary_proc.port, requests=5000)
            primary.set("last", "1")
            wait_until(lambda: _caught_up(primary, replica), "the stream")
        with zyst_process(replica_dir, "--appendonly", "yes") as alone_proc:
            _same_data(primary, redis.Redis(port=alone_proc.port), (0,))


def _let_go(server_port: int, primary_port: int) -> bytes:
    """What a client blocked in BLPOP on the server receives when the server is made a
    replica of ``primary_port``, up to its connection's close."""
    server = redis.Redis(port=server_port)
    with RawConnection(server_port) as waiting:
        waiting.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        wait_until(lambda: _info(server, "clients")["blocked_clients"] == 1, "the BLPOP")
        server.execute_command("REPLICAOF", "127.0.0.1", primary_port)
        return waiting.read_until_closed()


def test_clients_blocked_on_keys_are_let_go_when_the_server_turns_replica(
    tmp_path: Path,
) -> None:
    """A BLPOP waiting on a primary gets Redis's UNBLOCKED error and its connection closes when
    the server becomes a replica (as on redis-server): the primary's pushes are not its to
    serve."""
    with _redis_primary(tmp_path) as (primary_proc, primary):
        alone = redis_process(tmp_path / "redis-alone")
        with alone, zyst_process(tmp_path / "zyst", *_QUIET) as zyst_proc:
            theirs = _let_go(alone.port, primary_proc.port)
            assert theirs.startswith(b"-UNBLOCKED force unblock")
            assert _let_go(zyst_proc.port, primary_proc.port) == theirs
            ours = redis.Redis(port=zyst_proc.port)
            wait_until(lambda: _caught_up(primary, ours), "the sync")
            primary.rpush("q", "a", "b")
            wait_until(lambda: _caught_up(primary, ours), "the push")
            assert ours.lrange("q", 0, -1) == [b"a", b"b"]


class _FakePrimary:
    """A primary that speaks the protocol by hand, one replica link at a time: the test says
    exactly which bytes the replica gets, and reads what it sends back."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.settimeout(30)
        self.conn: socket.socket | None = None
        self.reader = hiredis.Reader()

    def accept(self) -> None:
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(30)
        self.reader = hiredis.Reader()

    def command(self) -> list[bytes]:
        """The next command the replica sent."""
        assert self.conn is not None
        while True:
            got = self.reader.gets()
            if got is not False:
                return list(got)
            chunk = self.conn.recv(65536)
            assert chunk, "the replica closed the link"
            self.reader.feed(chunk)

    def handshake(self) -> list[bytes]:
        """Answer PING and the REPLCONFs; returns the PSYNC command."""
        while True:
            argv = self.command()
            name = argv[0].upper()
            if name == b"PSYNC":
                return argv
            self.send(b"+PONG\r\n" if name == b"PING" else b"+OK\r\n")

    def ack(self) -> int:
        """The offset of the replica's next REPLCONF ACK."""
        argv = self.command()
        assert argv[:2] == [b"REPLCONF", b"ACK"], argv
        return int(argv[2])

    def send(self, data: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


def _resp(*commands: tuple[str, ...]) -> bytes:
    return b"".join(
        b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in c)
        for c in commands
    )


def test_an_open_multi_is_left_out_of_the_offset_and_sent_again_after_a_cut(
    tmp_path: Path,
) -> None:
    """Byte by byte, with a primary played by the test: the snapshot's EOF mark arrives split
    and with the stream right behind it in one write; a link cut inside MULTI leaves the
    replica's offset before MULTI (its first ACK says so, and its PSYNC asks for the byte
    after), so the whole transaction sent again is applied once; a GETACK is answered with
    the offset before it."""
    fake = _FakePrimary()
    replid = "a" * 40
    mark = b"m" * 40
    snapshot = io.BytesIO()
    write_rdb(snapshot, Keyspace(), [])
    try:
        with _zyst_replica_of_port(tmp_path / "zyst", fake.port) as replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            fake.accept()
            assert fake.handshake() == [b"PSYNC", b"?", b"-1"]
            fake.send(b"+FULLRESYNC %s 100\r\n$EOF:%s\r\n" % (replid.encode(), mark))
            body = snapshot.getvalue()
            fake.send(body + mark[:10])
            opened = _resp(("MULTI",), ("SET", "a", "1"))
            fake.send(mark[10:] + opened)
            assert fake.ack() == 100  # the ACK after a diskless sync: MULTI not counted
            fake.conn.close()  # type: ignore[union-attr]
            fake.accept()
            assert fake.handshake() == [b"PSYNC", replid.encode(), b"101"]
            fake.send(b"+CONTINUE\r\n")
            transaction = _resp(("MULTI",), ("SET", "a", "1"), ("INCR", "b"), ("EXEC",))
            fake.send(transaction + _resp(("REPLCONF", "GETACK", "*")))
            assert fake.ack() == 100 + len(transaction)
            assert replica.get("a") == b"1"
            assert replica.get("b") == b"1"  # applied once
            info = _info(replica)
            getack = len(_resp(("REPLCONF", "GETACK", "*")))
            assert info["slave_repl_offset"] == 100 + len(transaction) + getack
            assert info["master_replid"] == replid
    finally:
        fake.close()


def _zyst_replica_of_port(workdir: Path, port: int) -> ServerProcess:
    return zyst_process(workdir, *_QUIET, "--replicaof", "127.0.0.1", str(port))


def test_monitor_on_a_replica_shows_its_primarys_commands(tmp_path: Path) -> None:
    """As on redis-server: the stream's commands reach MONITOR, named by the primary's
    address."""
    with (
        _redis_primary(tmp_path) as (primary_proc, primary),
        _zyst_replica(tmp_path / "zyst", primary_proc) as replica_proc,
    ):
        replica = redis.Redis(port=replica_proc.port)
        wait_until(lambda: _linked(replica), "the full sync")
        with RawConnection(replica_proc.port) as monitor:
            assert monitor.command("MONITOR") == b"+OK\r\n"
            primary.set("seen", "1")
            lines = [monitor.read_reply()]
            while b'"seen"' not in lines[-1]:
                lines.append(monitor.read_reply())
        assert lines[-1].endswith(b' "SET" "seen" "1"\r\n')
        assert f"[0 127.0.0.1:{primary_proc.port}]".encode() in lines[-1]
