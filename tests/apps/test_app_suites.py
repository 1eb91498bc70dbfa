"""huey's and kombu's own test suites pass against Zyst exactly as against redis-server.

The suites (see suites.py: which tests, which pinned versions, how the servers are given to
them) are installed if need be and run against both servers, all at once, by the first test;
each test then judges its suite. A test fails when its suite cannot be installed or run, when
the suite does not pass whole against redis-server, or when any of its tests ends differently
on Zyst. The counts of both runs are printed at the end of the session (conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.apps import suites

# The first test waits for every suite: installing them the first time takes a minute or two,
# the runs about as long as the longest suite alone (two minutes).
TIMEOUT = suites.SUITE_TIMEOUT + 600


@pytest.fixture(scope="module")
def comparisons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, suites.Comparison]:
    return suites.compare_all(tmp_path_factory.mktemp("apps"))


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("suite", suites.SUITES, ids=lambda suite: suite.name)
def test_app_suite_passes_on_zyst_as_on_redis(
    suite: suites.AppSuite,
    comparisons: dict[str, suites.Comparison],
    record_property: Callable[[str, object], None],
) -> None:
    result = comparisons[suite.name]
    record_property(suites.SUMMARY_PROPERTY, result.summary())
    problems = result.problems()
    assert not problems, "\n".join(
        [result.summary(), *problems]
        + [f"--- against {run.server} ---\n{run.output}" for run in (result.redis, result.zyst)]
    )
