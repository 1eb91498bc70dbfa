"""What Python's :mod:`ssl` does not expose of OpenSSL and Redis's TLS settings need: TLS 1.3
ciphersuites (``tls-ciphersuites``) and the server's session cache (``tls-session-caching``,
``tls-session-cache-size``, ``tls-session-cache-timeout``).

These are set on the ``SSL_CTX`` behind an :class:`ssl.SSLContext`, through the same libssl the
``_ssl`` module runs on (found among the libraries the process has mapped). CPython's context
object starts with a pointer to its ``SSL_CTX`` right after the object header; the pointer is
trusted only when OpenSSL reads back, through it, the options the context reports. When any of
this fails (another layout, another library), :func:`native` is None and the settings cannot be
applied: :mod:`zyst.security.tls` says so in the log. Nothing here touches keys or data: it only
calls OpenSSL's configuration functions, as Redis does.
"""

from __future__ import annotations

import ctypes
import functools
import ssl

__all__ = ["Native", "native"]

# From OpenSSL's ssl.h (stable across 1.1 and 3.x).
_SET_SESS_CACHE_SIZE = 42
_GET_SESS_CACHE_SIZE = 43
_SET_SESS_CACHE_MODE = 44
_GET_SESS_CACHE_MODE = 45
SESS_CACHE_OFF = 0
SESS_CACHE_SERVER = 2


class Native:
    """libssl's configuration calls on the ``SSL_CTX`` of a Python context."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
        lib.SSL_CTX_set_timeout.restype = ctypes.c_long
        lib.SSL_CTX_get_timeout.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_timeout.restype = ctypes.c_long

    def _ctx(self, context: ssl.SSLContext) -> int:
        pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
        if not pointer or self._lib.SSL_CTX_get_options(pointer) != int(context.options):
            raise RuntimeError("cannot reach the SSL_CTX of a Python SSLContext")
        return pointer

    def set_ciphersuites(self, context: ssl.SSLContext, suites: str) -> bool:
        """``SSL_CTX_set_ciphersuites``: False when OpenSSL refuses the list."""
        ctx = self._ctx(context)
        return bool(self._lib.SSL_CTX_set_ciphersuites(ctx, suites.encode("latin-1", "replace")))

    def set_session_cache(self, context: ssl.SSLContext, size: int, timeout: int) -> None:
        """A server-side session cache of ``size`` sessions (0: no limit), each resumable for
        ``timeout`` seconds. (The session id context a resumption with a client certificate
        needs is set by Python already.)"""
        ctx = self._ctx(context)
        self._lib.SSL_CTX_ctrl(ctx, _SET_SESS_CACHE_MODE, SESS_CACHE_SERVER, None)
        self._lib.SSL_CTX_ctrl(ctx, _SET_SESS_CACHE_SIZE, size, None)
        self._lib.SSL_CTX_set_timeout(ctx, timeout)

    def disable_session_cache(self, context: ssl.SSLContext) -> None:
        self._lib.SSL_CTX_ctrl(self._ctx(context), _SET_SESS_CACHE_MODE, SESS_CACHE_OFF, None)

    def session_cache(self, context: ssl.SSLContext) -> tuple[int, int, int]:
        """(mode, size, timeout) of the session cache, as OpenSSL holds them."""
        ctx = self._ctx(context)
        mode = self._lib.SSL_CTX_ctrl(ctx, _GET_SESS_CACHE_MODE, 0, None)
        size = self._lib.SSL_CTX_ctrl(ctx, _GET_SESS_CACHE_SIZE, 0, None)
        return int(mode), int(size), int(self._lib.SSL_CTX_get_timeout(ctx))


def _mapped_libssl() -> str | None:
    """The path of the libssl this process has loaded (for the ``_ssl`` module)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and "/libssl." in fields[5]:
                    return fields[5]
    except OSError:
        return None
    return None


@functools.cache
def native() -> Native | None:
    """The hooks, or None where they cannot be trusted (see the module's docstring)."""
    path = _mapped_libssl()
    if path is None:
        return None
    try:
        hooks = Native(ctypes.CDLL(path))
        hooks._ctx(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    except (OSError, AttributeError, RuntimeError):
        return None
    return hooks
