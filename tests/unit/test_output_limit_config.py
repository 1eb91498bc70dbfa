"""``client-output-buffer-limit`` in a config file and through CONFIG REWRITE: one class per
line, each line changing only the class it names, as redis.conf writes it."""

from __future__ import annotations

import pytest

from zyst.config import Config, ConfigError, ConfigLoader, OutputLimit
from zyst.config_rewrite import rewritten_text

DEFAULT = b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


def test_each_line_sets_the_class_it_names() -> None:
    config = Config()
    assert config.format("client-output-buffer-limit") == DEFAULT
    ConfigLoader(config).load_text(
        b"client-output-buffer-limit pubsub 64mb 16mb 90\n"
        b"client-output-buffer-limit replica 1gb 0 0\n",
        "test",
    )
    assert config.client_output_buffer_limit == (
        OutputLimit(0, 0, 0),
        OutputLimit(1024**3, 0, 0),
        OutputLimit(64 * 1024**2, 16 * 1024**2, 90),
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"client-output-buffer-limit pubsub 1 2", "Wrong number of arguments in buffer"),
        (b"client-output-buffer-limit master 1 2 3", "Invalid client class specified"),
        (b"client-output-buffer-limit normal 1x 2 3", "Error in hard, soft or soft_seconds"),
    ],
)
def test_a_bad_line_stops_the_load(line: bytes, reason: str) -> None:
    config = Config()
    with pytest.raises(ConfigError) as caught:
        ConfigLoader(config).load_text(line + b"\n", "test")
    assert reason in caught.value.message
    assert config.format("client-output-buffer-limit") == DEFAULT


def test_rewrite_writes_one_line_per_class_and_loads_back() -> None:
    config = Config()
    config.set_many([(b"client-output-buffer-limit", b"pubsub 64mb 1000 5")])
    text = rewritten_text(config, b"client-output-buffer-limit normal 0 0 0\n")
    assert text.startswith(b"client-output-buffer-limit normal 0 0 0\n")
    assert b"\nclient-output-buffer-limit replica 256mb 64mb 60\n" in text
    assert b"\nclient-output-buffer-limit pubsub 64mb 1000 5\n" in text
    loaded = Config()
    ConfigLoader(loaded).load_text(text, "rewritten")
    assert loaded.client_output_buffer_limit == config.client_output_buffer_limit
