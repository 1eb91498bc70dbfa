#!/usr/bin/env python3
"""TLS throughput: Zyst against redis-server, both with a TLS port, side by side.

``redis-benchmark --tls`` runs each test at each pipeline depth against both servers'
TLS ports (and, for scale, their plain ports), alternating which server goes first. It prints
requests per second, the server's CPU microseconds per request, and the ratios Zyst/Redis, plus
each server's TLS/plain ratio (what TLS costs it).

The certificates are made for the run with the ``openssl`` command (a CA and a server
certificate; clients are not asked for one, ``tls-auth-clients no``, so the figure is the
connection's encryption, not the handshake's client check). Servers, directories and ports come
from bench/bench.py's helpers.

Usage::

    python bench/tls.py                              # set,get at -P 1 and -P 16
    python bench/tls.py --tests set,get,lpush --pipelines 1,16 --requests 50000 --runs 2
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench as base  # bench/bench.py, beside this file


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1."""
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    commands = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(ca_key),
         "-out", str(ca), "-subj", "/CN=bench-ca"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "1", "-out", str(cert), "-extfile", str(ext)],
    ]  # fmt: skip
    for args in commands:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    return ca, cert, key


class TlsServer(base.Server):
    """A bench server with a TLS port beside its plain one."""

    def __init__(self, kind: str, directory: Path, certs: tuple[Path, Path, Path]) -> None:
        super().__init__(kind, base.free_port(), directory, base.Persistence(False, "everysec"))
        self.tls_port = base.free_port()
        ca, cert, key = certs
        self.argv += [
            "--tls-port", str(self.tls_port), "--tls-cert-file", str(cert),
            "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
            "--tls-auth-clients", "no", "--save", "",
        ]  # fmt: skip


def run_one(
    server: TlsServer, ca: Path, test: str, pipeline: int, requests: int, clients: int, tls: bool
) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request) of one redis-benchmark run."""
    base.call(server.port, "FLUSHALL")
    argv = [base.REDIS_BENCHMARK, "-h", base.HOST, "-c", str(clients), "-n", str(requests)]
    argv += ["-P", str(pipeline), "-t", test, "--csv"]
    argv += ["--tls", "--cacert", str(ca), "-p", str(server.tls_port)] if tls else [
        "-p", str(server.port)
    ]  # fmt: skip
    before = server.cpu_seconds()
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=base.BENCHMARK_TIMEOUT, check=False
    )
    cpu = server.cpu_seconds() - before
    rps = None
    for row in csv.reader(io.StringIO(out.stdout)):
        if len(row) >= 2 and row[0] != "test" and base.test_name(row[0]) == test:
            rps = float(row[1])
    if out.returncode != 0 or rps is None:
        raise base.BenchError(f"redis-benchmark {' '.join(argv)} failed:\n{out.stderr[:500]}")
    return rps, cpu / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", default="set,get")
    parser.add_argument("--pipelines", default="1,16")
    parser.add_argument("--requests", type=int, default=None, help="per run (default 20k/100k)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain-port runs")
    args = parser.parse_args()
    tests = args.tests.split(",")
    pipelines = [int(p) for p in args.pipelines.split(",")]
    modes = [True] if args.no_plain else [True, False]
    # (server, test, pipeline, tls) -> list of (rps, cpu us/request)
    results: dict[tuple[str, str, int, bool], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="zyst-tls-bench-") as parent_name:
        parent = Path(parent_name)
        certs = make_certs(parent)
        servers = {kind: TlsServer(kind, parent / kind, certs) for kind in base.SERVERS}
        try:
            for server in servers.values():
                server.dir.mkdir()
                server.start()
                server.wait_ready()
            order = list(base.SERVERS)
            for run in range(args.runs):
                for test in tests:
                    for pipeline in pipelines:
                        requests = args.requests or (20_000 if pipeline == 1 else 100_000)
                        for tls in modes:
                            for kind in order:
                                key = (kind, test, pipeline, tls)
                                sample = run_one(
                                    servers[kind], certs[0], test, pipeline, requests,
                                    args.clients, tls,
                                )  # fmt: skip
                                results.setdefault(key, []).append(sample)
                            order.reverse()
                print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
        finally:
            for server in servers.values():
                server.stop()

    def median(kind: str, test: str, pipeline: int, tls: bool, index: int) -> float:
        return statistics.median(s[index] for s in results[(kind, test, pipeline, tls)])

    header = "test       P   TLS redis rps   TLS zyst rps  ratio  cpu us/req r/z"
    if not args.no_plain:
        header += "   plain ratio  TLS/plain redis  TLS/plain zyst"
    print(header)
    ratios = {pipeline: [] for pipeline in pipelines}
    for test in tests:
        for pipeline in pipelines:
            r, z = (median(k, test, pipeline, True, 0) for k in base.SERVERS)
            rc, zc = (median(k, test, pipeline, True, 1) for k in base.SERVERS)
            ratios[pipeline].append(z / r)
            line = f"{test:<9} {pipeline:>2} {r:>15,.0f} {z:>14,.0f} {z / r:>6.3f}"
            line += f"   {rc:>6.1f} / {zc:<6.1f}"
            if not args.no_plain:
                pr, pz = (median(k, test, pipeline, False, 0) for k in base.SERVERS)
                line += f"   {pz / pr:>10.3f}  {r / pr:>15.3f}  {z / pz:>14.3f}"
            print(line)
    for pipeline, values in ratios.items():
        print(f"geomean Zyst/Redis over TLS at P{pipeline}: {base.geomean(values):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
