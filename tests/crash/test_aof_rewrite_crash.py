"""kill -9 at every step of an AOF rewrite: the directory always loads, with every write that
was acknowledged under ``appendfsync always``, and the restarted server can rewrite again.

The steps, in the order a rewrite takes them (see zyst.persistence.rewrite): the manifest
naming the new incremental file (start), the child writing the new base, the rename of the
child's file into the directory, the manifest naming the new base, the deletion of each history
file, the manifest without them. The server is killed by tests/crash/killed_zyst.py just before
or after one of those calls (or, while the child writes, by the test), while writers keep
sending acknowledged SETs.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path

import hiredis
import pytest
import redis

from tests.conftest import ROOT, RawConnection, ServerProcess, free_port, wait_until, zyst_process
from tests.crash.dataset import dump_dataset
from zyst.protocol.resp import encode_command

WRITERS = 4
ARGS = ("--appendonly", "yes", "--appendfsync", "always")
MANIFEST = "temp-appendonly.aof.manifest"  # the temporary manifest renamed into place


class Writer(threading.Thread):
    """SETs ``w<i>:<n>`` to ``n`` one at a time; :attr:`acknowledged` counts the +OKs read."""

    def __init__(self, port: int, index: int) -> None:
        super().__init__(daemon=True)
        self.prefix = b"w%d:" % index
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.acknowledged = 0

    def run(self) -> None:
        reader = hiredis.Reader()
        try:
            while True:
                n = self.acknowledged
                self.sock.sendall(encode_command([b"SET", self.prefix + b"%d" % n, b"%d" % n]))
                while (reply := reader.gets()) is False:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    reader.feed(data)
                assert reply == b"OK", reply
                self.acknowledged += 1
        except OSError:
            pass  # the server was killed
        finally:
            self.sock.close()


def killed_server(workdir: Path, kill_at: str, args: tuple[str, ...]) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, str(ROOT / "tests" / "crash" / "killed_zyst.py")]
    argv += ["--port", str(port), "--dir", str(workdir), *args]
    server = ServerProcess(argv, port, workdir)
    os.environ["ZYST_KILL_AT"] = kill_at
    try:
        server.start()
    finally:
        del os.environ["ZYST_KILL_AT"]
    return server


def children_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.parametrize(
    ("kill_at", "preamble"),
    [
        (f"rename:{MANIFEST}:2:before", "no"),  # the new incr exists, no manifest names it yet
        (f"rename:{MANIFEST}:2:after", "no"),  # named, the writer not yet switched to it
        ("child", "no"),  # while the child writes the base (the test kills the server)
        ("rename:rewriteaof-bg:1:before", "no"),
        ("rename:rewriteaof-bg:1:after", "no"),  # the new base in place, not in the manifest
        (f"rename:{MANIFEST}:3:before", "no"),
        (f"rename:{MANIFEST}:3:after", "no"),  # the new base in the manifest, old as history
        ("unlink:appendonlydir:1:after", "no"),  # a history file deleted, the other not
        ("unlink:appendonlydir:2:after", "no"),
        (f"rename:{MANIFEST}:4:before", "no"),  # history deleted, the manifest still lists it
        # The same with an RDB base (its child is too quick to be caught at work).
        ("rename:rewriteaof-bg:1:after", "yes"),
        (f"rename:{MANIFEST}:3:after", "yes"),
        ("unlink:appendonlydir:1:after", "yes"),
    ],
)
def test_a_kill_at_any_step_of_a_rewrite_loses_no_acknowledged_write(
    tmp_path: Path, kill_at: str, preamble: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    args = (*ARGS, "--aof-use-rdb-preamble", preamble)
    server = killed_server(data, "rename:never:1:before" if kill_at == "child" else kill_at, args)
    assert server.proc is not None
    try:
        c = redis.Redis(port=server.port, socket_timeout=60)
        pipe = c.pipeline(transaction=False)
        for n in range(500):
            pipe.set(f"seed:{n}", n)
            pipe.rpush("seed:list", n)
            pipe.hset("seed:hash", f"f{n}", n)
        pipe.execute()
        c.config_set("rdb-key-save-delay", 200)  # the child takes a moment: writes meanwhile
        c.close()
        writers = [Writer(server.port, i) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        wait_until(lambda: all(w.acknowledged > 10 for w in writers), "the writers")
        with RawConnection(server.port) as conn:
            try:
                reply = conn.command("BGREWRITEAOF")
            except ConnectionError:
                # Killed while starting the rewrite, before its reply.
                assert kill_at.startswith(f"rename:{MANIFEST}:2:"), kill_at
            else:
                assert reply == b"+Background append only file rewriting started\r\n"
        if kill_at == "child":
            wait_until(lambda: children_of(server.proc.pid), "the child")  # type: ignore[union-attr]
            child = children_of(server.proc.pid)[0]
            wait_until(lambda: any(data.glob("temp-rewriteaof-bg-*")), "the child's file")
            server.kill()
            os.kill(child, signal.SIGKILL)  # an orphan would go on writing its file
        assert server.proc.wait(timeout=60) == -signal.SIGKILL
        for writer in writers:
            writer.join(timeout=60)
    finally:
        server.kill()
    acknowledged = {w.prefix: w.acknowledged for w in writers}

    with zyst_process(data, *args, port=server.port) as restarted:
        c = redis.Redis(port=restarted.port, socket_timeout=60)
        for prefix, count in acknowledged.items():
            keys = [prefix + b"%d" % n for n in range(count)]
            assert c.mget(keys) == [b"%d" % n for n in range(count)], prefix
        assert c.llen("seed:list") == 500 and c.hlen("seed:hash") == 500
        before = dump_dataset(c)
        # The directory is consistent enough for the next rewrite, and it loses nothing.
        c.config_set("rdb-key-save-delay", 0)
        with RawConnection(restarted.port) as conn:
            assert conn.command("BGREWRITEAOF").startswith(b"+Background")
        wait_until(
            lambda: (
                c.info("persistence")["aof_rewrite_in_progress"] == 0
                and c.info("persistence")["aof_rewrites"] == 1
            ),
            "the rewrite after the restart",
        )
        assert c.info("persistence")["aof_last_bgrewrite_status"] == "ok"
        c.close()
        restarted.kill()
    with zyst_process(data, *args, port=server.port) as again:
        c = redis.Redis(port=again.port, socket_timeout=60)
        assert dump_dataset(c) == before
        c.close()
