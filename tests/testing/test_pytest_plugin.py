"""The pytest plugin (zyst.testing.pytest_plugin), through pytester: sample projects that use its
fixtures, run in a pytest process of their own (the plugin comes in through its entry point, as
in a user's project), with and without pytest-xdist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Each sample project runs with warnings as errors, as ours does.
INI = """
[pytest]
filterwarnings = error
asyncio_default_fixture_loop_scope = function
{extra}
"""

SAMPLE = """
import os

import pytest


def test_a_client_of_an_empty_database(zyst_client, zyst_url, zyst_server):
    assert zyst_url == f"redis://127.0.0.1:{zyst_server.port}/0"
    assert zyst_client.dbsize() == 0
    zyst_client.set("left", "behind")
    zyst_client.rpush("list", 1, 2, 3)
    assert zyst_client.lrange("list", 0, -1) == [b"1", b"2", b"3"]


def test_the_next_test_starts_empty(zyst_client):
    assert zyst_client.keys() == []


def test_zyst_and_redis_give_the_same_error(zyst_and_redis_client):
    zyst_and_redis_client.set("s", "x")
    with pytest.raises(Exception) as info:
        zyst_and_redis_client.lpush("s", 1)
    assert str(info.value) == (
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    )


@pytest.mark.asyncio
async def test_async_client(zyst_async_client):
    await zyst_async_client.set("a", "1")
    assert await zyst_async_client.incr("a") == 2
"""


def write_project(pytester: pytest.Pytester, extra_ini: str = "", **modules: str) -> None:
    pytester.makeini(INI.format(extra=extra_ini))
    pytester.makepyfile(**modules)


def test_sample_project(pytester: pytest.Pytester) -> None:
    write_project(pytester, test_sample=SAMPLE)
    result = pytester.runpytest_subprocess("-v")
    # The comparison test ran twice: on Zyst and on redis-server (installed here).
    result.stdout.fnmatch_lines(
        [
            "*test_zyst_and_redis_give_the_same_error?zyst? PASSED*",
            "*test_zyst_and_redis_give_the_same_error?redis? PASSED*",
        ]
    )
    result.assert_outcomes(passed=5)


def test_the_plugin_costs_nothing_unused(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        test_unused="""
import sys
import threading


def test_no_server_no_client_library(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("zyst")
    assert "zyst.testing.embedded" not in sys.modules
    assert "zyst.server" not in sys.modules
    assert "redis" not in sys.modules
    assert not any(t.name == "zyst-server" for t in threading.enumerate())
""",
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


PROTOCOL_AND_SETTINGS = """
import os


def test_resp3_and_the_settings(zyst_client, zyst_server):
    assert zyst_client.client_info()["resp"] == "3"
    admin = zyst_server.client(decode_responses=True)
    assert admin.config_get("maxmemory") == {"maxmemory": "10485760"}
    assert admin.config_get("hz") == {"hz": "20"}
    assert zyst_server.mode == "subprocess"
    assert int(zyst_client.info("server")["process_id"]) != os.getpid()
"""


def test_ini_options(pytester: pytest.Pytester) -> None:
    ini = "zyst_mode = subprocess\nzyst_protocol = 3\nzyst_settings =\n  maxmemory 10mb\n  hz 20"
    write_project(pytester, ini, test_options=PROTOCOL_AND_SETTINGS)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_command_line_options(pytester: pytest.Pytester) -> None:
    write_project(pytester, test_options=PROTOCOL_AND_SETTINGS)
    args = ["--zyst-mode", "subprocess", "--zyst-protocol", "3"]
    args += ["--zyst-setting", "maxmemory 10mb", "--zyst-setting", "hz 20"]
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
    # The command line wins over the ini file.
    write_project(pytester, "zyst_protocol = 2", test_options=PROTOCOL_AND_SETTINGS)
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--zyst-mode", "nonsense")
    assert "--zyst-mode must be thread or subprocess" in result.stdout.str()


def test_a_database_per_test(pytester: pytest.Pytester) -> None:
    tests = "\n".join(
        f"""
def test_{n}(zyst_client, zyst_url):
    assert zyst_url.endswith("/{n}")
    assert zyst_client.client_info()["db"] == {n}
    assert zyst_client.dbsize() == 0
    zyst_client.set("mine", {n})
"""
        for n in range(3)
    )
    tests += """
def test_the_others_kept_their_keys(zyst_server):
    assert [zyst_server.client(db=n).get("mine") for n in range(3)] == [
        b"0", b"1", b"2"
    ]
"""
    write_project(pytester, "zyst_isolation = db", test_dbs=tests)
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=4)


def test_xdist_gives_each_worker_a_server(pytester: pytest.Pytester, tmp_path: Path) -> None:
    record = tmp_path / "record"
    record.mkdir()
    tests = "\n".join(
        f"""
def test_{n}(zyst_client, zyst_server):
    assert zyst_client.dbsize() == 0
    zyst_client.set("k", "v")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
    (RECORD / "{n}.json").write_text(json.dumps([worker, zyst_server.port]))
"""
        for n in range(8)
    )
    header = f"import json, os\nfrom pathlib import Path\nRECORD = Path({str(record)!r})\n"
    write_project(pytester, test_xdist=header + tests)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=8)
    seen = [json.loads(path.read_text()) for path in record.iterdir()]
    ports = {worker: {port for w, port in seen if w == worker} for worker, _ in seen}
    assert sorted(ports) == ["gw0", "gw1"]
    # One server per worker, and not the same one.
    assert all(len(p) == 1 for p in ports.values())
    assert ports["gw0"] != ports["gw1"]
