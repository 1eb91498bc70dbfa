"""The web dashboard on the HTTP port, end to end in headless Chromium (Playwright): the page
loads and its charts follow the server, the key browser finds and shows a key of every type
(with paging), the slow log and client list, credentials when a password is set, and the JSON
routes' guarantees (read-only, the dashboard's reads kept out of the statistics, ACL).

Chromium is Debian's (``/usr/bin/chromium``): without it these tests fail, they do not skip
(CI installs it, see .ci/run).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import ServerProcess, free_port, wait_until, zyst_process
from zyst import errors

CHROMIUM = "/usr/bin/chromium"


class Dashboard:
    """A Zyst with its HTTP port, and the URL of the dashboard."""

    def __init__(self, server: ServerProcess, http_port: int) -> None:
        self.server = server
        self.url = f"http://127.0.0.1:{http_port}"

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(port=self.server.port, socket_timeout=10, **kwargs)

    def get(self, path: str, auth: tuple[str, str] | None = None) -> tuple[int, Any, Any]:
        """Status, parsed JSON body (or the text) and headers of a GET."""
        request = urllib.request.Request(self.url + path)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, body, headers = exc.code, exc.read(), exc.headers
            exc.close()
        try:
            return status, json.loads(body), headers
        except ValueError:
            return status, body.decode(), headers


def start_dashboard(workdir: Path, *extra: str) -> Dashboard:
    http_port = free_port()
    server = zyst_process(
        workdir, "--appendonly", "no", "--save", "", "--metrics-port", str(http_port), *extra
    ).start()
    dashboard = Dashboard(server, http_port)

    def answers() -> bool:
        try:
            dashboard.get("/")
        except OSError:
            return False
        return True

    try:
        wait_until(answers, "the HTTP port")
    except BaseException:
        server.stop()
        raise
    return dashboard


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    dashboard = start_dashboard(tmp_path_factory.mktemp("dash"), "--slowlog-log-slower-than", "0")
    with dashboard.server:
        yield dashboard


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    dashboard = start_dashboard(tmp_path_factory.mktemp("dash-auth"), "--requirepass", "s3cret")
    with dashboard.server:
        yield dashboard


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], "the page's script failed"


def chart(page: Page, name: str) -> tuple[int, float]:
    """How many points chart ``name`` has drawn, and its last value."""
    data = page.eval_on_selector(f"#chart-{name}", "c => [c.dataset.points, c.dataset.last]")
    points, last = data
    return int(points), float(last) if points != "0" else 0.0


# -- the page and its charts ---------------------------------------------------------------------
def test_page_loads_and_charts_follow_the_server(dash: Dashboard, page: Page) -> None:
    r = dash.client()
    r.flushall()
    r.set("hit", "1")
    page.goto(dash.url + "/")
    wait_until(lambda: "7.0.15" in page.inner_text("#server-line"), "the server line")
    wait_until(lambda: chart(page, "memory")[0] >= 2, "two points on the memory chart")
    # More clients, and commands that hit a key, until the charts show them.
    extra = [dash.client() for _ in range(6)]
    for client in extra:
        client.ping()
    stop = threading.Event()

    def traffic() -> None:
        with dash.client() as busy:
            while not stop.is_set():
                busy.get("hit")

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        wait_until(lambda: chart(page, "clients")[1] >= 7, "the clients chart to show 7+")
        wait_until(lambda: chart(page, "ops")[1] > 0, "the ops/s chart to rise")
        wait_until(lambda: chart(page, "hits")[1] == 1.0, "the hit ratio chart at 100%")
    finally:
        stop.set()
        worker.join()
        for client in extra:
            client.close()
    wait_until(lambda: chart(page, "clients")[1] <= 2, "the clients chart to fall back")
    assert page.inner_text("#keyspace tbody").split() == ["db0", "1", "0", "0"]


# -- the key browser ---------------------------------------------------------------------------
def find_key(page: Page, pattern: str, name: str) -> None:
    page.fill("#pattern", pattern)
    page.click("#key-search button[type=submit]")
    page.click(f"#key-list li[data-id='{name.encode().hex()}']")
    wait_until(lambda: page.inner_text("#key-detail .meta-key") == name, f"{name} shown")


def meta(page: Page) -> dict[str, str]:
    names = ("key", "type", "ttl", "encoding", "memory", "length")
    return {name: page.inner_text(f"#key-detail .meta-{name}") for name in names}


def value_rows(page: Page) -> list[list[str]]:
    return [
        row.split("\t")
        for row in page.eval_on_selector_all(
            "#collection-value tr:has(td)",
            "rows => rows.map(r => [...r.cells].map(c => c.textContent).join('\\t'))",
        )
    ]


def test_key_browser_shows_every_type(dash: Dashboard, page: Page) -> None:
    r = dash.client()
    r.flushall()
    r.set("t:string", "héllo", ex=1000)
    r.rpush("t:list", "a", "b", "c")
    r.hset("t:hash", mapping={"f1": "v1", "f2": "v2"})
    r.sadd("t:set", "x", "y")
    r.zadd("t:zset", {"low": 1, "high": 2.5})
    r.set("other", "not matched")
    page.goto(dash.url + "/")
    page.fill("#pattern", "t:*")
    page.click("#key-search button[type=submit]")
    wait_until(lambda: page.locator("#key-list li").count() == 5, "the five t:* keys")
    listed = page.inner_text("#key-list")
    assert "other" not in listed

    find_key(page, "t:*", "t:string")
    shown = meta(page)
    assert (shown["type"], shown["encoding"], shown["length"]) == ("string", "embstr", "6")
    assert 990 < float(shown["ttl"].split()[0]) <= 1000
    assert page.inner_text("#string-value") == "héllo"

    find_key(page, "t:*", "t:list")
    assert (meta(page)["type"], meta(page)["ttl"]) == ("list", "none")
    assert value_rows(page) == [["0", "a"], ["1", "b"], ["2", "c"]]

    find_key(page, "t:*", "t:hash")
    assert meta(page)["type"] == "hash"
    assert sorted(value_rows(page)) == [["f1", "v1"], ["f2", "v2"]]

    find_key(page, "t:*", "t:set")
    assert meta(page)["type"] == "set"
    assert sorted(value_rows(page)) == [["x"], ["y"]]

    find_key(page, "t:*", "t:zset")
    assert (meta(page)["type"], meta(page)["encoding"]) == ("zset", "listpack")
    assert value_rows(page) == [["low", "1"], ["high", "2.5"]]


def test_key_browser_pages_through_big_values(dash: Dashboard, page: Page) -> None:
    r = dash.client()
    r.flushall()
    r.rpush("big:list", *[f"e{i}" for i in range(600)])
    # More than hash-max-listpack-entries (512): a listpack hash is one HSCAN page.
    r.hset("big:hash", mapping={f"f{i}": f"v{i}" for i in range(600)})
    r.sadd("big:set", *[f"m{i}" for i in range(600)])
    r.zadd("big:zset", {f"z{i}": i for i in range(600)})
    r.set("big:string", "x" * 20000)
    page.goto(dash.url + "/")

    def next_page(size: Callable[[], int]) -> None:
        before = size()
        page.click("#value-more")
        wait_until(lambda: size() > before, "the next page")

    def read_all(name: str) -> list[list[str]]:
        find_key(page, "big:*", name)
        assert 0 < len(value_rows(page)) < 600, "a big value comes in pages"
        while page.is_visible("#value-more"):
            next_page(lambda: len(value_rows(page)))
        return value_rows(page)

    assert read_all("big:list") == [[str(i), f"e{i}"] for i in range(600)]
    assert sorted(read_all("big:hash")) == sorted([f"f{i}", f"v{i}"] for i in range(600))
    assert sorted(read_all("big:set")) == sorted([f"m{i}"] for i in range(600))
    assert read_all("big:zset") == [[f"z{i}", str(i)] for i in range(600)]

    find_key(page, "big:*", "big:string")
    assert len(page.inner_text("#string-value")) < 20000
    while page.is_visible("#value-more"):
        next_page(lambda: len(page.inner_text("#string-value")))
    assert page.inner_text("#string-value") == "x" * 20000


def test_binary_key_and_missing_key(dash: Dashboard) -> None:
    r = dash.client()
    r.flushall()
    r.set(b"bin\xff\x00key", b"\x01\xfe")
    status, found, _ = dash.get("/api/keys?pattern=bin*")
    assert status == 200
    assert found["keys"] == [
        {"name": "bin\\xff\x00key", "id": b"bin\xff\x00key".hex(), "type": "string"}
    ]
    status, key, _ = dash.get("/api/key?id=" + found["keys"][0]["id"])
    assert (status, key["value"], key["length"]) == (200, "\x01\\xfe", 2)
    assert dash.get("/api/key?id=" + b"gone".hex())[:2] == (404, {"error": "ERR no such key"})
    assert dash.get("/api/keys?db=16")[0] == 400


# -- slow log and clients ------------------------------------------------------------------------
def test_slowlog_and_client_list(dash: Dashboard, page: Page) -> None:
    r = dash.client()
    r.client_setname("dash-test-client")
    r.slowlog_reset()
    r.execute_command("ECHO", "marked-for-the-slowlog")
    page.goto(dash.url + "/")
    wait_until(
        lambda: "ECHO marked-for-the-slowlog" in page.inner_text("#slowlog tbody"), "the slowlog"
    )
    wait_until(lambda: "dash-test-client" in page.inner_text("#clients tbody"), "the client")
    # The dashboard's own commands are not among them: its INFO every second is not in the slow
    # log (slower-than 0 logs every command), its client (id 0) not in CLIENT LIST.
    wait_until(lambda: chart(page, "memory")[0] >= 2, "two INFOs by the page")
    r.ping()  # (a batch of commands: what ran before it is accounted for by now)
    logged = {entry["command"].split()[0].upper() for entry in r.slowlog_get(128)}
    assert b"INFO" not in logged
    assert b"ECHO" in logged
    ids = page.eval_on_selector_all(
        "#clients tbody tr", "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert "0" not in ids


def test_dashboard_reads_stay_out_of_the_statistics(dash: Dashboard) -> None:
    r = dash.client()
    r.flushall()
    r.config_resetstat()
    r.rpush("l", "a")
    for path in ("/api/stats", "/api/keys?pattern=*", "/api/key?id=" + b"l".hex()):
        assert dash.get(path)[0] == 200
    r.ping()  # (a batch of commands: what ran before it is accounted for by now)
    stats = r.info("commandstats")
    assert set(stats) == {"cmdstat_rpush", "cmdstat_config|resetstat", "cmdstat_ping"}
    assert r.info("stats")["total_commands_processed"] == 4  # RESETSTAT, RPUSH, PING, INFO


def test_only_read_commands_are_allowed() -> None:
    from zyst.commands import table
    from zyst.server import Server  # noqa: F401  (registers every command)
    from zyst.web.reader import ALLOWED

    declared = {cmd.name: cmd for cmd in table.COMMANDS.values()}
    for cmd in list(declared.values()):
        for sub in cmd.subcommands.values():
            declared[sub.name] = sub
    assert set(declared) >= ALLOWED
    assert [name for name in ALLOWED if declared[name].write] == []


# -- credentials -------------------------------------------------------------------------------
def test_credentials_asked_for_when_a_password_is_set(locked: Dashboard, browser: Browser) -> None:
    status, _, headers = locked.get("/")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Basic realm="Zyst"')
    for path in ("/api/stats", "/api/keys", "/api/clients", "/static/dashboard.js"):
        assert locked.get(path)[0] == 401
        assert locked.get(path, auth=("default", "wrong"))[0] == 401
    assert locked.get("/api/stats", auth=("", "s3cret"))[0] == 200

    # The browser is asked for credentials: headless Chromium, having none to give, gives up
    # on the page with this error; given wrong ones, it is refused again; with the right ones
    # the page works.
    context = browser.new_context()
    try:
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            context.new_page().goto(locked.url + "/")
    finally:
        context.close()
    context = browser.new_context(http_credentials={"username": "default", "password": "no"})
    try:
        response = context.new_page().goto(locked.url + "/")
        assert response is not None
        assert response.status == 401
    finally:
        context.close()
    context = browser.new_context(http_credentials={"username": "default", "password": "s3cret"})
    try:
        page = context.new_page()
        response = page.goto(locked.url + "/")
        assert response is not None
        assert response.status == 200
        wait_until(lambda: chart(page, "memory")[0] >= 1, "the charts with credentials")
    finally:
        context.close()


def test_acl_user_sees_what_it_may_read(locked: Dashboard) -> None:
    r = locked.client(password="s3cret")
    r.set("pub:a", "1")
    r.set("secret:b", "2")
    r.acl_setuser(
        "viewer",
        enabled=True,
        passwords=["+pw"],
        keys=["pub:*"],
        categories=["+@read"],
        commands=["+info"],
    )
    try:
        status, body, _ = locked.get("/api/key?id=" + b"pub:a".hex(), auth=("viewer", "pw"))
        assert (status, body["value"]) == (200, "1")
        assert locked.get("/api/key?id=" + b"secret:b".hex(), auth=("viewer", "pw"))[:2] == (
            403,
            {"error": errors.NOPERM_KEY},
        )
        assert locked.get("/api/clients", auth=("viewer", "pw"))[:2] == (
            403,
            {"error": errors.noperm_command("client|list")},
        )
        assert locked.get("/api/stats", auth=("viewer", "wrong"))[0] == 401
    finally:
        r.acl_deluser("viewer")
