"""What command handlers may reach of the server: the keyspace, the config, the clients, the
statistics, and the one propagation point. The server builds one :class:`ServerContext` and
fills in the hooks; handlers never import the server or the network layer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zyst import access, encodings, errors, keyevents, timing
from zyst.blocking import BlockingManager
from zyst.config import Config
from zyst.keyspace import Keyspace
from zyst.persistence.child import Children
from zyst.pubsub import PubSub
from zyst.security.acl import Acl

if TYPE_CHECKING:
    from zyst.client import Client


class Stats:
    """Counters shown by ``INFO stats`` and ``INFO errorstats``.

    ``total_commands_processed`` counts every command the connections ran through the
    dispatcher, rejected ones included (counted per batch, off the per-command path);
    ``rejected_calls`` counts the ones refused before running (unknown command, wrong arity),
    which Redis leaves out of its total. ``total_net_input_bytes`` and
    ``total_net_output_bytes`` count the bytes read from and written to client sockets.
    The ``instantaneous_*`` rates are measured by :meth:`sample`, which the server's cron calls.
    (The keyspace hit and miss counters live with the databases, in :mod:`zyst.keyspace`.)
    """

    __slots__ = (
        "_sampled_at",
        "_sampled_commands",
        "_sampled_input",
        "_sampled_output",
        "client_recent_max_input_buffer",
        "client_recent_max_output_buffer",
        "error_codes",
        "instantaneous_input_kbps",
        "instantaneous_ops_per_sec",
        "instantaneous_output_kbps",
        "rejected_calls",
        "rejected_connections",
        "total_commands_processed",
        "total_connections_received",
        "total_error_replies",
        "total_net_input_bytes",
        "total_net_output_bytes",
    )

    def __init__(self) -> None:
        # The largest client input and output buffers of the last seconds, kept by
        # zyst.clientscron (not statistics CONFIG RESETSTAT clears).
        self.client_recent_max_input_buffer = 0
        self.client_recent_max_output_buffer = 0
        self.reset()

    def reset(self) -> None:
        """Back to zero (``CONFIG RESETSTAT``); the rates are measured afresh from now."""
        self.total_commands_processed = 0
        self.rejected_calls = 0
        self.total_error_replies = 0
        self.error_codes: dict[str, int] = {}
        self.total_connections_received = 0
        self.rejected_connections = 0
        self.total_net_input_bytes = 0
        self.total_net_output_bytes = 0
        self.instantaneous_ops_per_sec = 0
        self.instantaneous_input_kbps = 0.0
        self.instantaneous_output_kbps = 0.0
        # Totals at the last sample: the rates are the growth since then.
        self._sampled_at = time.monotonic()
        self._sampled_commands = 0
        self._sampled_input = 0
        self._sampled_output = 0

    def sample(self, now: float) -> None:
        """Measure the rates over the time since the last sample, once at least a second has
        passed (``now`` is monotonic seconds): commands per second, and KiB per second read
        and written, as Redis's ``instantaneous_*`` fields."""
        elapsed = now - self._sampled_at
        if elapsed < 1.0:
            return
        commands = self.commands_run
        net_in = self.total_net_input_bytes
        net_out = self.total_net_output_bytes
        self.instantaneous_ops_per_sec = int((commands - self._sampled_commands) / elapsed)
        self.instantaneous_input_kbps = (net_in - self._sampled_input) / elapsed / 1024
        self.instantaneous_output_kbps = (net_out - self._sampled_output) / elapsed / 1024
        self._sampled_at = now
        self._sampled_commands = commands
        self._sampled_input = net_in
        self._sampled_output = net_out

    def count_error(self, message: str) -> None:
        """Count an error reply under its code (:func:`zyst.errors.error_code`)."""
        self.total_error_replies += 1
        code = errors.error_code(message)
        self.error_codes[code] = self.error_codes.get(code, 0) + 1

    @property
    def commands_run(self) -> int:
        """Commands that ran (INFO's ``total_commands_processed``)."""
        return self.total_commands_processed - self.rejected_calls


class ServerContext:
    """Server-wide state shared by every handler.

    ``propagate(db_index, argv)`` is the single point through which every change leaves for the
    AOF (and, later, replicas and MONITOR). ``dirty`` counts changes since start: a write handler
    adds to it for each change it makes, and the dispatcher propagates a write command only when
    ``dirty`` moved.
    """

    def __init__(self, config: Config, keyspace: Keyspace | None = None) -> None:
        self.config = config
        self.keyspace = keyspace if keyspace is not None else Keyspace(config.databases)
        self.clients: dict[int, Client] = {}
        self.stats = Stats()
        self.dirty = 0
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.pid = os.getpid()
        self.tcp_port = config.port
        self.next_client_id = 1
        self.propagate: Callable[[int, list[bytes]], None] = _no_propagation
        # Whether anything takes changes (see set_propagation): when not, the dispatcher skips
        # sending them.
        self.propagating = False
        # The atomic block in progress (begin_atomic): its depth, the propagation target it
        # wraps, and the changes it holds until it ends.
        self.atomic_depth = 0
        self._outer_propagate: Callable[[int, list[bytes]], None] | None = None
        self._atomic_changes: list[tuple[int, list[bytes]]] = []
        # DEBUG SET-ACTIVE-EXPIRE: whether the cron runs the active expiry cycle.
        self.active_expire = True
        # request_shutdown(save, force): SHUTDOWN's [NOSAVE | SAVE] (None: neither) and FORCE;
        # False when the server goes on (a final save failed without FORCE).
        self.request_shutdown: Callable[[bool | None, bool], bool] = _no_shutdown
        # The script running past busy-reply-threshold (a zyst.scripting.engine.Run), and the
        # server's way of serving the other clients meanwhile (zyst.busy): None when none.
        self.busy: Any = None
        self.busy_pump: Any = None
        # The forked child of BGSAVE or an AOF rewrite, when one runs (at most one at a time).
        self.children = Children()
        # Filled in by the server for INFO persistence.
        self.aof_info: Callable[[], dict[str, Any]] = dict
        # BGREWRITEAOF (zyst.persistence.rewrite.AofRewrite.request), called with whether EXEC
        # runs it: "started", "scheduled", "in progress" or "failed".
        self.request_aof_rewrite: Callable[[bool], str] = _no_aof_rewrite
        # Set while the AOF or the snapshot cannot be written (``MISCONF ...``) or good replicas
        # are too few (``NOREPLICAS``, min-replicas-to-write): write commands are refused with
        # it. Checked once per write command, so it stays a plain attribute.
        self.write_refusal: str | None = None
        # The same refusal less NOREPLICAS (min-replicas-to-write), which PING is not given.
        self.ping_refusal: str | None = None
        # Clients parked by blocking commands; ready_keys is the keyspace's list of waited-for
        # keys that got a value (the same list object: the dispatcher checks it after each
        # write with one attribute load).
        self.blocking = BlockingManager(self.keyspace)
        # The key-modified signal (zyst.notify), tested by the dispatcher after every write
        # that changed something (hence a field of its own).
        self.signal = self.keyspace.signal
        self.ready_keys = self.keyspace.ready
        # The mode bits a new client starts with (zyst.commands.modes): PAUSED while CLIENT
        # PAUSE is in force.
        self.client_mode = 0
        # The clients in MONITOR mode, in the order they asked (zyst.commands.monitor).
        self.monitors: list[Client] = []
        # Channels and patterns with their subscribers (PUBLISH, keyspace notifications).
        self.pubsub = PubSub()
        # Keyspace notifications are published through it.
        self.signal.events.publish = self.pubsub.publish
        # The encoding thresholds (OBJECT ENCODING), followed through CONFIG SET, which
        # leaves existing collections as they are.
        self.limits = encodings.watch_thresholds(config, self.keyspace)
        # The access clocks (OBJECT IDLETIME, OBJECT FREQ) follow the policy and LFU settings.
        access.follow_settings(config, self.keyspace)
        # Keyspace notifications follow notify-keyspace-events.
        self._follow_notify_setting()
        config.on_change("notify-keyspace-events", lambda name: self._follow_notify_setting())
        # What a batch's time feeds (INFO latencystats, SLOWLOG, LATENCY) follows its settings.
        timing.follow_settings(config)
        # The ACL users (zyst.security.acl); acl-pubsub-default and acllog-max-len followed.
        self.acl = Acl(config.acl_pubsub_default == "allchannels", config.acllog_max_len)
        config.on_change("acl-pubsub-default", self._follow_acl_settings)
        config.on_change("acllog-max-len", self._follow_acl_settings)

    @property
    def loading(self) -> bool:
        """Whether the AOF is being replayed. The keyspace holds the flag, since it is the one
        that must expire nothing meanwhile."""
        return self.keyspace.loading

    @loading.setter
    def loading(self, value: bool) -> None:
        self.keyspace.loading = value

    def _follow_acl_settings(self, name: str) -> None:
        self.acl.pubsub_default_all = self.config.acl_pubsub_default == "allchannels"
        self.acl.log.max_len = self.config.acllog_max_len

    def _follow_notify_setting(self) -> None:
        self.signal.set_event_flags(keyevents.parse_flags(self.config.notify_keyspace_events))

    def set_propagation(self, target: Callable[[int, list[bytes]], None] | None) -> None:
        """Send every change to ``target`` from now on; ``None`` when nothing takes them."""
        self.propagate = target if target is not None else _no_propagation
        self.propagating = target is not None

    # -- atomic blocks: EXEC, scripts, SORT ... STORE -----------------------------------------
    def begin_atomic(self) -> None:
        """Open a block of changes that must be replayed all or nothing (EXEC's commands, a
        script's writes, a command that propagates several): the changes propagated until the
        matching :meth:`end_atomic` are held, then leave together between ``MULTI`` and
        ``EXEC`` (a single change alone, as Redis 7.0 does); a block that changed nothing
        propagates nothing, and one ended by
        :meth:`discard_atomic` nothing either. Blocks nest (a SORT ... STORE inside EXEC):
        only the outermost one writes ``MULTI`` and ``EXEC``, and a ``MULTI`` or ``EXEC`` a
        command propagates inside a block is dropped."""
        self.atomic_depth += 1
        if self.atomic_depth == 1 and self.propagating:
            self._outer_propagate = self.propagate
            self._atomic_changes = []
            self.propagate = self._propagate_atomic

    def end_atomic(self) -> None:
        """Close the block :meth:`begin_atomic` opened."""
        self.atomic_depth -= 1
        if self.atomic_depth == 0 and self._outer_propagate is not None:
            outer = self._outer_propagate
            self._outer_propagate = None
            self.propagate = outer
            changes, self._atomic_changes = self._atomic_changes, []
            if len(changes) == 1:
                # One change is atomic by itself: Redis 7.0 wraps only two or more.
                outer(*changes[0])
            elif changes:
                outer(changes[0][0], [b"MULTI"])
                for db_index, argv in changes:
                    outer(db_index, argv)
                outer(changes[-1][0], [b"EXEC"])

    def discard_atomic(self) -> None:
        """Close the outermost block :meth:`begin_atomic` opened without propagating anything
        it holds (a script stopped by SHUTDOWN NOSAVE: Redis exits before it replies)."""
        self._atomic_changes = []
        self.end_atomic()

    def _propagate_atomic(self, db_index: int, argv: list[bytes]) -> None:
        name = argv[0].upper()
        if name == b"MULTI" or name == b"EXEC":
            return
        self._atomic_changes.append((db_index, argv))

    def new_client_id(self) -> int:
        client_id = self.next_client_id
        self.next_client_id += 1
        return client_id


def _no_propagation(db_index: int, argv: list[bytes]) -> None:
    """Default propagation target: nothing persists (AOF off)."""


def _no_aof_rewrite(in_exec: bool) -> str:
    """Default BGREWRITEAOF hook (a context without a server): nothing can be rewritten."""
    return "failed"


def _no_shutdown(save: bool | None, force: bool) -> bool:
    """Default shutdown hook, replaced by the server."""
    return True
