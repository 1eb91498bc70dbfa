"""Option words as Redis's strcasecmp compares them, and the cache that remembers them."""

from __future__ import annotations

from zyst.commands import args


def test_option_words_are_lowered_up_to_the_first_nul() -> None:
    assert args.option_word(b"WITHSCORES") == b"withscores"
    assert args.option_word(b"WITHSCORES") == b"withscores"  # (from the cache now)
    assert args.option_word(b"LeFt\0x") == b"left"
    assert args.option_word(b"") == b""
    assert args.option_word(b"\0LEFT") == b""


def test_only_short_letter_led_words_are_remembered() -> None:
    args.option_word(b"NoMkStream")
    assert args._WORDS[b"NoMkStream"] == b"nomkstream"
    for raw in (b"13.000000001234", b"1526919030474-0", b"*", b"x" * 25):
        assert args.option_word(raw) == raw.lower()
        assert raw not in args._WORDS
