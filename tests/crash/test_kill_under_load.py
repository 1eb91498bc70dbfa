"""kill -9 in the middle of pipelined writes: every acknowledged write comes back, whatever the
fsync policy. The AOF is written (not yet fsynced, under ``everysec`` and ``no``) before any
reply of the same event-loop turn leaves, so a crash of the process alone loses nothing that a
client was told is done.

Each trial runs 16 writers, each pipelining batches of RPUSH onto its own list on its own
connection and counting the replies it reads, and kills the server once a number of
acknowledgements drawn at random has been reached (the moment is random, not timed).
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

import hiredis
import pytest

from tests.conftest import zyst_process
from zyst.protocol.resp import encode_command

WRITERS = 16
BATCH = 32
TRIALS = 20


class Writer(threading.Thread):
    """Pipelines ``RPUSH w<i> n`` for n = 0, 1, 2…; :attr:`acknowledged` counts the replies
    read, each checked to be the list's new length."""

    def __init__(self, port: int, index: int) -> None:
        super().__init__(daemon=True)
        self.key = b"w%d" % index
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.acknowledged = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        reader = hiredis.Reader()
        sent = 0
        try:
            while True:
                batch = [
                    encode_command([b"RPUSH", self.key, b"%d" % n])
                    for n in range(sent, sent + BATCH)
                ]
                self.sock.sendall(b"".join(batch))
                sent += BATCH
                while self.acknowledged < sent:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    reader.feed(data)
                    while (reply := reader.gets()) is not False:
                        assert reply == self.acknowledged + 1, reply
                        self.acknowledged += 1
        except (ConnectionError, OSError):
            return  # the server was killed
        except BaseException as exc:
            self.error = exc


def run_trial(workdir: Path, policy: str, kill_after: int) -> None:
    server = zyst_process(workdir, "--appendonly", "yes", "--appendfsync", policy).start()
    writers: list[Writer] = []
    try:
        writers = [Writer(server.port, i) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        while sum(w.acknowledged for w in writers) < kill_after:
            if not any(w.is_alive() for w in writers):
                raise AssertionError("the writers stopped before the kill")
            threading.Event().wait(0.001)
        server.kill()
        for writer in writers:
            writer.join(timeout=60)
            assert writer.error is None, writer.error
    finally:
        server.kill()
        for writer in writers:
            writer.sock.close()

    restarted = zyst_process(workdir, "--appendonly", "yes", port=server.port).start()
    try:
        sock = socket.create_connection(("127.0.0.1", restarted.port), timeout=30)
        reader = hiredis.Reader()
        for writer in writers:
            sock.sendall(encode_command([b"LRANGE", writer.key, b"0", b"-1"]))
            reply = False
            while reply is False:
                reader.feed(sock.recv(1 << 20))
                reply = reader.gets()
            assert isinstance(reply, list)
            # Every acknowledged push is back, in order; pushes the server ran but had not yet
            # acknowledged may be back too.
            assert len(reply) >= writer.acknowledged, (writer.key, len(reply), writer.acknowledged)
            assert reply == [b"%d" % n for n in range(len(reply))]
        sock.close()
    finally:
        restarted.stop()


@pytest.mark.parametrize("policy", ["everysec", "no"])
def test_kill_9_under_pipelined_writers_loses_nothing_acknowledged(
    tmp_path: Path, policy: str
) -> None:
    rng = random.Random(f"kill-9-{policy}")
    trials = TRIALS if policy == "everysec" else TRIALS // 4
    for trial in range(trials):
        run_trial(tmp_path / f"trial-{trial}", policy, kill_after=rng.randrange(200, 20_000))
