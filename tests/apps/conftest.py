"""Prints the application suites' counts (redis-server | Zyst) at the end of the session."""

from __future__ import annotations

import pytest

from tests.apps.suites import SUMMARY_PROPERTY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = [
        str(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == SUMMARY_PROPERTY
    ]
    if lines:
        terminalreporter.section("application test suites: redis-server | zyst")
        for line in lines:
            terminalreporter.write_line(line)
