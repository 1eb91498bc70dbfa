"""The HTTP port: one aiohttp application on the server's event loop.

:func:`build_app` makes the application and lets each feature add its routes;
:class:`HttpPort` listens with it on ``metrics-bind`` : ``metrics-port``. The server starts the
port after its own listeners and stops it at shutdown. Handlers run on the event loop between
batches of commands, so what they read of the server is consistent, and they must stay short:
a scrape is a few dictionary reads, never a walk over the keys.
"""

from __future__ import annotations

import logging

from aiohttp import web

from zyst.context import ServerContext
from zyst.web import dashboard, metrics

log = logging.getLogger("zyst")


def build_app(ctx: ServerContext) -> web.Application:
    """The application every route of the HTTP port belongs to."""
    app = web.Application()
    metrics.add_routes(app, ctx)
    dashboard.add_routes(app, ctx)
    return app


class HttpPort:
    """The HTTP listener: :meth:`start` binds ``host``:``port`` (0: a free port, then
    :attr:`port` holds the one bound) and serves :func:`build_app`'s application;
    :meth:`stop` closes the socket and the open HTTP connections."""

    def __init__(self, ctx: ServerContext, host: str, port: int) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen and serve; OSError when the address cannot be bound."""
        # No access log (a scrape a second would flood the server's log); a request still
        # running at shutdown gets a second to finish, not aiohttp's minute.
        runner = web.AppRunner(
            build_app(self.ctx), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            # (host, port) for IPv4, (host, port, flow, scope) for IPv6.
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        log.info("HTTP port (metrics) listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close the HTTP connections (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
