"""The MEMORY command: USAGE, an estimate of the bytes a key and its value take, and HELP.

The estimate is Python's own accounting (``sys.getsizeof``) of the objects that hold the key and
its value, plus the keyspace's per-key share of its dict. Like Redis's ``objectComputeSize`` it
samples a collection rather than walking it: the container itself is measured exactly and the
elements from the first ``count`` of them (5 by default, every one with ``SAMPLES 0``),
averaged and multiplied by the length. The figure is comparable between keys of one Zyst, not
with Redis's byte counts (different allocators, different layouts).

Invariant: the key is looked up as stored, without lazy expiry: a key past its deadline that
nobody has removed yet still has a size, as in Redis, whose MEMORY USAGE reads the dict
directly.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from zyst import errors
from zyst.commands.args import option_word, parse_int
from zyst.commands.introspection import help_reply
from zyst.commands.table import KeySpec, Reply, container, subcommand
from zyst.errors import CommandError
from zyst.types.zset import ZSet

if TYPE_CHECKING:
    from zyst.client import Client

DEFAULT_SAMPLES = 5
# What one key costs the keyspace's dict beyond the key and value objects: an entry (hash, key,
# value pointers) and its index slot, at the dict's usual load.
DICT_ENTRY = 3 * 8 + 8
# A sorted-set member also costs a (score, member) tuple in the ordered list, a float, a list
# slot and an entry in the member -> score dict.
ZSET_MEMBER = sys.getsizeof((0.0, b"")) + sys.getsizeof(0.0) + 8 + DICT_ENTRY

MEMORY = container(
    "memory", group="server", summary="A container for memory diagnostics commands", since="4.0.0"
)

# Redis's MEMORY HELP, its entries for the subcommands Zyst has.
_MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
]


def sampled_size(length: int, elements: Iterable[int], samples: int) -> int:
    """The bytes of ``length`` elements estimated from the sizes of the first ``samples`` of
    ``elements`` (their mean times ``length``)."""
    taken = list(islice(elements, samples))
    if not taken:
        return 0
    return sum(taken) * length // len(taken)


def value_size(value: Any, samples: int) -> int:
    """The estimated bytes of one stored value (see the module docstring)."""
    size = sys.getsizeof
    kind = type(value)
    if kind is bytes or kind is bytearray:  # (a bytearray counts its spare room, as an sds)
        return size(value)
    if kind is deque:
        return size(value) + sampled_size(len(value), map(size, value), samples)
    if kind is dict:
        pairs: Iterator[int] = (size(f) + size(v) + DICT_ENTRY for f, v in value.items())
        return size(value) + sampled_size(len(value), pairs, samples)
    if kind is set:
        return size(value) + sampled_size(len(value), map(size, value), samples)
    if kind is ZSet:
        members = (size(member) + ZSET_MEMBER for member, _ in value)
        return size(value) + sampled_size(len(value), members, samples)
    raise TypeError(f"no size for {kind.__name__}")


@subcommand(
    MEMORY,
    "usage",
    arity=-3,
    flags=("readonly",),
    keys=(2, 2, 1),
    summary="Estimate the memory usage of a key",
    since="4.0.0",
    syntax="key [SAMPLES count]",
    complexity="O(N) where N is the number of samples.",
    key_specs=(KeySpec(flags=("RO",)),),
)
def memory_usage(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY USAGE key [SAMPLES count]

    The estimated bytes of ``key`` and its value, or a null reply for a missing key.
    ``SAMPLES 0`` measures every element; a negative count or any other word is a syntax error
    (Redis checks the options before the key, so a bad option fails even on a missing key).
    """
    samples = DEFAULT_SAMPLES
    i = 3
    while i < len(argv):
        if option_word(argv[i]) == b"samples" and i + 1 < len(argv):
            samples = parse_int(argv[i + 1])
            if samples < 0:
                raise CommandError(errors.SYNTAX)
            if samples == 0:
                samples = sys.maxsize
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    key = argv[2]
    value = client.db.data.get(key)
    if value is None:
        return None
    return size_of_key(key, value, samples)


def size_of_key(key: bytes, value: Any, samples: int) -> int:
    """The bytes of ``key`` itself, its keyspace entry, its access clock's entry (the clock
    itself is shared under LRU; see zyst.access) and its value."""
    return sys.getsizeof(key) + 2 * DICT_ENTRY + value_size(value, samples)


@subcommand(
    MEMORY,
    "help",
    arity=2,
    flags=("loading", "stale"),
    summary="Show helpful text about the different subcommands",
    since="4.0.0",
    complexity="O(1)",
)
def memory_help(client: Client, argv: list[bytes]) -> Reply:
    """MEMORY HELP"""
    return help_reply(_MEMORY_HELP)
