"""Run a command next to a server listening on 127.0.0.1:6379, inside a fresh network namespace.

    unshare --net python tests/apps/netns.py --dir DIR SERVER_ARGV... -- COMMAND_ARGV...

Brings the namespace's loopback up, starts ``SERVER_ARGV`` (its output in ``DIR/server.log``),
waits until port 6379 accepts connections, runs ``COMMAND_ARGV`` to its end, stops the server
and exits with the command's status. The application suites connect to ``localhost:6379``
(a default they hard-code); a namespace of its own gives each run that address without
touching the machine's, so a redis-server and a Zyst can serve two suites at once.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

PORT = 6379


def wait_for_port(server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    server.kill()
    sys.exit(f"the server did not listen on port {PORT}:\n{log.read_text()}")


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] != "--dir" or "--" not in argv:
        sys.exit(__doc__)
    workdir = Path(argv[1])
    split = argv.index("--")
    server_argv, command = argv[2:split], argv[split + 1 :]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    with log.open("ab") as out:
        server = subprocess.Popen(server_argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        wait_for_port(server, log)
        return subprocess.run(command, check=False).returncode
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
