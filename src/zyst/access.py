"""Each key's access clock: what OBJECT IDLETIME and OBJECT FREQ answer, and what eviction
will rank keys by. Redis's rules, no I/O.

Redis keeps 24 bits in every value for this, read under the policy in force:

- **LRU** (every ``maxmemory-policy`` but the two ``*-lfu`` ones): the time of the key's last
  access, in whole seconds of the wall clock. ``OBJECT IDLETIME`` is the clock now minus that.
- **LFU** (``allkeys-lfu``, ``volatile-lfu``): a logarithmic access counter (8 bits, 0..255) and
  the time it was last decayed, in minutes modulo 2**16 (16 bits). A new key starts at
  :data:`LFU_INIT_VAL`; each access first decays the counter by one per ``lfu-decay-time``
  minutes gone by, then adds one with a probability that shrinks as it grows
  (``1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)``). ``OBJECT FREQ`` is the decayed
  counter, the access itself not counted.

Zyst keeps the same number per key in :attr:`zyst.keyspace.Database.access` (a dict beside the
data: a key's entry is the shared clock ``int`` under LRU, so it costs the dict slot and no
object of its own). A lookup writes it (see :mod:`zyst.keyspace` for which lookups do not);
this module computes the LFU values and reads both kinds back.

The clock is cached: :attr:`zyst.keyspace.Keyspace.lru_clock` is refreshed by the server's cron
``hz`` times a second, as Redis's ``server.lruclock`` is, so a lookup reads a field rather than
the system clock.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zyst.config import Config
    from zyst.keyspace import Keyspace

# The counter a new key starts with under LFU (Redis's LFU_INIT_VAL), so that it survives long
# enough to collect some accesses.
LFU_INIT_VAL: Final = 5
_COUNTER_MAX: Final = 255
_MINUTES_MASK: Final = 0xFFFF


def lfu_minutes(lru_clock: int) -> int:
    """The LFU decay clock: minutes of the wall clock modulo 2**16, from the LRU clock (s)."""
    return (lru_clock // 60) & _MINUTES_MASK


def lfu_new(lru_clock: int) -> int:
    """The LFU value of a key created now."""
    return (lfu_minutes(lru_clock) << 8) | LFU_INIT_VAL


def lfu_counter(value: int, lru_clock: int, decay_time: int) -> int:
    """The counter of the LFU ``value`` decayed to now: one less per ``decay_time`` minutes since
    its last decay (the minutes wrap once at most, as in Redis), never below 0. A
    ``decay_time`` of 0 never decays."""
    counter = value & _COUNTER_MAX
    if decay_time <= 0:
        return counter
    then = value >> 8
    now = lfu_minutes(lru_clock)
    elapsed = now - then if now >= then else _MINUTES_MASK - then + now
    periods = elapsed // decay_time
    return counter - periods if periods < counter else 0


def lfu_accessed(value: int, lru_clock: int, log_factor: int, decay_time: int) -> int:
    """The LFU ``value`` after one access now: decayed, then incremented with probability
    ``1 / (max(counter - LFU_INIT_VAL, 0) * log_factor + 1)``, saturating at 255."""
    counter = lfu_counter(value, lru_clock, decay_time)
    if counter < _COUNTER_MAX:
        base = counter - LFU_INIT_VAL
        if base < 0:
            base = 0
        if random.random() < 1.0 / (base * log_factor + 1):
            counter += 1
    return (lfu_minutes(lru_clock) << 8) | counter


def idle_seconds(value: int, lru_clock: int) -> int:
    """OBJECT IDLETIME for the LRU ``value``: whole seconds since the last access."""
    return lru_clock - value if lru_clock > value else 0


# The settings the keyspace's access clocks follow.
_SETTINGS: Final = ("maxmemory-policy", "lfu-log-factor", "lfu-decay-time")


def follow_settings(config: Config, keyspace: Keyspace) -> None:
    """Apply ``config``'s access-clock settings to ``keyspace``, now and after each
    ``CONFIG SET`` of one of them (a policy switch between LRU and LFU restarts every clock)."""

    def changed(name: str = "") -> None:
        keyspace.lfu_log_factor = config.lfu_log_factor
        keyspace.lfu_decay_time = config.lfu_decay_time
        keyspace.set_lfu(config.maxmemory_policy.endswith("-lfu"))

    changed()
    for setting in _SETTINGS:
        config.on_change(setting, changed)
