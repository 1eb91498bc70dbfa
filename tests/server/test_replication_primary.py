"""Zyst as a replication primary, with real redis-server replicas (``--replicaof``): the full
sync, the stream under load, expiries, a dropped link resumed from the backlog (and the full
sync again when the backlog lost the gap), and what INFO replication, ROLE and CLIENT LIST show
compared with a redis-server primary in the same topology."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import RawConnection, ServerProcess, redis_process, wait_until, zyst_process
from tests.crash.dataset import dump_dataset


def _info(client: redis.Redis, section: str = "replication") -> dict[str, Any]:
    return dict(client.info(section))


def _linked(replica: redis.Redis) -> bool:
    info = _info(replica)
    return info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")


def _caught_up(primary: redis.Redis, replica: redis.Redis) -> bool:
    return bool(
        _linked(replica)
        and _info(replica)["slave_repl_offset"] == _info(primary)["master_repl_offset"]
    )


def _same_data(primary: redis.Redis, replica: redis.Redis, dbs: tuple[int, ...]) -> None:
    """Both hold the same keys, values and absolute expiry times in every database."""
    ours = dump_dataset(primary)
    for db in dbs:
        assert ours.get(db), f"database {db} of the primary is empty: the comparison proves nothing"
    assert dump_dataset(replica) == ours


def _one_replica_online(primary: redis.Redis, port: int) -> None:
    """``primary`` streams to one replica, the one on ``port``, after one full sync."""
    info = _info(primary)
    assert info["connected_slaves"] == 1
    assert info["slave0"]["state"] == "online"
    assert info["slave0"]["port"] == port
    assert _info(primary, "stats")["sync_full"] == 1


@contextmanager
def _stopped(server: ServerProcess) -> Iterator[None]:
    """``server`` frozen (SIGSTOP: its sockets stay open, it reads nothing) for the block."""
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


# (A full sync starts at once rather than after Redis's 5 s wait for more replicas.)
NO_SYNC_DELAY = ("--repl-diskless-sync-delay", "0")


@contextmanager
def _pair(tmp_path: Path, *primary_args: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A Zyst primary and a redis-server replica of it (started once the primary has data)."""
    quiet = ("--appendonly", "no", "--save", "", *NO_SYNC_DELAY)
    with zyst_process(tmp_path / "zyst", *quiet, *primary_args) as p:
        replica = redis_process(tmp_path / "redis")
        replica.argv += ["--replicaof", "127.0.0.1", str(p.port)]
        yield p, replica
        replica.stop()


def _fill(client: redis.Redis) -> None:
    client.set("s", "v")
    client.rpush("l", *range(100))
    client.hset("h", mapping={f"f{n}": n for n in range(50)})
    client.sadd("set", *range(20))
    client.zadd("z", {f"m{n}": n / 3 for n in range(40)})
    client.xadd("x", {"f": "v", "g": "w"})
    client.pfadd("hll", *range(300))
    client.geoadd("geo", (13.361389, 38.115556, "Palermo"))
    client.set("ttl", "v", ex=1000)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_a_redis_replica_copies_a_zyst_primary_under_load(tmp_path: Path, diskless: str) -> None:
    """The snapshot through a file (disk-based sync) or streamed from the child (diskless)."""
    with _pair(tmp_path, "--repl-diskless-sync", diskless) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        _fill(primary)
        redis.Redis(port=zyst.port, db=3).set("db3", "yes")
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            # Writes in another database and back: the stream must SELECT each time.
            redis.Redis(port=zyst.port, db=3).set("db3-later", "yes")
            primary.set("db0-later", "yes")
            load = subprocess.run(
                [
                    "redis-benchmark", "-p", str(zyst.port), "-q", "-r", "2000", "-n", "20000",
                    "-P", "8", "-t", "set,incr,lpush,rpop,sadd,hset,zadd,lpop",
                ],
                capture_output=True, check=True,
            )  # fmt: skip
            assert load.returncode == 0
            primary.expire("s", 1000)
            wait_until(lambda: _caught_up(primary, replica), "the replica to catch up")
            _same_data(primary, replica, (0, 3))
            _one_replica_online(primary, replica_proc.port)
            kinds = [line for line in primary.client_list() if "S" in line["flags"]]
            assert len(kinds) == 1 and kinds[0]["cmd"] in ("psync", "replconf")
            assert primary.client_list(_type="replica") == kinds
            role = primary.execute_command("ROLE")
            assert role[0] == b"master" and role[2] == [
                [b"127.0.0.1", str(replica_proc.port).encode(), role[2][0][2]]
            ]


@contextmanager
def _big_primary(tmp_path: Path) -> Iterator[ServerProcess]:
    """A Zyst primary holding 24 MB (6,000 random values of 4,000 bytes), logging at debug."""
    settings = ("--save", "", *NO_SYNC_DELAY, "--loglevel", "debug")
    with zyst_process(tmp_path / "zyst", *settings) as z:
        pipe = redis.Redis(port=z.port).pipeline(transaction=False)
        for n in range(6000):
            pipe.set(f"big{n}", os.urandom(4000))
        pipe.execute()
        yield z


@contextmanager
def _stalled_replica(primary: ServerProcess, diskless: bool) -> Iterator[RawConnection]:
    """A replica link that asked for a full sync (diskless: with ``capa eof``) and has read
    nothing, until the primary paused the transfer for it."""
    with RawConnection(primary.port) as replica:
        if diskless:
            replica.command("REPLCONF", "capa", "eof", "capa", "psync2")
        replica.send_raw(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        wait_until(lambda: "waiting for the replicas" in primary.log.read_text(), "the pause")
        yield replica


def _full_sync_snapshot(replica: RawConnection, diskless: bool) -> bytes:
    """The snapshot a full sync sends ``replica``, after ``+FULLRESYNC``: EOF-marked
    (diskless) or sized."""
    received = b""
    while received.count(b"\r\n") < 2:
        received += replica.sock.recv(1 << 16)
    header, framing, body = received.split(b"\r\n", 2)
    assert header.startswith(b"+FULLRESYNC ")
    if diskless:
        assert framing.startswith(b"$EOF:")
        mark = framing[5:]
        while not body.endswith(mark):
            body += replica.sock.recv(1 << 20)
        return body[: -len(mark)]
    size = int(framing[1:])
    while len(body) < size:
        body += replica.sock.recv(1 << 20)
    return body


@pytest.mark.parametrize("diskless", [True, False])
def test_a_slow_replica_sets_the_pace_of_a_full_sync(tmp_path: Path, diskless: bool) -> None:
    """A replica that reads nothing during a full sync of 24 MB: the primary stops reading
    the child's pipe (diskless) or the snapshot file (disk-based), logged, rather than hold
    the snapshot for it, and the transfer is whole once the replica reads: the framing (EOF
    mark, or size), then an RDB that loads."""
    with _big_primary(tmp_path) as z, _stalled_replica(z, diskless) as replica:
        snapshot = _full_sync_snapshot(replica, diskless)
        assert snapshot.startswith(b"REDIS") and len(snapshot) > 24_000_000
        (tmp_path / "copy").mkdir()
        (tmp_path / "copy" / "dump.rdb").write_bytes(snapshot)
        with zyst_process(tmp_path / "copy", "--appendonly", "no") as copy:
            assert redis.Redis(port=copy.port).dbsize() == 6000


def test_a_diskless_snapshot_stops_when_its_last_replica_leaves(tmp_path: Path) -> None:
    """The child making a diskless snapshot for one replica, which leaves mid-transfer, is
    stopped (as Redis's "last replica dropped, killing fork child"); a BGSAVE then runs."""
    with _big_primary(tmp_path) as z:
        primary = redis.Redis(port=z.port)
        # (BGSAVE while the diskless child runs: an RDB child already, as in Redis.)
        stalled = _stalled_replica(z, True)
        with stalled, pytest.raises(redis.ResponseError, match="already in progress"):
            primary.bgsave()
        wait_until(lambda: "killing fork child" in z.log.read_text(), "the child to be stopped")
        wait_until(lambda: _info(primary, "persistence")["rdb_bgsave_in_progress"] == 0, "it")
        assert primary.bgsave() is True


def test_keys_expiring_on_the_primary_disappear_from_the_replica(tmp_path: Path) -> None:
    with _pair(tmp_path) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        primary.set("stays", "1")
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            primary.set("brief", "1", px=200)
            primary.set("long", "1", ex=1000)
            wait_until(lambda: replica.exists("long") == 1, "the SET to arrive")
            assert replica.pttl("long") > 0
            # The replica never expires keys itself: the primary's DEL removes it.
            wait_until(lambda: primary.exists("brief") == 0, "the primary to expire it")
            wait_until(lambda: _caught_up(primary, replica), "the DEL to arrive")
            assert replica.execute_command("DBSIZE") == 2


def test_a_restarted_redis_replica_resumes_from_its_snapshot(tmp_path: Path) -> None:
    """The snapshot of the full sync carries our replication ID and offset (``repl-id``,
    ``repl-offset``), which redis-server keeps in its dump.rdb: restarted, it loads that file
    and continues from there with a partial resync."""
    with _pair(tmp_path) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        _fill(primary)
        with replica_proc:
            wait_until(lambda: _linked(redis.Redis(port=replica_proc.port)), "the full sync")
        primary.set("while-down", "1")
        primary.delete("s")
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _caught_up(primary, replica), "the sync after the restart")
            _same_data(primary, replica, (0,))
            stats = _info(primary, "stats")
            assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)


def _replica_client_id(primary: redis.Redis) -> int:
    ids = [line["id"] for line in primary.client_list(_type="replica")]
    assert len(ids) == 1
    return int(ids[0])


@pytest.mark.parametrize("backlog", ["1mb", "16kb"])
def test_a_dropped_link_resumes_from_the_backlog_or_syncs_again(
    tmp_path: Path, backlog: str
) -> None:
    """The link is cut while the replica is stopped and 100 KB are written: a backlog of 1 MB
    still holds them (+CONTINUE, counted in sync_partial_ok), one of 16 KB does not (a full
    sync again, and sync_partial_err)."""
    with _pair(tmp_path, "--repl-backlog-size", backlog) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        primary.set("before", "1")
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            with _stopped(replica_proc):
                primary.client_kill_filter(_id=_replica_client_id(primary))
                for n in range(100):
                    primary.set(f"gap{n}", "x" * 1000)
            wait_until(lambda: _caught_up(primary, replica), "the replica to catch up")
            _same_data(primary, replica, (0,))
            stats = _info(primary, "stats")
            if backlog == "1mb":
                assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)
            else:
                assert (stats["sync_full"], stats["sync_partial_err"]) == (2, 1)
                assert stats["sync_partial_ok"] == 0


def test_a_replica_is_held_to_the_replica_output_limit_not_the_normal_one(tmp_path: Path) -> None:
    """The snapshot (200 KB) passes a 64 KB limit of normal clients, which a replica is not;
    the replica class's hard limit drops a replica that stopped reading, which then syncs
    again (from the backlog, whose 400 KB also pass the limit, or from scratch)."""
    limits = "normal 64kb 0 0 replica 256kb 0 0 pubsub 32mb 8mb 60"
    with _pair(tmp_path, "--client-output-buffer-limit", limits) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        for n in range(200):
            primary.set(f"big{n}", os.urandom(1000))
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            # 100 KB in the stream at once: past the normal class's limit, within the
            # replica class's (the test's own client never reads it: its limit is 64 KB).
            primary.set("large", os.urandom(100_000))
            wait_until(lambda: _caught_up(primary, replica), "the large value")
            assert replica.strlen("large") == 100_000
            primary.delete("large")
            assert _info(primary)["connected_slaves"] == 1
            assert _info(primary, "stats")["sync_full"] == 1
            with _stopped(replica_proc):
                value = b"x" * 50_000  # (below the 64 KB of normal clients: the test reads it)
                # Sent until the link is dropped: the socket's buffers, then the limit.
                for n in range(2000):
                    primary.set(f"flood{n % 50}", value)
                    if _info(primary)["connected_slaves"] == 0:
                        break
                assert _info(primary)["connected_slaves"] == 0
            wait_until(lambda: _caught_up(primary, replica), "the replica to sync again")
            _same_data(primary, replica, (0,))
            stats = _info(primary, "stats")
            assert stats["sync_full"] + stats["sync_partial_ok"] == 2


def _field_names(client: redis.Redis) -> list[str]:
    return [name if not name.startswith("slave") else "slaveN" for name in _info(client)]


def test_replication_fields_and_role_have_redis_shape(tmp_path: Path) -> None:
    """The same topology (a primary, one replica) with each kind of primary: the same INFO
    replication field names in the same order, the same ROLE shape."""
    with _pair(tmp_path) as (zyst, zyst_replica_proc):
        redis_primary_proc = redis_process(tmp_path / "redis-primary", *NO_SYNC_DELAY)
        with redis_primary_proc:
            other = redis_process(tmp_path / "redis-replica2")
            other.argv += ["--replicaof", "127.0.0.1", str(redis_primary_proc.port)]
            with zyst_replica_proc, other:
                ours = redis.Redis(port=zyst.port)
                theirs = redis.Redis(port=redis_primary_proc.port)
                for primary, replica_port in ((ours, zyst_replica_proc.port), (theirs, other.port)):
                    primary.set("k", "v")
                    replica = redis.Redis(port=replica_port)
                    wait_until(lambda: _caught_up(primary, replica), "the replica")  # noqa: B023
                    # (ROLE lists a replica once it is online: after its first ACK for Redis.)
                    wait_until(
                        lambda: len(primary.execute_command("ROLE")[2]) == 1,  # noqa: B023
                        "ROLE to list the replica",
                    )
                assert _field_names(ours) == _field_names(theirs)
                assert _info(ours)["repl_backlog_active"] == _info(theirs)["repl_backlog_active"]
                role_ours, role_theirs = (
                    ours.execute_command("ROLE"),
                    theirs.execute_command("ROLE"),
                )
                assert role_ours[0] == role_theirs[0] == b"master"
                assert [len(entry) for entry in role_ours[2]] == [3]
                assert [len(entry) for entry in role_theirs[2]] == [3]


def _write_error(client: redis.Redis) -> str | None:
    try:
        client.set("w", "1")
    except redis.ResponseError as exc:
        return str(exc)
    return None


def test_min_replicas_to_write_refuses_writes_without_good_replicas(tmp_path: Path) -> None:
    """Writes get Redis's NOREPLICAS (PING does not) until a replica acknowledges, and again
    once it stops acknowledging for longer than min-replicas-max-lag."""
    settings = ("--min-replicas-to-write", "1", "--min-replicas-max-lag", "1")
    alone = redis_process(tmp_path / "redis-alone", *settings)
    with alone, _pair(tmp_path, *settings) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        expected = _write_error(redis.Redis(port=alone.port))
        assert expected == "NOREPLICAS Not enough good replicas to write."
        assert _write_error(primary) == expected
        assert primary.ping() is True
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _write_error(primary) is None, "writes to be accepted")
            wait_until(lambda: replica.get("w") == b"1", "the write to reach the replica")
            with _stopped(replica_proc):
                wait_until(lambda: _write_error(primary) == expected, "writes to be refused")
                assert primary.ping() is True
            wait_until(lambda: _write_error(primary) is None, "writes to be accepted again")


def test_a_silent_replica_is_dropped_after_repl_timeout(tmp_path: Path) -> None:
    """A replica that stops acknowledging (stopped, its socket open) is disconnected once
    repl-timeout passes, then resumes from the backlog."""
    with _pair(tmp_path, "--repl-timeout", "1") as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        primary.set("k", "v")
        with replica_proc:
            replica = redis.Redis(port=replica_proc.port)
            wait_until(lambda: _linked(replica), "the full sync")
            with _stopped(replica_proc):
                wait_until(lambda: _info(primary)["connected_slaves"] == 0, "the timeout")
            primary.set("after", "1")
            wait_until(lambda: _caught_up(primary, replica), "the replica to resume")
            assert replica.get("after") == b"1"
            assert _info(primary, "stats")["sync_partial_ok"] == 1


def test_wait_counts_the_replicas_that_acknowledged(tmp_path: Path) -> None:
    """WAIT answers at once when enough replicas acknowledged, after its timeout with the
    count it has otherwise (a stopped replica does not count), 0 at once for 0 replicas, and
    its errors are Redis's."""
    with _pair(tmp_path) as (zyst, replica_proc):
        primary = redis.Redis(port=zyst.port)
        other = redis_process(tmp_path / "redis2")
        other.argv += ["--replicaof", "127.0.0.1", str(zyst.port)]
        with replica_proc, other:
            replicas = [redis.Redis(port=replica_proc.port), redis.Redis(port=other.port)]
            for replica in replicas:
                wait_until(lambda: _linked(replica), "the full sync")  # noqa: B023
            primary.set("k", "v")
            assert primary.wait(2, 60_000) == 2  # (a bound for a broken WAIT, not a timing)
            assert primary.wait(3, 100) == 2  # after the timeout: only two exist
            with _stopped(replica_proc):
                primary.set("k", "w")
                assert primary.wait(2, 200) == 1
            assert primary.wait(2, 60_000) == 2  # (a bound for a broken WAIT, not a timing)
            pipe = primary.pipeline(transaction=True)
            pipe.set("k", "x").execute_command("WAIT", 5, 0)
            assert pipe.execute()[1] <= 2  # inside MULTI: at once, whatever the count
        alone = redis_process(tmp_path / "redis-alone")
        with alone:
            theirs = redis.Redis(port=alone.port)
            for args in (("x", "0"), ("1", "x"), ("1", "-1"), ("1", "1.5")):
                with pytest.raises(redis.ResponseError) as ours_error:
                    primary.execute_command("WAIT", *args)
                with pytest.raises(redis.ResponseError) as their_error:
                    theirs.execute_command("WAIT", *args)
                assert str(ours_error.value) == str(their_error.value)
            assert primary.execute_command("WAIT", 0, 0) == theirs.execute_command("WAIT", 0, 0)
