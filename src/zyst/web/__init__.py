"""The HTTP port (``metrics-port``): Prometheus metrics at ``/metrics`` and the dashboard, served
by aiohttp on the server's own event loop. Nothing here is imported unless the port is on.

Layout: :mod:`zyst.web.http` makes the application and owns the listening socket;
:mod:`zyst.web.metrics` reads the server's state at scrape time; each feature adds its routes
to the one application through an ``add_routes(app, ctx)`` function.
"""
