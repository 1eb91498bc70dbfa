"""TLS: ``tls-port`` beside the plain port, client certificates required, optional or not asked
for, the tls-* settings at start and through CONFIG SET, with redis-cli --tls and redis-py.

Certificates are made by the test (tests/server/tlscerts.py). Where Redis is the oracle, the
same certificates and settings are given to redis-server and the outcomes compared: what a
client sees (refused, or the protocol version and cipher agreed), CONFIG SET's replies, the
reasons a server gives when it cannot start.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

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
from tests.server.test_startup import log_messages, run_zyst
from tests.server.tlscerts import KEY_PASSPHRASE, Certs, make_certs, tls_args


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


class TlsServer:
    """A server with a plain port and a TLS port."""

    def __init__(self, process: ServerProcess, tls_port: int) -> None:
        self.process = process
        self.port = process.port
        self.tls_port = tls_port

    def plain(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10)

    def config_set(self, *pairs: str) -> bytes:
        with RawConnection(self.port) as raw:
            return raw.command("CONFIG", "SET", *pairs)


def start_tls(
    kind: str, workdir: Path, certs: Certs, *extra: str, auth_clients: str = "yes"
) -> TlsServer:
    tls_port = free_port()
    args = [*tls_args(certs, tls_port, auth_clients=auth_clients), *extra]
    if kind == "zyst":
        process = zyst_process(workdir, "--appendonly", "no", "--save", "", *args)
    else:
        process = redis_process(workdir, *args)
    return TlsServer(process.start(), tls_port)


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, certs: Certs
) -> Iterator[dict[str, TlsServer]]:
    """A Zyst and a redis-server, both with TLS, client certificates required."""
    started: dict[str, TlsServer] = {}
    try:
        for kind in ("zyst", "redis"):
            started[kind] = start_tls(kind, tmp_path_factory.mktemp(f"tls-{kind}"), certs)
        yield started
    finally:
        for server in started.values():
            server.process.stop()


def tls_redis(port: int, certs: Certs, cert: Path | None, key: Path | None) -> redis.Redis:
    return redis.Redis(
        port=port,
        ssl=True,
        ssl_ca_certs=str(certs.ca),
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        socket_timeout=10,
    )


def probe(
    port: int,
    certs: Certs,
    client_cert: str = "trusted",
    *,
    maximum: ssl.TLSVersion | None = None,
    host: str = "127.0.0.1",
) -> str:
    """Connect with TLS, PING, and tell what happened: ``TLSv1.3 TLS_AES_256_GCM_SHA384``
    (the version and cipher agreed, PONG received) or ``refused``. ``client_cert``:
    ``trusted``, ``untrusted`` (another CA's) or ``none``."""
    context = ssl.create_default_context(cafile=str(certs.ca))
    if client_cert == "trusted":
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    elif client_cert == "untrusted":
        context.load_cert_chain(str(certs.untrusted_cert), str(certs.untrusted_key))
    if maximum is not None:
        context.maximum_version = maximum
    try:
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as sock,
        ):
            sock.sendall(b"PING\r\n")
            reply = sock.recv(100)
            cipher = sock.cipher()
            version = sock.version()
    except (ssl.SSLError, OSError):
        return "refused"
    if reply != b"+PONG\r\n" or cipher is None:
        return "refused"
    return f"{version} {cipher[0]}"


def peer_common_name(port: int, certs: Certs) -> str:
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        subject = dict(item[0] for item in sock.getpeercert()["subject"])
        return str(subject["commonName"])


# -- clients over TLS ------------------------------------------------------------------------
def test_redis_py_over_tls_beside_the_plain_port(servers: dict[str, TlsServer], certs: Certs):
    server = servers["zyst"]
    secure = tls_redis(server.tls_port, certs, certs.client_cert, certs.client_key)
    plain = server.plain()
    try:
        assert secure.set("tls:key", "over tls")
        assert plain.get("tls:key") == b"over tls"
        plain.set("tls:key", "over tcp")
        assert secure.get("tls:key") == b"over tcp"
        # A pipeline big enough to need several TLS records each way.
        pipe = secure.pipeline(transaction=False)
        for i in range(2000):
            pipe.set(f"tls:{i}", "x" * 100)
        pipe.mget([f"tls:{i}" for i in range(2000)])
        *_, values = pipe.execute()
        assert values == [b"x" * 100] * 2000
    finally:
        secure.close()
        plain.close()


def test_redis_cli_tls(servers: dict[str, TlsServer], certs: Certs) -> None:
    for server in servers.values():
        out = subprocess.run(
            [
                "redis-cli", "--tls", "--cacert", str(certs.ca), "--cert", str(certs.client_cert),
                "--key", str(certs.client_key), "-p", str(server.tls_port), "ECHO", "secure",
            ],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert (out.returncode, out.stdout) == (0, "secure\n")


def test_a_tls_client_in_client_list_looks_like_redis(servers: dict[str, TlsServer], certs: Certs):
    lines = {}
    for kind, server in servers.items():
        client = tls_redis(server.tls_port, certs, certs.client_cert, certs.client_key)
        try:
            info = client.client_info()
        finally:
            client.close()
        lines[kind] = {
            "laddr_port": info["laddr"].rsplit(":", 1)[1] == str(server.tls_port),
            "addr_host": info["addr"].rsplit(":", 1)[0],
            "flags": info["flags"],
        }
    assert lines["zyst"] == lines["redis"]


@pytest.mark.parametrize("client_cert", ["none", "untrusted"])
def test_a_client_without_a_trusted_certificate_is_refused(
    servers: dict[str, TlsServer], certs: Certs, client_cert: str
) -> None:
    for server in servers.values():
        assert probe(server.tls_port, certs, client_cert) == "refused"
        # The server goes on: a trusted client and a plain one are served.
        assert probe(server.tls_port, certs).startswith("TLSv1.3 ")
        assert server.plain().ping()
    cert = certs.untrusted_cert if client_cert == "untrusted" else None
    key = certs.untrusted_key if client_cert == "untrusted" else None
    client = tls_redis(servers["zyst"].tls_port, certs, cert, key)
    with pytest.raises(redis.ConnectionError):
        client.ping()
    client.close()


def test_plain_bytes_on_the_tls_port_are_not_served(servers: dict[str, TlsServer]) -> None:
    with RawConnection(servers["zyst"].tls_port) as raw:
        raw.send_raw(b"PING\r\n")
        assert b"PONG" not in raw.read_until_closed()
    assert servers["zyst"].plain().ping()


# -- tls-auth-clients, tls-protocols, tls-ciphers, tls-ciphersuites: outcomes as Redis's --------
@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[dict[str, TlsServer]]:
    """A second Zyst / redis-server pair whose TLS settings the tests below change."""
    started: dict[str, TlsServer] = {}
    try:
        for kind in ("zyst", "redis"):
            started[kind] = start_tls(kind, tmp_path_factory.mktemp(f"pair-{kind}"), certs)
        yield started
    finally:
        for server in started.values():
            server.process.stop()


def compare(pair: dict[str, TlsServer], certs: Certs, changes: list[str], **probes: object):
    seen: dict[str, list[object]] = {}
    for kind, server in pair.items():
        results: list[object] = [server.config_set(*changes) if changes else b"+OK\r\n"]
        for client_cert in ("trusted", "none", "untrusted"):
            results.append(probe(server.tls_port, certs, client_cert, **probes))  # type: ignore[arg-type]
        seen[kind] = results
    assert seen["zyst"] == seen["redis"], seen
    return seen["zyst"]


def test_tls_auth_clients_at_run_time_like_redis(pair: dict[str, TlsServer], certs: Certs):
    assert compare(pair, certs, ["tls-auth-clients", "optional"])[1:] == [
        "TLSv1.3 TLS_AES_256_GCM_SHA384",
        "TLSv1.3 TLS_AES_256_GCM_SHA384",
        "refused",
    ]
    assert (
        compare(pair, certs, ["tls-auth-clients", "no"])[1:]
        == ["TLSv1.3 TLS_AES_256_GCM_SHA384"] * 3
    )
    assert compare(pair, certs, ["tls-auth-clients", "yes"])[1:] == [
        "TLSv1.3 TLS_AES_256_GCM_SHA384",
        "refused",
        "refused",
    ]


def test_tls_protocols_ciphers_and_ciphersuites_like_redis(
    pair: dict[str, TlsServer], certs: Certs
) -> None:
    try:
        compare(pair, certs, ["tls-protocols", "TLSv1.3"], maximum=ssl.TLSVersion.TLSv1_2)
        results = compare(pair, certs, ["tls-protocols", "TLSv1.2"])
        assert results[1].startswith("TLSv1.2 ")  # type: ignore[union-attr]
        results = compare(pair, certs, ["tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256"])
        assert results[1] == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"
        compare(pair, certs, ["tls-protocols", "tlsv1.2 TLSV1.3"])
        results = compare(pair, certs, ["tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"])
        assert results[1] == "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256"
        compare(pair, certs, ["tls-prefer-server-ciphers", "yes", "tls-session-caching", "no"])
        compare(pair, certs, ["tls-session-cache-size", "10", "tls-session-cache-timeout", "5"])
    finally:
        for server in pair.values():
            server.config_set(
                "tls-protocols", "", "tls-ciphers", "", "tls-ciphersuites", "",
                "tls-prefer-server-ciphers", "no", "tls-session-caching", "yes",
            )  # fmt: skip


def resumption(port: int, certs: Certs, maximum: ssl.TLSVersion) -> str:
    """Connect twice with a client certificate, the second time offering the first session:
    ``resumed``, ``full`` (a new handshake) or ``refused``."""
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    context.maximum_version = maximum
    session = None
    outcome = "refused"
    for attempt in range(2):
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                context.wrap_socket(raw, server_hostname="localhost", session=session) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(100) != b"+PONG\r\n":
                    return "refused"
                session = sock.session
                if attempt == 1:
                    outcome = "resumed" if sock.session_reused else "full"
        except (ssl.SSLError, OSError):
            return "refused"
    return outcome


def test_tls_session_resumption_like_redis(pair: dict[str, TlsServer], certs: Certs) -> None:
    """The session cache (set through zyst.security.openssl) resumes the sessions of clients
    with certificates as Redis's does. With tls-session-caching no, Zyst makes a full
    handshake; Redis refuses such a client ("session id context uninitialized" in its log: it
    drops the cache but not the session tickets), which Zyst does not copy."""
    seen: dict[str, list[str]] = {}
    try:
        for kind, server in pair.items():
            results = []
            for caching in ("yes", "no"):
                assert server.config_set("tls-session-caching", caching) == b"+OK\r\n"
                for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                    results.append(resumption(server.tls_port, certs, version))
            seen[kind] = results
    finally:
        for server in pair.values():
            server.config_set("tls-session-caching", "yes")
    assert seen["zyst"][:2] == seen["redis"][:2] == ["resumed", "resumed"]
    assert seen["redis"][2:] == ["refused", "refused"]
    assert seen["zyst"][2:] == ["full", "full"]


CONFIG_SET_CASES = [
    ("tls-protocols", "bogus"),
    ("tls-protocols", "TLSv1.2  TLSv1.3"),
    ("tls-ciphers", "bogus"),
    ("tls-ciphersuites", "bogus"),
    ("tls-auth-clients", "maybe"),
    ("tls-cert-file", "/nonexistent/cert.pem"),
    ("tls-key-file", "/nonexistent/key.pem"),
    ("tls-ca-cert-file", "/nonexistent/ca.pem"),
    ("tls-ca-cert-dir", "/nonexistent"),
    ("tls-dh-params-file", "/nonexistent/dh.pem"),
    ("tls-cert-file", ""),
    ("tls-session-cache-size", "-1"),
    ("tls-session-cache-timeout", "x"),
    ("tls-port", "65536"),
    ("tls-prefer-server-ciphers", "maybe"),
    ("unixsocket", "/tmp/zyst.sock"),
    ("unixsocketperm", "700"),
]


@pytest.mark.parametrize(("name", "value"), CONFIG_SET_CASES)
def test_config_set_refusals_like_redis(
    pair: dict[str, TlsServer], certs: Certs, name: str, value: str
) -> None:
    replies = {}
    for kind, server in pair.items():
        client = server.plain()
        before = client.config_get(name)[name]
        client.close()
        replies[kind] = server.config_set(name, value)
        if replies[kind] == b"+OK\r\n":
            server.config_set(name, before)
    assert replies["zyst"] == replies["redis"]
    # (OpenSSL reads a CA directory lazily: a missing one is accepted by both.)
    assert replies["zyst"].startswith(b"-ERR") == (name != "tls-ca-cert-dir")
    # Nothing changed: a trusted client is still served.
    for server in pair.values():
        assert probe(server.tls_port, certs).startswith("TLSv1.3 ")


def test_ca_needed_while_clients_are_verified_like_redis(pair: dict[str, TlsServer], certs: Certs):
    try:
        refused = compare(pair, certs, ["tls-ca-cert-file", ""])
        assert refused[0].startswith(b"-ERR")  # type: ignore[union-attr]
        accepted = compare(pair, certs, ["tls-auth-clients", "no", "tls-ca-cert-file", ""])
        assert accepted[0] == b"+OK\r\n"
    finally:
        for server in pair.values():
            server.config_set("tls-ca-cert-file", str(certs.ca), "tls-auth-clients", "yes")


def test_tls_config_get_like_redis(pair: dict[str, TlsServer]) -> None:
    got = {}
    for kind, server in pair.items():
        client = server.plain()
        got[kind] = client.config_get("tls-*")
        client.close()
        assert got[kind].pop("tls-port") == str(server.tls_port)
    assert got["zyst"] == got["redis"]
    assert len(got["zyst"]) == 19


def test_tls_and_unix_defaults_in_config_get_like_redis(
    zyst_proc: ServerProcess, redis_server: ServerProcess
) -> None:
    got = []
    for process in (zyst_proc, redis_server):
        client = redis.Redis(port=process.port, socket_timeout=10)
        got.append(client.config_get("tls-*") | client.config_get("unix*"))
        client.close()
    assert got[0] == got[1]
    assert len(got[0]) == 22


# -- reloading certificates, moving the port --------------------------------------------------
def test_new_certificates_are_used_by_new_connections(tmp_path: Path, certs: Certs) -> None:
    server = start_tls("zyst", tmp_path, certs)
    try:
        before = tls_redis(server.tls_port, certs, certs.client_cert, certs.client_key)
        assert before.ping()
        assert peer_common_name(server.tls_port, certs) == "server"
        reply = server.config_set(
            "tls-cert-file",
            str(certs.other_server_cert),
            "tls-key-file",
            str(certs.other_server_key),
        )
        assert reply == b"+OK\r\n"
        assert peer_common_name(server.tls_port, certs) == "other-server"
        # The connection made before goes on with the certificate it was made with.
        assert before.ping()
        before.close()
        # A key that does not match the certificate is refused; the context in use stays.
        reply = server.config_set("tls-key-file", str(certs.server_key))
        assert reply == (
            b"-ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - "
            b"Unable to update TLS configuration. Check server logs.\r\n"
        )
        assert peer_common_name(server.tls_port, certs) == "other-server"
        # Each new context replaces the old one's server: no file descriptor is left behind.
        pid = server.process.proc.pid  # type: ignore[union-attr]
        open_fds = len(os.listdir(f"/proc/{pid}/fd"))
        for cert, key in [(certs.server_cert, certs.server_key)] * 3 + [
            (certs.other_server_cert, certs.other_server_key)
        ]:
            assert server.config_set("tls-cert-file", str(cert), "tls-key-file", str(key)) == (
                b"+OK\r\n"
            )
        assert peer_common_name(server.tls_port, certs) == "other-server"
        wait_until(
            lambda: len(os.listdir(f"/proc/{pid}/fd")) == open_fds, "the old servers to close"
        )
    finally:
        server.process.stop()


def test_tls_port_moves_and_stops_at_run_time(tmp_path: Path, certs: Certs) -> None:
    server = start_tls("zyst", tmp_path, certs)
    try:
        moved = free_port()
        assert server.config_set("tls-port", str(moved)) == b"+OK\r\n"
        assert probe(moved, certs).startswith("TLSv1.3 ")
        assert probe(server.tls_port, certs) == "refused"
        assert server.config_set("tls-port", "0") == b"+OK\r\n"
        assert probe(moved, certs) == "refused"
        assert server.plain().ping()
        # And back to the same port.
        assert server.config_set("tls-port", str(moved)) == b"+OK\r\n"
        assert probe(moved, certs).startswith("TLSv1.3 ")
    finally:
        server.process.stop()


@pytest.mark.parametrize("name", ["tls-port", "tls-replication", "tls-cluster"])
def test_asking_for_tls_without_certificates_like_redis(
    zyst_proc: ServerProcess, redis_server: ServerProcess, name: str
) -> None:
    value = str(free_port()) if name == "tls-port" else "yes"
    replies = []
    for process in (zyst_proc, redis_server):
        with RawConnection(process.port) as raw:
            replies.append(raw.command("CONFIG", "SET", name, value))
            # Settings that do not ask for TLS are taken without a check, as in Redis.
            assert raw.command("CONFIG", "SET", "tls-protocols", "bogus") == b"+OK\r\n"
            assert raw.command("CONFIG", "SET", "tls-protocols", "") == b"+OK\r\n"
    assert replies[0] == replies[1]
    assert (
        replies[0]
        == (
            f"-ERR CONFIG SET failed (possibly related to argument '{name}') - "
            "Unable to update TLS configuration. Check server logs.\r\n"
        ).encode()
    )


def test_bind_moves_the_tls_listeners_too(tmp_path: Path, certs: Certs) -> None:
    server = start_tls("zyst", tmp_path, certs)
    try:
        assert server.config_set("bind", "127.0.0.2") == b"+OK\r\n"
        assert probe(server.tls_port, certs, host="127.0.0.2").startswith("TLSv1.3 ")
        assert probe(server.tls_port, certs) == "refused"
        moved = redis.Redis(host="127.0.0.2", port=server.port, socket_timeout=10)
        assert moved.config_set("bind", "127.0.0.1 127.0.0.2")
        moved.close()
        for host in ("127.0.0.1", "127.0.0.2"):
            assert probe(server.tls_port, certs, host=host).startswith("TLSv1.3 ")
        assert server.plain().ping()
    finally:
        server.process.stop()


def test_tls_port_switched_on_at_run_time(tmp_path: Path, certs: Certs) -> None:
    process = zyst_process(tmp_path, "--appendonly", "no", "--save", "").start()
    try:
        with RawConnection(process.port) as raw:
            tls_port = str(free_port())
            for name, value in (
                ("tls-cert-file", certs.server_cert),
                ("tls-key-file", certs.server_key),
                ("tls-ca-cert-file", certs.ca),
            ):
                assert raw.command("CONFIG", "SET", name, str(value)) == b"+OK\r\n"
            assert raw.command("CONFIG", "SET", "tls-port", tls_port) == b"+OK\r\n"
        assert probe(int(tls_port), certs).startswith("TLSv1.3 ")
    finally:
        process.stop()


# -- starting -------------------------------------------------------------------------------
def oracle_start(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    port = str(free_port())
    ours = run_zyst("--port", port, "--dir", str(tmp_path / "zyst"), *args)
    oracle = redis_process(tmp_path / "redis", *args)
    theirs = subprocess.run(oracle.argv, capture_output=True, text=True, timeout=30, check=False)
    return ours, theirs


def test_tls_port_without_certificates_stops_the_start_like_redis(tmp_path: Path) -> None:
    ours, theirs = oracle_start(tmp_path, "--tls-port", str(free_port()))
    assert ours.returncode == theirs.returncode == 1
    assert (
        log_messages(ours.stdout)[-2:]
        == log_messages(theirs.stdout)[-2:]
        == [
            "No tls-cert-file configured!",
            "Failed to configure TLS. Check logs for more info.",
        ]
    )


def test_encrypted_key_needs_its_passphrase_like_redis(tmp_path: Path, certs: Certs) -> None:
    args = [
        "--tls-port", str(free_port()),
        "--tls-cert-file", str(certs.server_cert),
        "--tls-key-file", str(certs.encrypted_server_key),
        "--tls-auth-clients", "no",
    ]  # fmt: skip
    ours, theirs = oracle_start(tmp_path / "nopass", *args)
    assert ours.returncode == theirs.returncode == 1
    assert log_messages(ours.stdout)[-1] == log_messages(theirs.stdout)[-1]
    process = zyst_process(
        tmp_path / "pass", "--appendonly", "no", *args, "--tls-key-file-pass", KEY_PASSPHRASE
    ).start()
    try:
        tls_port = int(args[1])
        assert probe(tls_port, certs, "none").startswith("TLSv1.3 ")
        config = redis.Redis(port=process.port, socket_timeout=10)
        assert config.config_get("tls-key-file-pass") == {"tls-key-file-pass": KEY_PASSPHRASE}
        config.close()
    finally:
        process.stop()


def test_a_tls_client_waits_out_a_busy_script_unharmed(tmp_path: Path, certs: Certs) -> None:
    """While a script is busy the plain clients are served from inside it (zyst.busy); a TLS
    client's bytes need the event loop's TLS layer, so its PING is answered once the script
    is killed, on the same connection (Redis answers it -BUSY meanwhile)."""
    server = start_tls("zyst", tmp_path, certs, "--lua-time-limit", "10")
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    try:
        with (
            socket.create_connection(("127.0.0.1", server.tls_port), timeout=30) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as secure,
            RawConnection(server.port) as probe,
            RawConnection(server.port) as runner,
        ):
            secure.sendall(b"PING\r\n")
            assert secure.recv(100) == b"+PONG\r\n"
            runner.send_raw(b"EVAL 'while true do end' 0\r\n")
            wait_until(lambda: probe.command("PING").startswith(b"-BUSY"), "a busy script")
            secure.sendall(b"ECHO still-here\r\n")
            assert probe.command("SCRIPT", "KILL") == b"+OK\r\n"
            reply = b""
            while not reply.endswith(b"\r\n") or reply.count(b"\r\n") < 2:
                chunk = secure.recv(100)
                assert chunk, reply
                reply += chunk
            assert reply == b"$10\r\nstill-here\r\n"
            assert runner.read_reply().startswith(b"-ERR Script killed by user")
    finally:
        server.process.stop()
