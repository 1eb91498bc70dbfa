"""The web dashboard on the HTTP port: the page at ``/``, its static files, and the JSON it
reads.

Routes (all GET; JSON bodies; an error is ``{"error": text}`` with 400, 403 or 404):

- ``/`` the page, ``/static/{name}`` its script and style sheet (from ``zyst/web/static``);
- ``/api/stats``: INFO's default sections, each a ``{field: value}`` object;
- ``/api/keys?db=&pattern=&cursor=&count=``: SCAN with MATCH from ``cursor`` until ``count``
  keys were found or the keyspace was walked; ``{"cursor", "keys": [{"name", "id", "type"}]}``
  (``cursor`` "0" when done);
- ``/api/key?db=&id=&page=&count=``: one key: type, TTL (ms, -1 none), encoding, memory,
  length and one page of its value; ``next`` is the ``page`` of the following one (``null``
  after the last). A string's page is 8 KiB of it, a list's and a sorted set's ``count``
  elements from an offset, a hash's and a set's one HSCAN/SSCAN step from a cursor;
- ``/api/slowlog?count=``: SLOWLOG GET's entries;
- ``/api/clients``: CLIENT LIST, each client a ``{field: value}`` object.

Keys travel as ``id``: the key's bytes in hex, since a key need not be UTF-8; ``name`` is
for showing (UTF-8, other bytes escaped). Values are shown the same way.

Read-only: every command goes through :class:`zyst.web.reader.Reader`, which runs only reads.
Credentials: while the default user has a password or is off (``requirepass``, ACL users),
every route of the dashboard answers 401 with an HTTP Basic challenge until the browser sends
a user and password :meth:`zyst.security.acl.Acl.authenticate` accepts (an empty user name
means ``default``); the commands then run as that user, with its permissions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from zyst import errors
from zyst.web.reader import Reader, ReadError

if TYPE_CHECKING:
    from zyst.context import ServerContext
    from zyst.security.acl import User

_STATIC: Final = {
    "index.html": "text/html",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}
STRING_PAGE: Final = 8192
MAX_COUNT: Final = 1000
# SCAN steps one key search may take: a pattern matching nothing in a big keyspace answers
# with a cursor to go on from rather than holding the event loop.
_SCAN_STEPS: Final = 50
_CHALLENGE: Final = {"WWW-Authenticate": 'Basic realm="Zyst", charset="UTF-8"'}
_LENGTH: Final = {
    b"string": "strlen",
    b"list": "llen",
    b"hash": "hlen",
    b"set": "scard",
    b"zset": "zcard",
}

Route = Callable[[web.Request, "User"], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, ctx: ServerContext) -> None:
    """Add the dashboard's routes to the HTTP port's application."""
    dashboard = Dashboard(ctx)
    app.router.add_get("/", dashboard.guarded(dashboard.page))
    app.router.add_get("/static/{name}", dashboard.guarded(dashboard.static))
    app.router.add_get("/api/stats", dashboard.guarded(dashboard.stats))
    app.router.add_get("/api/keys", dashboard.guarded(dashboard.keys))
    app.router.add_get("/api/key", dashboard.guarded(dashboard.key))
    app.router.add_get("/api/slowlog", dashboard.guarded(dashboard.slowlog))
    app.router.add_get("/api/clients", dashboard.guarded(dashboard.clients))


def text(value: bytes) -> str:
    """Bytes for showing: UTF-8, any other byte as ``\\xNN``."""
    return value.decode("utf-8", "backslashreplace")


def _int_arg(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ReadError(errors.DASHBOARD_BAD_ARGUMENT) from None
    if not low <= value <= high:
        raise ReadError(errors.DASHBOARD_BAD_ARGUMENT)
    return value


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=json.dumps)


def parse_info(raw: bytes) -> dict[str, dict[str, str]]:
    """INFO's text as sections (lower-case names) of ``field: value``."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text(raw).splitlines():
        if line.startswith("# "):
            current = sections.setdefault(line[2:].strip().lower(), {})
        elif ":" in line:
            name, _, value = line.partition(":")
            current[name] = value
    return sections


def parse_fields(line: str) -> dict[str, str]:
    """``a=1 b=2`` (a CLIENT LIST line, a keyspace line split at commas) as a dict."""
    fields: dict[str, str] = {}
    for part in line.split(" "):
        name, sep, value = part.partition("=")
        if sep:
            fields[name] = value
    return fields


class Dashboard:
    """The dashboard's handlers for one server."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.reader = Reader(ctx)
        self._files: dict[str, bytes] = {}

    # -- credentials ----------------------------------------------------------------------------
    def user_of(self, request: web.Request) -> User | None:
        """The user the request acts as, or ``None`` when it must (again) give credentials."""
        acl = self.ctx.acl
        default = acl.default
        if default.nopass and default.enabled:
            return default
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        name, sep, password = decoded.partition(b":")
        if not sep:
            return None
        username = name.decode("utf-8", "surrogateescape") or "default"
        return acl.authenticate(username, password)

    def guarded(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """``route`` behind the credentials check, its :class:`ReadError` as a JSON error."""

        async def handle(request: web.Request) -> web.StreamResponse:
            user = self.user_of(request)
            if user is None:
                return web.Response(status=401, text="credentials required\n", headers=_CHALLENGE)
            try:
                return await route(request, user)
            except ReadError as exc:
                status = 403 if exc.denied else 400
                if exc.message == errors.DASHBOARD_NO_SUCH_KEY:
                    status = 404
                return _json({"error": exc.message}, status)

        return handle

    # -- the page -------------------------------------------------------------------------------
    async def page(self, request: web.Request, user: User) -> web.StreamResponse:
        return self._file("index.html")

    async def static(self, request: web.Request, user: User) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        return self._file(name)

    def _file(self, name: str) -> web.Response:
        body = self._files.get(name)
        if body is None:
            body = (resources.files("zyst.web") / "static" / name).read_bytes()
            self._files[name] = body
        headers = {"Cache-Control": "no-cache"}
        return web.Response(body=body, content_type=_STATIC[name], headers=headers)

    # -- JSON -----------------------------------------------------------------------------------
    async def stats(self, request: web.Request, user: User) -> web.StreamResponse:
        info = parse_info(self.reader.run(user, 0, "info"))
        dbs = {
            name: {k: int(v) for k, v in parse_fields(line.replace(",", " ")).items()}
            for name, line in info.get("keyspace", {}).items()
        }
        return _json({"info": info, "dbs": dbs, "databases": len(self.ctx.keyspace.dbs)})

    async def keys(self, request: web.Request, user: User) -> web.StreamResponse:
        db = self._db(request)
        pattern = request.query.get("pattern", "") or "*"
        count = _int_arg(request, "count", 100, 1, MAX_COUNT)
        cursor = request.query.get("cursor", "0") or "0"
        if not cursor.isdigit():
            raise ReadError(errors.DASHBOARD_BAD_ARGUMENT)
        run = self.reader.run
        found: list[bytes] = []
        for _ in range(_SCAN_STEPS):
            reply = run(user, db, "scan", cursor, "match", pattern.encode(), "count", count)
            cursor = reply[0].decode()
            found.extend(reply[1])
            if cursor == "0" or len(found) >= count:
                break
        keys = []
        for key in found:
            kind = run(user, db, "type", key)
            keys.append({"name": text(key), "id": key.hex(), "type": text(kind)})
        return _json({"cursor": cursor, "keys": keys})

    async def key(self, request: web.Request, user: User) -> web.StreamResponse:
        db = self._db(request)
        try:
            key = bytes.fromhex(request.query.get("id", ""))
        except ValueError:
            raise ReadError(errors.DASHBOARD_BAD_ARGUMENT) from None
        count = _int_arg(request, "count", 100, 1, MAX_COUNT)
        page = request.query.get("page", "0") or "0"
        if not page.isdigit():
            raise ReadError(errors.DASHBOARD_BAD_ARGUMENT)
        start = int(page)
        run = self.reader.run
        kind = run(user, db, "type", key)
        if kind == b"none":
            raise ReadError(errors.DASHBOARD_NO_SUCH_KEY)
        length_command = _LENGTH.get(kind)
        length: int = run(user, db, length_command, key) if length_command else 0
        value: Any = None
        after: int | None = None
        if kind == b"string":
            chunk = run(user, db, "getrange", key, start, start + STRING_PAGE - 1)
            value = text(chunk)
            after = start + len(chunk) if chunk and start + len(chunk) < length else None
        elif kind == b"list":
            value = [text(v) for v in run(user, db, "lrange", key, start, start + count - 1)]
            after = start + count if start + count < length else None
        elif kind == b"zset":
            flat = run(user, db, "zrange", key, start, start + count - 1, "withscores")
            value = [[text(m), text(s)] for m, s in zip(flat[::2], flat[1::2], strict=True)]
            after = start + count if start + count < length else None
        elif kind in (b"hash", b"set"):
            command = "hscan" if kind == b"hash" else "sscan"
            cursor, items = run(user, db, command, key, start, "count", count)
            if kind == b"hash":
                value = [[text(f), text(v)] for f, v in zip(items[::2], items[1::2], strict=True)]
            else:
                value = [text(m) for m in items]
            after = None if cursor == b"0" else int(cursor)
        return _json(
            {
                "name": text(key),
                "id": key.hex(),
                "type": text(kind),
                "ttl": run(user, db, "pttl", key),
                "encoding": text(run(user, db, "object", "encoding", key)),
                "memory": run(user, db, "memory", "usage", key),
                "length": length,
                "page": start,
                "value": value,
                "next": None if after is None else str(after),
            }
        )

    async def slowlog(self, request: web.Request, user: User) -> web.StreamResponse:
        count = _int_arg(request, "count", 50, 1, MAX_COUNT)
        entries = []
        for entry in self.reader.run(user, 0, "slowlog", "get", count):
            ident, when, micros, args, addr, name = entry
            entries.append(
                {
                    "id": ident,
                    "time": when,
                    "duration_us": micros,
                    "args": [text(a) for a in args],
                    "client": text(addr),
                    "name": text(name),
                }
            )
        return _json({"entries": entries})

    async def clients(self, request: web.Request, user: User) -> web.StreamResponse:
        listing = text(self.reader.run(user, 0, "client", "list"))
        return _json({"clients": [parse_fields(line) for line in listing.splitlines() if line]})

    def _db(self, request: web.Request) -> int:
        return _int_arg(request, "db", 0, 0, len(self.ctx.keyspace.dbs) - 1)
