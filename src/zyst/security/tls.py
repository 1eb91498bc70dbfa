"""TLS for client connections: the server's :class:`ssl.SSLContext`, made from the ``tls-*``
settings as Redis 7.0's ``tlsConfigure`` makes its ``SSL_CTX``.

- TLS is configured when ``tls-port``, ``tls-replication`` or ``tls-cluster`` asks for it: at
  start (a failure stops the server) and again after CONFIG SET changes any setting of
  :data:`RECONFIGURING` (a failure refuses the change and keeps the context in use). Setting
  ``tls-port`` configures TLS only if it was not configured yet, as in Redis.
- A configuration is all or nothing: a new context replaces the old only once it is complete;
  connections already made keep theirs.
- ``tls-auth-clients`` is read per connection in Redis (no reconfiguring): here it sets the
  verify mode of the context in use, which new connections take: ``yes`` a client must show a
  certificate the CA settings trust, ``optional`` one it shows must be trusted, ``no`` none is
  asked for.
- Every reason a configuration fails is logged in Redis's words before :class:`TlsConfigError`.

The crypto is OpenSSL's, through :mod:`ssl`; :mod:`zyst.security.openssl` reaches the two knobs
:mod:`ssl` lacks (TLS 1.3 ciphersuites, the session cache).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable
from typing import NoReturn

from zyst import errors
from zyst.config import Config
from zyst.security.openssl import native

__all__ = [
    "RECONFIGURING",
    "Tls",
    "TlsConfigError",
    "make_context",
    "parse_protocols",
    "verify_mode",
    "wanted",
]

log = logging.getLogger("zyst")

RECONFIGURING = (
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-replication",
    "tls-cluster",
)
"""The settings whose change configures TLS anew (Redis's ``applyTlsCfg``)."""

_VERSIONS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
_DEFAULT_VERSIONS = frozenset({ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3})
_VERIFY = {
    "no": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "yes": ssl.CERT_REQUIRED,
}


class TlsConfigError(Exception):
    """TLS could not be configured; the reason is in the log already."""


def wanted(config: Config) -> bool:
    """Whether the settings ask for TLS at all."""
    return bool(config.tls_port or config.tls_replication or config.tls_cluster)


def verify_mode(auth_clients: str) -> ssl.VerifyMode:
    """The verify mode of ``tls-auth-clients`` (anything unknown: the strictest, as Redis)."""
    return _VERIFY.get(auth_clients, ssl.CERT_REQUIRED)


def parse_protocols(text: str) -> frozenset[ssl.TLSVersion]:
    """``tls-protocols``: versions separated by spaces, any case; empty: TLSv1.2 and TLSv1.3."""
    if not text:
        return _DEFAULT_VERSIONS
    versions: set[ssl.TLSVersion] = set()
    for token in text.split(" "):
        version = _VERSIONS.get(token.lower())
        if version is None:
            _fail(
                "Invalid tls-protocols specified. "
                "Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
            )
        versions.add(version)
    return frozenset(versions)


def _fail(reason: str) -> NoReturn:
    log.warning("%s", reason)
    raise TlsConfigError(reason)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _base_context(
    config: Config, versions: frozenset[ssl.TLSVersion], client: bool
) -> ssl.SSLContext:
    """What the server's and the outgoing context share (Redis's ``createSSLContext``)."""
    if client:
        cert, key, password = (
            config.tls_client_cert_file,
            config.tls_client_key_file,
            config.tls_client_key_file_pass,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        cert, key, password = config.tls_cert_file, config.tls_key_file, config.tls_key_file_pass
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # A gap in the list (TLSv1 and TLSv1.3 alone) cannot be expressed without the deprecated
    # OP_NO_* options: the range from the oldest to the newest version named is allowed.
    context.minimum_version = min(versions)
    context.maximum_version = max(versions)
    try:
        # Always a password (empty if none): without one OpenSSL would prompt on the terminal.
        context.load_cert_chain(cert, key, password=password.encode())
    except (OSError, ssl.SSLError) as exc:
        _fail(f"Failed to load certificate: {cert} or private key: {key}: {_reason(exc)}")
    if config.tls_ca_cert_file or config.tls_ca_cert_dir:
        try:
            context.load_verify_locations(
                cafile=config.tls_ca_cert_file or None, capath=config.tls_ca_cert_dir or None
            )
        except (OSError, ssl.SSLError) as exc:
            _fail(f"Failed to configure CA certificate(s) file/directory: {_reason(exc)}")
    try:
        # Redis leaves OpenSSL's default list in place; Python's is a narrower one of its own.
        context.set_ciphers(config.tls_ciphers or "DEFAULT")
    except ssl.SSLError:
        _fail(f"Failed to configure ciphers: {config.tls_ciphers}")
    if config.tls_ciphersuites:
        hooks = native()
        if hooks is None or not hooks.set_ciphersuites(context, config.tls_ciphersuites):
            _fail(f"Failed to configure ciphersuites: {config.tls_ciphersuites}")
    return context


def make_context(config: Config) -> ssl.SSLContext:
    """A complete server context from the settings; TlsConfigError (logged) when they do not
    make one. The outgoing context (``tls-client-*``) is checked too, though unused as yet."""
    if not config.tls_cert_file:
        _fail("No tls-cert-file configured!")
    if not config.tls_key_file:
        _fail("No tls-key-file configured!")
    if (config.tls_auth_clients != "no" or config.tls_cluster or config.tls_replication) and not (
        config.tls_ca_cert_file or config.tls_ca_cert_dir
    ):
        _fail(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!"
        )
    versions = parse_protocols(config.tls_protocols)
    context = _base_context(config, versions, client=False)
    hooks = native()
    if hooks is None:
        log.warning(
            "TLS session cache settings cannot be applied here: OpenSSL's defaults are in use"
        )
    elif config.tls_session_caching:
        hooks.set_session_cache(
            context, config.tls_session_cache_size, config.tls_session_cache_timeout
        )
    else:
        hooks.disable_session_cache(context)
    if not config.tls_session_caching:
        # No resumption at all: without tickets too (a ticket resumes without the cache).
        # Redis only turns the cache off, and then refuses a client that offers a session
        # ("session id context uninitialized"); a full handshake is what it means to do.
        context.options |= ssl.OP_NO_TICKET
    if config.tls_prefer_server_ciphers:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        # Python sets it by default; Redis leaves the choice to the client unless told.
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if config.tls_dh_params_file:
        path = config.tls_dh_params_file
        if not os.path.exists(path):
            _fail(f"Failed to load {path}: {os.strerror(2)}")
        try:
            context.load_dh_params(path)
        except (OSError, ssl.SSLError):
            _fail(f"{path}: failed to read DH params.")
    if config.tls_client_cert_file and config.tls_client_key_file:
        _base_context(config, versions, client=True)
    context.verify_mode = verify_mode(config.tls_auth_clients)
    return context


class Tls:
    """The server's TLS context, kept in step with its settings.

    ``on_context`` is called with each new context once it replaces the old one (the server
    gives it to its TLS listeners)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.context: ssl.SSLContext | None = None
        self.on_context: Callable[[ssl.SSLContext], None] | None = None

    def configure(self) -> ssl.SSLContext:
        """Make a context from the settings and use it; TlsConfigError (logged) if they do
        not make one, the context in use kept."""
        context = make_context(self.config)
        self.context = context
        if self.on_context is not None:
            self.on_context(context)
        return context

    def ensure(self) -> ssl.SSLContext:
        """The context in use, made first if there is none yet (Redis's ``applyTLSPort``)."""
        if self.context is not None:
            return self.context
        return self.configure()

    def settings_changed(self, name: str) -> None:
        """CONFIG SET of a :data:`RECONFIGURING` setting: configure anew when TLS is wanted;
        ValueError with Redis's reply when that fails."""
        if not wanted(self.config):
            return
        try:
            self.configure()
        except TlsConfigError:
            raise ValueError(errors.TLS_UPDATE_FAILED) from None

    def auth_clients_changed(self, name: str) -> None:
        """CONFIG SET tls-auth-clients: new connections are verified the new way."""
        if self.context is not None:
            self.context.verify_mode = verify_mode(self.config.tls_auth_clients)
