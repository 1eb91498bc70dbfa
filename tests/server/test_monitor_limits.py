"""MONITOR lines count against the monitoring client's output buffer limit (the ``normal``
class, as Redis classes a monitor), and the line formatting that no oracle test reaches."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RawConnection, zyst_process
from zyst.commands.monitor import quote


def test_a_monitor_past_its_output_limit_is_dropped(tmp_path: Path) -> None:
    with (
        zyst_process(tmp_path) as server,
        RawConnection(server.port) as admin,
        RawConnection(server.port) as mon,
    ):
        if True:
            assert admin.command("CONFIG", "SET", "client-output-buffer-limit", "normal 4096 0 0")
            assert mon.command("MONITOR") == b"+OK\r\n"
            # The monitor reads nothing: its lines pile up until it is dropped.
            # (more than the kernel's socket buffers take)
            value = b"x" * 65536
            for _ in range(400):
                admin.command("SET", "k", value)
            # Closed by the server (not by a timeout of ours) before all was sent.
            received = mon.read_until_closed()
            assert len(received) < 400 * len(value)


def test_arguments_are_quoted_as_sdscatrepr() -> None:
    assert quote(b"plain text") == b'"plain text"'
    assert quote(b'\\"\n\r\t\x07\x08\x00\x7f\xff~ ') == b'"\\\\\\"\\n\\r\\t\\a\\b\\x00\\x7f\\xff~ "'
