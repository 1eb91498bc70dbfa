"""The server's TLS context as zyst.security.tls makes it from the settings: what OpenSSL ends
up holding (read back through zyst.security.openssl), and the refusals with Redis's reasons."""

from __future__ import annotations

import logging
import ssl

import pytest

from tests.server.tlscerts import Certs, make_certs
from zyst.config import Config
from zyst.security import tls
from zyst.security.openssl import SESS_CACHE_OFF, SESS_CACHE_SERVER, native


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def config_for(certs: Certs, **settings: object) -> Config:
    config = Config()
    config.tls_cert_file = str(certs.server_cert)
    config.tls_key_file = str(certs.server_key)
    config.tls_ca_cert_file = str(certs.ca)
    for name, value in settings.items():
        setattr(config, name, value)
    return config


def test_defaults_are_redis_defaults(certs: Certs) -> None:
    context = tls.make_context(config_for(certs))
    hooks = native()
    assert hooks is not None
    assert hooks.session_cache(context) == (SESS_CACHE_SERVER, 20 * 1024, 300)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert (context.minimum_version, context.maximum_version) == (
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_3,
    )
    assert not context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert not context.options & ssl.OP_NO_TICKET


def test_session_cache_settings_reach_openssl(certs: Certs) -> None:
    hooks = native()
    assert hooks is not None
    context = tls.make_context(
        config_for(certs, tls_session_cache_size=10, tls_session_cache_timeout=5)
    )
    assert hooks.session_cache(context) == (SESS_CACHE_SERVER, 10, 5)
    context = tls.make_context(config_for(certs, tls_session_caching=False))
    assert hooks.session_cache(context)[0] == SESS_CACHE_OFF
    assert context.options & ssl.OP_NO_TICKET


@pytest.mark.parametrize(
    ("auth", "mode"),
    [("yes", ssl.CERT_REQUIRED), ("optional", ssl.CERT_OPTIONAL), ("no", ssl.CERT_NONE)],
)
def test_tls_auth_clients_is_the_verify_mode(certs: Certs, auth: str, mode: ssl.VerifyMode):
    assert tls.make_context(config_for(certs, tls_auth_clients=auth)).verify_mode == mode


def test_protocols_and_server_preference(certs: Certs) -> None:
    context = tls.make_context(
        config_for(certs, tls_protocols="tlsv1.3", tls_prefer_server_ciphers=True)
    )
    assert context.minimum_version == context.maximum_version == ssl.TLSVersion.TLSv1_3
    assert context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert tls.parse_protocols("TLSv1.2 TLSv1.3") == {
        ssl.TLSVersion.TLSv1_2,
        ssl.TLSVersion.TLSv1_3,
    }


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"tls_cert_file": ""}, "No tls-cert-file configured!"),
        ({"tls_key_file": ""}, "No tls-key-file configured!"),
        (
            {"tls_ca_cert_file": ""},
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!",
        ),
        (
            {"tls_protocols": "TLSv1.2  TLSv1.3"},
            "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', "
            "'TLSv1.2' and 'TLSv1.3'.",
        ),
        ({"tls_ciphers": "bogus"}, "Failed to configure ciphers: bogus"),
        ({"tls_ciphersuites": "bogus"}, "Failed to configure ciphersuites: bogus"),
        (
            {"tls_dh_params_file": "/nonexistent"},
            "Failed to load /nonexistent: No such file or directory",
        ),
    ],
)
def test_refusals_are_logged_in_redis_words(
    certs: Certs,
    settings: dict[str, str],
    reason: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger("zyst"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="zyst"), pytest.raises(tls.TlsConfigError):
        tls.make_context(config_for(certs, **settings))
    assert reason in caplog.messages


def test_a_failed_reconfiguration_keeps_the_context_in_use(certs: Certs) -> None:
    config = config_for(certs)
    state = tls.Tls(config)
    given: list[ssl.SSLContext] = []
    state.on_context = given.append
    first = state.configure()
    config.tls_port = 6380
    config.tls_ciphers = "bogus"
    with pytest.raises(ValueError, match="Unable to update TLS configuration"):
        state.settings_changed("tls-ciphers")
    assert state.context is first and given == [first]
    config.tls_ciphers = ""
    state.settings_changed("tls-ciphers")
    assert state.context is not first and given[-1] is state.context
    config.tls_auth_clients = "optional"
    state.auth_clients_changed("tls-auth-clients")
    assert state.context.verify_mode == ssl.CERT_OPTIONAL
