"""Certificates for the TLS tests, made with the ``openssl`` command-line tool: a CA, a server
certificate it signs (for localhost and 127.0.0.1), a second one (to see a reload take effect),
a client certificate it signs, a client certificate of another CA (untrusted), and the server
key again encrypted with a passphrase."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY_PASSPHRASE = "zyst-test-pass"


@dataclass(frozen=True)
class Certs:
    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path
    other_server_cert: Path
    other_server_key: Path
    encrypted_server_key: Path
    client_cert: Path
    client_key: Path
    untrusted_cert: Path
    untrusted_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
    )  # fmt: skip
    return cert, key


def _signed(
    directory: Path, name: str, ca: tuple[Path, Path], san: str | None = None
) -> tuple[Path, Path]:
    cert, key, csr = (directory / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", f"/CN={name}",
    )  # fmt: skip
    extra: list[str] = []
    if san is not None:
        ext = directory / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", str(ext)]
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-days", "2", "-out", str(cert), *extra,
    )  # fmt: skip
    return cert, key


def make_certs(directory: Path) -> Certs:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the TLS tests' certificates")
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(directory, "zyst-test-ca")
    other_ca = _ca(directory, "untrusted-ca")
    san = "DNS:localhost,IP:127.0.0.1"
    server = _signed(directory, "server", ca, san)
    other = _signed(directory, "other-server", ca, san)
    client = _signed(directory, "client", ca)
    untrusted = _signed(directory, "untrusted-client", other_ca)
    encrypted = directory / "server-encrypted.key"
    _openssl(
        "pkey", "-in", str(server[1]), "-out", str(encrypted), "-aes256",
        "-passout", f"pass:{KEY_PASSPHRASE}",
    )  # fmt: skip
    return Certs(
        directory,
        ca[0],
        server[0],
        server[1],
        other[0],
        other[1],
        encrypted,
        client[0],
        client[1],
        untrusted[0],
        untrusted[1],
    )


def tls_args(certs: Certs, tls_port: int, *, auth_clients: str = "yes") -> list[str]:
    """Command-line options that turn TLS on at ``tls_port`` (for Zyst and redis-server)."""
    return [
        "--tls-port", str(tls_port),
        "--tls-cert-file", str(certs.server_cert),
        "--tls-key-file", str(certs.server_key),
        "--tls-ca-cert-file", str(certs.ca),
        "--tls-auth-clients", auth_clients,
    ]  # fmt: skip
