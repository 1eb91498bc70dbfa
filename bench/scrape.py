#!/usr/bin/env python3
"""bench/bench.py with Prometheus scraping Zyst's ``/metrics`` once a second meanwhile.

Does scraping slow command processing down? The collector runs on the server's event loop, so
while it works no command runs. This runs ``bench/bench.py`` unchanged, except that every Zyst
it starts gets the HTTP port (``--metrics-port``, a free port), and a thread GETs
``/metrics`` from each running Zyst every ``--interval`` seconds, as Prometheus would. Compare
the throughput tables with a plain ``bench.py`` run of the same arguments (or with
``--no-scrape``: the same run, HTTP port on, nobody scraping). The scrape times printed at the
end (the whole HTTP request, seen from the scraper) bound how long each scrape held the loop.

Usage::

    python bench/scrape.py [--interval 1.0] [--no-scrape] [bench.py's arguments ...]
    python bench/scrape.py --tests set,get --pipelines 1,16 --memory 0 --load 0

Results go where bench.py writes them unless its ``--out-*`` options say otherwise (this
script's defaults: ``bench/results/scrape.md``, ``.json``, ``.png``). Only the standard
library is needed.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # (bench.py beside this file, not an installed module)


class Scraper(threading.Thread):
    """GETs ``/metrics`` from every port in :attr:`ports` each ``interval`` seconds; keeps the
    time each request took and the failures."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.ports: set[int] = set()
        self.lock = threading.Lock()
        self.durations: list[float] = []
        self.sizes: list[int] = []
        self.failures = 0
        self.stopping = threading.Event()

    def scrape(self, port: int) -> None:
        began = time.perf_counter()
        conn = http.client.HTTPConnection(bench.HOST, port, timeout=30)
        try:
            conn.request("GET", "/metrics")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise OSError(f"status {response.status}")
        except OSError:
            # A server that was just stopped (bench.py restarts them between runs).
            self.failures += 1
            return
        finally:
            conn.close()
        self.durations.append(time.perf_counter() - began)
        self.sizes.append(len(body))

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            with self.lock:
                ports = list(self.ports)
            for port in ports:
                self.scrape(port)

    def report(self) -> str:
        if not self.durations:
            return f"scrapes: none succeeded ({self.failures} failed)"
        ms = sorted(d * 1000 for d in self.durations)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return (
            f"scrapes: {len(ms)} ({self.failures} failed, servers stopping); "
            f"time per scrape ms: median {statistics.median(ms):.2f}, p99 {p99:.2f}, "
            f"max {ms[-1]:.2f}; body {statistics.median(self.sizes) / 1024:.1f} KiB"
        )


class ScrapedServer(bench.Server):
    """bench.py's server, a Zyst of which also serves ``/metrics`` on a free port that the
    scraper (when there is one) scrapes while the process runs."""

    scraper: Scraper | None = None

    def __init__(
        self,
        kind: str,
        port: int,
        directory: Path,
        persistence: bench.Persistence,
        program: str | None = None,
    ) -> None:
        super().__init__(kind, port, directory, persistence, program)
        self.metrics_port = 0
        if self.argv[0] == sys.executable:  # a Zyst (redis-server runs as itself)
            self.metrics_port = bench.free_port()
            self.argv += ["--metrics-port", str(self.metrics_port)]

    def start(self) -> None:
        super().start()
        if self.scraper is not None and self.metrics_port:
            with self.scraper.lock:
                self.scraper.ports.add(self.metrics_port)

    def stop(self) -> None:
        if self.scraper is not None:
            with self.scraper.lock:
                self.scraper.ports.discard(self.metrics_port)
        super().stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=True)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    parser.add_argument(
        "--no-scrape", action="store_true", help="HTTP port on, but nobody scrapes (baseline)"
    )
    ours, rest = parser.parse_known_args(argv)
    results = bench.RESULTS_DIR
    defaults = {
        "--out-md": results / "scrape.md",
        "--out-json": results / "scrape.json",
        "--out-png": results / "scrape.png",
    }
    for option, path in defaults.items():
        if not any(arg == option or arg.startswith(option + "=") for arg in rest):
            rest += [option, str(path)]
    scraper = None if ours.no_scrape else Scraper(ours.interval)
    # bench.py makes its servers by this name.
    ScrapedServer.scraper = scraper
    bench.Server = ScrapedServer  # type: ignore[misc]
    if scraper is not None:
        scraper.start()
    try:
        code = bench.main(rest)
    finally:
        if scraper is not None:
            scraper.stopping.set()
            scraper.join()
    print(scraper.report() if scraper is not None else "scrapes: none (--no-scrape)")
    return code


if __name__ == "__main__":
    sys.exit(main())
