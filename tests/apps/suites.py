"""The test suites of real applications, run against redis-server and against Zyst.

Two applications that talk to a live Redis have their own tests run unchanged:
- huey's storage tests (``huey.tests.test_storage``): its Redis storages through redis-py and
  through Valkey GLIDE (pipelines, a Lua script, BRPOP, BLPOP, BZPOPMIN, SCAN, expiries) and a
  consumer with worker threads; also its file and SQLite storages, which run the same tests
  without a server;
- kombu's Redis transport integration tests (``t/integration/test_redis*.py``): BRPOP across
  queues with its health checks, MULTI/EXEC with WATCH, Lua scripts, pub/sub fanout,
  priorities, acks, requeues and queue expiry.
Both come from PyPI at the versions pinned in ``requirements.txt``, in a virtualenv of their
own (``build/apps/``, keyed by that file) so that their redis-py pins need not match ours.
huey ships its tests in its wheel; kombu's come from its sdist, unpacked in that virtualenv.

Each suite runs once against redis-server and once against Zyst (both at once where the suite
allows it), each server alone in a network namespace of its own on port 6379, the address the
suites assume (see netns.py). The outcome of every test is read from pytest's JUnit XML and
the two runs are compared: the Redis run must pass whole, and every test must end the same way
on Zyst.

    python tests/apps/suites.py --install     install the pinned suites (.ci/run does this)
    python tests/apps/suites.py [APP ...]     run and compare; exit status 1 on a difference

tests/apps/test_app_suites.py runs the same comparison inside the test session.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
NETNS = HERE / "netns.py"
# A suite that has not finished by then hangs on something: it fails rather than wait on.
SUITE_TIMEOUT = 600
# The name under which tests/apps/test_app_suites.py records each comparison's counts.
SUMMARY_PROPERTY = "app_suite_counts"
SERVERS = ("redis", "zyst")
SERVER_NAMES = {"redis": "redis-server", "zyst": "zyst"}


@dataclass(frozen=True)
class AppSuite:
    """One application's test suite: what to run and where it comes from."""

    name: str
    # Arguments of ``python -m pytest`` that select the suite.
    pytest_args: tuple[str, ...]
    # The package whose sdist (at its pinned version) holds the tests, unpacked (the run's
    # working directory); None when the tests are installed with the package.
    sdist: str | None = None
    # Tests left out on both servers: (pytest node id, why). Only for what Zyst does not
    # have yet; each entry says which feature.
    deselect: tuple[tuple[str, str], ...] = ()
    # Environment variables the suite is run with.
    env: tuple[tuple[str, str], ...] = ()
    # Whether its runs against the two servers may overlap (not when its tests write to fixed
    # paths outside their working directory).
    overlap: bool = True


SUITES = (
    AppSuite(
        name="huey",
        # The module of every test that talks to Redis; huey's other modules test its API and
        # consumer on its in-memory storage.
        pytest_args=("--pyargs", "huey.tests.test_storage"),
        # Its consumer tests too (worker threads taking tasks with BRPOP while others enqueue).
        env=(("HUEY_SLOW_TESTS", "1"),),
        # Its FileStorage tests use /tmp/test-huey-storage.
        overlap=False,
    ),
    AppSuite(
        name="kombu",
        # (The sdist lacks the conftest that skips these unless `-E redis` is given.)
        pytest_args=("t/integration/test_redis.py", "t/integration/test_redis_brpop_qos.py"),
        sdist="kombu",
    ),
)


def pinned_version(name: str) -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        package, _, version = line.partition("==")
        if package.split("[")[0].strip().lower() == name:
            return version.strip()
    raise LookupError(f"{name} is not pinned in {REQUIREMENTS}")


def environment_dir() -> Path:
    """The virtualenv for the pinned requirements (a new one whenever they change)."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    return ROOT / "build" / "apps" / f"venv-{key}"


def python() -> Path:
    return environment_dir() / "bin" / "python"


def site_packages() -> Path:
    (found,) = (environment_dir() / "lib").glob("python*/site-packages")
    return found


def source_dir(suite: AppSuite) -> Path | None:
    """The unpacked sdist of ``suite`` (its tests' working directory), if it has one."""
    if suite.sdist is None:
        return None
    return environment_dir() / "src" / f"{suite.sdist}-{pinned_version(suite.sdist)}"


def install() -> Path:
    """Create the virtualenv with the pinned packages and unpack the sdists, once; raise if
    anything cannot be installed (the suites must fail then, not skip)."""
    venv = environment_dir()
    done = venv / "installed"
    if done.exists():
        return venv
    for old in venv.parent.glob("venv-*"):
        shutil.rmtree(old)  # for requirements since changed, or left half-made
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-r", str(REQUIREMENTS)], check=True)
    for suite in SUITES:
        if suite.sdist is None:
            continue
        with tempfile.TemporaryDirectory() as download:
            spec = f"{suite.sdist}=={pinned_version(suite.sdist)}"
            subprocess.run(
                [*pip, "download", "--no-deps", "--no-binary", ":all:", "-d", download, spec],
                check=True,
            )
            (archive,) = Path(download).glob("*.tar.gz")
            with tarfile.open(archive) as tar:
                tar.extractall(venv / "src", filter="data")
    done.write_text("")
    return venv


@dataclass
class Run:
    """One run of a suite against one server: every test's outcome, by node id."""

    server: str
    status: int
    outcomes: dict[str, str] = field(default_factory=dict)
    output: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.count(outcome)} {outcome}" for outcome in ("passed", "failed", "skipped")
        )
        return f"{SERVER_NAMES[self.server]}: {counts}"


def read_junit(path: Path) -> dict[str, str]:
    """Each test case of a JUnit XML report: ``passed``, ``failed`` (a failure or an error,
    in the test or its setup) or ``skipped``."""
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(path).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        # A case can be reported twice (a test failing, then its teardown erroring): keep
        # the worse outcome.
        if outcomes.get(name) != "failed":
            outcomes[name] = outcome
    return outcomes


def server_argv(server: str, workdir: Path) -> list[str]:
    if server == "redis":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        return [binary, "--port", "6379", "--bind", "127.0.0.1", "--save", "", "--dir", "."]
    # Zyst from this tree, with the interpreter running these tests.
    return [
        "env",
        f"PYTHONPATH={ROOT / 'src'}",
        sys.executable,
        "-m",
        "zyst",
        "--port",
        "6379",
        "--dir",
        str(workdir),
        "--appendonly",
        "no",
    ]


def suite_environment() -> dict[str, str]:
    """This process's environment less what would reach into the suite's own pytest or
    Python path (this test session's, when run from it)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTEST_") and name != "PYTHONPATH"
    }


def start(suite: AppSuite, server: str, workdir: Path) -> tuple[subprocess.Popen[str], Path]:
    """Start ``suite`` against ``server`` in a namespace of its own; the JUnit report's path."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise RuntimeError("the app suites need unshare (util-linux) and ip (iproute2)")
    serverdir = workdir / server
    serverdir.mkdir(parents=True)
    report = workdir / f"{server}.xml"
    pytest_argv = [
        str(python()),
        "-m",
        "pytest",
        *suite.pytest_args,
        f"--junitxml={report}",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    if suite.sdist is None:
        # Test ids relative to site-packages (huey/tests/test_storage.py::...), not to the
        # working directory, which does not hold the tests.
        pytest_argv.append(f"--rootdir={site_packages()}")
    for node_id, _why in suite.deselect:
        pytest_argv.append(f"--deselect={node_id}")
    command = [
        "unshare",
        "--net",
        sys.executable,
        str(NETNS),
        "--dir",
        str(serverdir),
        *server_argv(server, serverdir),
        "--",
        *pytest_argv,
    ]
    # The sdist's tree is only read; an installed suite runs in a directory of its own (huey's
    # SQLite tests leave their database files in it).
    cwd = source_dir(suite) or serverdir
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**suite_environment(), **dict(suite.env)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, report


def finish(server: str, process: subprocess.Popen[str], report: Path, workdir: Path) -> Run:
    try:
        output, _ = process.communicate(timeout=SUITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        output += f"\n(killed after {SUITE_TIMEOUT} s)"
    run = Run(server=server, status=process.returncode, output=output)
    if report.exists():
        run.outcomes = read_junit(report)
    log = workdir / server / "server.log"
    if run.status != 0 and log.exists():
        run.output += "\n--- server log (tail) ---\n" + "\n".join(
            log.read_text(errors="replace").splitlines()[-40:]
        )
    return run


@dataclass
class Comparison:
    suite: AppSuite
    redis: Run
    zyst: Run
    seconds: float

    def differences(self) -> list[str]:
        """Tests that did not end the same way on both servers."""
        names = sorted(self.redis.outcomes.keys() | self.zyst.outcomes.keys())
        return [
            f"{name}: redis {self.redis.outcomes.get(name)}, zyst {self.zyst.outcomes.get(name)}"
            for name in names
            if self.redis.outcomes.get(name) != self.zyst.outcomes.get(name)
        ]

    def problems(self) -> list[str]:
        """Why this comparison does not show the suite passing on Zyst as on Redis (empty
        when it does)."""
        found = []
        for run in (self.redis, self.zyst):
            if run.status != 0:
                found.append(f"the run against {run.server} exited with {run.status}")
            if run.count("passed") == 0:
                found.append(f"no test passed against {run.server}")
        if self.redis.count("failed"):
            found.append("the suite does not pass against redis-server itself")
        found.extend(self.differences())
        return found

    def summary(self) -> str:
        version = pinned_version(self.suite.name)
        return (
            f"{self.suite.name} {version}: {self.redis.summary()} | {self.zyst.summary()}"
            f" | {len(self.suite.deselect)} deselected on both ({self.seconds:.0f} s)"
        )


def compare(suite: AppSuite, workdir: Path) -> Comparison:
    """Run ``suite`` against redis-server and against Zyst (at the same time if it may)."""
    install()
    began = time.monotonic()
    runs: dict[str, Run] = {}
    if suite.overlap:
        started = {server: start(suite, server, workdir) for server in SERVERS}
        for server, (process, report) in started.items():
            runs[server] = finish(server, process, report, workdir)
    else:
        for server in SERVERS:
            runs[server] = finish(server, *start(suite, server, workdir), workdir)
    return Comparison(suite, runs["redis"], runs["zyst"], time.monotonic() - began)


def compare_all(workdir: Path) -> dict[str, Comparison]:
    """Every suite compared, the suites at the same time: they mostly wait (on timeouts,
    sleeps, blocking pops), so together they take about as long as the longest alone."""
    install()
    with ThreadPoolExecutor(max_workers=len(SUITES)) as pool:
        futures = {
            suite.name: pool.submit(compare, suite, workdir / suite.name) for suite in SUITES
        }
        return {name: future.result() for name, future in futures.items()}


def main(argv: list[str]) -> int:
    if argv == ["--install"]:
        print(f"app suites installed in {install()}")
        return 0
    failed = False
    with tempfile.TemporaryDirectory(prefix="zyst-apps-") as workdir:
        if argv:
            chosen = [suite for suite in SUITES if suite.name in argv]
            results = [compare(suite, Path(workdir) / suite.name) for suite in chosen]
        else:
            results = list(compare_all(Path(workdir)).values())
    for result in results:
        suite = result.suite
        print(result.summary())
        for problem in result.problems():
            failed = True
            print("  " + problem)
        if result.problems():
            for run in (result.redis, result.zyst):
                print(f"--- {suite.name} against {run.server} ---\n{run.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
