"""INFO's instantaneous rates, measured by Stats.sample with an injected time (no sleeps)."""

from __future__ import annotations

from zyst.context import Stats


def test_rates_are_the_growth_since_the_last_sample() -> None:
    stats = Stats()
    start = stats._sampled_at
    stats.total_commands_processed = 3000
    stats.rejected_calls = 1000
    stats.total_net_input_bytes = 4096
    stats.total_net_output_bytes = 1024
    stats.sample(start + 0.5)  # under a second: not measured yet
    assert stats.instantaneous_ops_per_sec == 0
    assert stats.instantaneous_input_kbps == 0.0
    stats.sample(start + 2.0)
    # Commands that ran (rejected ones are not counted, as INFO's total leaves them out).
    assert stats.instantaneous_ops_per_sec == 1000
    assert stats.instantaneous_input_kbps == 2.0
    assert stats.instantaneous_output_kbps == 0.5
    stats.total_net_input_bytes += 1024
    stats.sample(start + 3.0)
    assert stats.instantaneous_input_kbps == 1.0
    assert stats.instantaneous_output_kbps == 0.0
    assert stats.instantaneous_ops_per_sec == 0


def test_resetstat_restarts_the_rates_from_zero() -> None:
    stats = Stats()
    stats.total_commands_processed = 500
    stats.total_net_input_bytes = 10_000
    stats.sample(stats._sampled_at + 1.0)
    stats.reset()
    assert stats.instantaneous_ops_per_sec == 0
    assert stats.instantaneous_input_kbps == 0.0
    stats.total_commands_processed = 10
    stats.total_net_input_bytes = 1024
    stats.sample(stats._sampled_at + 1.0)
    # Measured from the reset, never negative.
    assert stats.instantaneous_ops_per_sec == 10
    assert stats.instantaneous_input_kbps == 1.0
