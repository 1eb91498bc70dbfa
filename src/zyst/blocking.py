"""Clients that wait for keys: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP (for a list) and
BZPOPMIN, BZPOPMAX, BZMPOP (for a sorted set), as Redis's ``blocked.c``.

A blocking command that finds nothing to do returns a :class:`Blocked` value instead of a
reply. The connection then parks its client here with a :class:`Waiter` (its command, the
keys it waits for, its deadline) and holds the rest of its pipeline behind it.

When a key some client waits for comes into being (a list created by a push, a key renamed or
moved in), the keyspace notes it as *ready* (:meth:`zyst.keyspace.Database.get_or_create` and
:meth:`~zyst.keyspace.Database.set_value` do, only while :attr:`Keyspace.waited` is not empty,
so nobody pays for this while nobody waits). After each write command the dispatcher calls
:meth:`BlockingManager.serve`, which runs the waiters of each ready key again, first come first
served, until one of them finds nothing left: one push of several elements serves several
waiters, in the order they blocked, before the next command of anyone runs (as Redis serves
them). A waiter's command runs again, on the one key that became ready (``serve_with``), so it
pops, replies and propagates as the non-blocking command it stands for (BLPOP as LPOP, BLMOVE
as LMOVE, BZMPOP as ZPOPMIN key n), and a waiter whose command blocks again stays where it was
in the queue. A waiter waits for one type (:attr:`Blocked.kind`): a key of another type serves
nobody, and a key that became a sorted set serves only the zset waiters in its queue.

What a served command writes can make another key ready (BLMOVE pushes onto its destination,
which may be what the next client waits for): such keys join the end of the ready list and are
served in the same pass, before anyone's next command, as Redis's loop over its ready keys does.
A served command that fails (BLMOVE whose destination now holds another type) answers its error
and is unparked all the same, as in Redis; the next waiter is served.

A command held back by CLIENT PAUSE is parked too, waiting for no key (:data:`POSTPONED`, of
kind :class:`Postponed`): :meth:`BlockingManager.release_postponed` hands each such client back,
in the order they were held, to run that command again from the start (it may be held again),
as Redis re-processes its postponed clients. They count as blocked (INFO's ``blocked_clients``,
CLIENT LIST's ``b``) but have no timeout, and CLIENT UNBLOCK leaves them alone.

WAIT parks its client waiting for no key either, but for replicas' acknowledgements (kind
:class:`Acked`): :meth:`BlockingManager.serve_acks`, run on each ``REPLCONF ACK``, asks each
such waiter's ``check`` whether enough replicas have acknowledged its offset, and answers it
when they have; on timeout (or CLIENT UNBLOCK) it answers its ``timeout_reply``, the count so
far (Redis's ``replyToBlockedClientTimedOut``).

Timeouts of key waiters answer a null array, whatever the command (BLMOVE too: Redis 7.0
answers every client blocked on a key alike). Where a client may not wait (inside MULTI/EXEC or
a script), :func:`reply_without_waiting` turns a :class:`Blocked` into the command's own
immediate answer (:attr:`Blocked.at_once`). (The AOF loader ignores replies, and Redis never
writes a blocking command to its AOF.)

Invariants:

- a waiter is in the queue of each of its keys exactly while it is parked; unparking (served,
  timed out, disconnected) removes it from all of them and cancels its timer;
- ``Keyspace.waited`` holds exactly the ``(db, key)`` pairs with a non-empty queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zyst import errors
from zyst.protocol.resp import NULL_ARRAY, ErrorReply

if TYPE_CHECKING:
    from zyst.client import Client
    from zyst.keyspace import Keyspace


class Blocked:
    """What a blocking command returns when it must wait: for one of ``keys`` (of the client's
    database) to hold a value of type ``kind`` (``deque`` for the list commands, ``ZSet`` for
    the sorted-set ones), until ``deadline_ms`` (Unix ms; 0 waits forever).

    ``serve_with(key)`` is the command to run when ``key`` is ready: Redis serves a waiter from
    the key that became ready, whatever its other keys hold (BLPOP a b waiting, ``a`` made a
    hash and ``b`` a list: the waiter gets b's element, not a WRONGTYPE about ``a``).

    ``at_once`` is the reply where the client may not wait (see :func:`reply_without_waiting`):
    a null array, or a null bulk string for BLMOVE and BRPOPLPUSH (``None``).

    ``gone`` (not None) is the error the waiter answers when a key it waits for is found
    missing or of another type once ready: XREADGROUP, whose group lives in the stream, is
    unblocked with Redis's UNBLOCKED when the stream is deleted or replaced.

    ``independent`` waiters are each served or not on their own: a stream's readers wait for
    entries after IDs of their own (and groups of their own), so one left waiting says nothing
    of the next, as in Redis's ``serveClientsBlockedOnStreamKey``. Otherwise the first waiter
    that finds nothing ends the key's turn (a list or sorted set emptied by those before it).

    Returning a ``Blocked`` must leave everything as it was: the command has changed nothing.
    """

    __slots__ = (
        "at_once",
        "check",
        "deadline_ms",
        "gone",
        "independent",
        "keys",
        "kind",
        "serve_with",
        "timeout_reply",
    )

    def __init__(
        self,
        keys: list[bytes],
        kind: type,
        deadline_ms: int,
        serve_with: Callable[[bytes], list[bytes]],
        at_once: Any = NULL_ARRAY,
        gone: str | None = None,
        independent: bool = False,
        check: Callable[[], Any] | None = None,
        timeout_reply: Callable[[], Any] | None = None,
    ) -> None:
        self.keys = keys
        self.kind = kind
        self.deadline_ms = deadline_ms
        self.serve_with = serve_with
        self.at_once = at_once
        self.gone = gone
        self.independent = independent
        # A wait for no key (kind Acked): ``check()`` is its reply once it may end (None
        # until then), asked whenever what it waits for may have come; ``timeout_reply()`` its
        # reply when the deadline passes (else a null array).
        self.check = check
        self.timeout_reply = timeout_reply

    def __eq__(self, other: object) -> bool:
        """Two waits are the same when they wait for the same thing until the same time."""
        if not isinstance(other, Blocked):
            return NotImplemented
        return (self.keys, self.kind, self.deadline_ms) == (
            other.keys,
            other.kind,
            other.deadline_ms,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Blocked({self.keys!r}, {self.kind.__name__}, {self.deadline_ms})"


class Postponed:
    """The :attr:`Blocked.kind` of a command held back by CLIENT PAUSE (it waits for no key)."""


class Acked:
    """The :attr:`Blocked.kind` of WAIT: it waits for replicas' acknowledgements, no key;
    :meth:`BlockingManager.serve_acks` asks each such waiter's ``check`` again."""


def _serve_nothing(key: bytes) -> list[bytes]:
    raise AssertionError("a postponed command is run again, never served from a key")


# What a command held back by CLIENT PAUSE returns: it changed nothing, and runs again later.
POSTPONED = Blocked([], Postponed, 0, _serve_nothing)


def deadline(timeout_ms: int, now_ms: int) -> int:
    """The Unix ms a wait of ``timeout_ms`` (from :func:`zyst.commands.args.parse_timeout_ms`)
    started at ``now_ms`` ends at: 0, forever, for a timeout of 0."""
    return now_ms + timeout_ms if timeout_ms else 0


def reply_without_waiting(reply: Any) -> Any:
    """The reply of a command run where its client may not wait (Redis's
    ``CLIENT_DENY_BLOCKING``: inside MULTI/EXEC or a script): a blocking command that found
    nothing to do answers at once, with a null bulk string for BLMOVE and BRPOPLPUSH (unlike
    their timeout, which is a null array) and a null array for the others; any other reply is
    kept. This is the one place that decides it: whatever runs commands for such a client passes
    every reply through here instead of parking the client."""
    if type(reply) is Blocked:
        return reply.at_once
    return reply


class Waiter:
    """One parked client: its command and what to do when it is served or times out.

    ``on_served(reply)`` gets the reply of the command run again; ``on_timeout()`` is called
    when the deadline passes first. Both are called once at most, after the waiter is unparked.
    """

    __slots__ = (
        "argv",
        "check",
        "client",
        "db_index",
        "gone",
        "independent",
        "keys",
        "kind",
        "on_served",
        "on_timeout",
        "parked",
        "serve_with",
        "timeout_reply",
        "timer",
    )

    def __init__(
        self,
        client: Client,
        argv: list[bytes],
        blocked: Blocked,
        on_served: Callable[[Any], None],
        on_timeout: Callable[[], None],
    ) -> None:
        self.client = client
        self.argv = argv
        self.db_index = client.db.index
        self.keys = blocked.keys
        self.kind = blocked.kind
        self.serve_with = blocked.serve_with
        self.gone = blocked.gone
        self.independent = blocked.independent
        self.check = blocked.check
        self.timeout_reply = blocked.timeout_reply
        self.parked = False
        self.on_served = on_served
        self.on_timeout = on_timeout
        self.timer: Any = None


class BlockingManager:
    """Every parked client, by the keys it waits for.

    ``call_later(seconds, callback)`` (the event loop's) arms timeouts, against the keyspace's
    clock (Unix ms); ``call_soon`` lets a served client resume its pipeline in a turn of its
    own. Without them (in-process tests) no timer is armed and clients resume at once.
    """

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self.queues: dict[tuple[int, bytes], deque[Waiter]] = {}
        # The event loop's call_later and call_soon, once the server runs.
        self.call_later: Callable[[float, Callable[[], None]], Any] | None = None
        self.call_soon: Callable[[Callable[[], None]], Any] | None = None
        self._serving = False
        # Clients held back by CLIENT PAUSE, in the order they were held.
        self.postponed: list[Waiter] = []
        # Clients in WAIT (kind Acked), in the order they waited.
        self.acks: list[Waiter] = []

    def __len__(self) -> int:
        """Clients parked now (INFO's ``blocked_clients``)."""
        return len(self._parked()) + len(self.postponed)

    def with_timeout(self) -> int:
        """Parked clients whose wait has a deadline (INFO's ``clients_in_timeout_table``)."""
        return sum(1 for waiter in self._parked() if waiter.timer is not None)

    def _parked(self) -> list[Waiter]:
        unique: dict[int, Waiter] = {id(waiter): waiter for waiter in self.acks}
        for queue in self.queues.values():
            for waiter in queue:
                unique[id(waiter)] = waiter
        return list(unique.values())

    def park(self, waiter: Waiter, deadline_ms: int) -> None:
        waiter.parked = True
        if waiter.kind is Postponed:
            self.postponed.append(waiter)
            return
        if waiter.kind is Acked:
            self.acks.append(waiter)
        waited = self.keyspace.waited
        for key in waiter.keys:
            slot = (waiter.db_index, key)
            queue = self.queues.get(slot)
            if queue is None:
                queue = self.queues[slot] = deque()
                waited.add(slot)
            if waiter not in queue:  # BLPOP k k waits once on k
                queue.append(waiter)
        if deadline_ms and self.call_later is not None:
            delay = max(0.0, (deadline_ms - self.keyspace.clock()) / 1000.0)
            waiter.timer = self.call_later(delay, lambda: self._timed_out(waiter))

    def unpark(self, waiter: Waiter) -> None:
        """Forget ``waiter`` (served, timed out, or its client gone). Idempotent."""
        waiter.parked = False
        if waiter.kind is Postponed:
            if waiter in self.postponed:
                self.postponed.remove(waiter)
            return
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None
        if waiter.kind is Acked:
            if waiter in self.acks:
                self.acks.remove(waiter)
            return
        for key in waiter.keys:
            slot = (waiter.db_index, key)
            queue = self.queues.get(slot)
            if queue is None:
                continue
            try:
                queue.remove(waiter)
            except ValueError:
                continue
            if not queue:
                del self.queues[slot]
                self.keyspace.waited.discard(slot)

    def _timed_out(self, waiter: Waiter) -> None:
        waiter.timer = None
        self.unpark(waiter)
        waiter.on_timeout()

    def unblock(self, client_id: int, error: bool) -> bool:
        """End the wait of the parked client ``client_id`` (CLIENT UNBLOCK): as if its
        deadline had passed, or with the ``-UNBLOCKED`` error if ``error``. False if that
        client is not parked."""
        for waiter in self._parked():
            if waiter.client.id == client_id:
                self.unpark(waiter)
                if error:
                    waiter.on_served(ErrorReply(errors.UNBLOCKED))
                else:
                    waiter.on_timeout()
                return True
        return False

    def unblock_all(self, message: str) -> None:
        """End every wait but CLIENT PAUSE's with the error ``message``, each client closed
        after it: the server turned replica, and what they waited for now comes from its
        primary (Redis's ``disconnectAllBlockedClients``)."""
        for waiter in self._parked():
            self.unpark(waiter)
            waiter.client.close_after_reply = True
            waiter.on_served(ErrorReply(message))

    def serve_acks(self) -> None:
        """Replicas acknowledged: end each WAIT whose ``check`` now has its reply."""
        for waiter in list(self.acks):
            check = waiter.check
            reply = check() if check is not None else None
            if reply is not None and waiter.parked:
                self.unpark(waiter)
                waiter.on_served(reply)

    def release_postponed(self) -> None:
        """Hand every client held back by CLIENT PAUSE back to its connection, first held
        first, to run its command again (``on_served(None)``)."""
        released, self.postponed = self.postponed, []
        for waiter in released:
            waiter.parked = False
            waiter.on_served(None)

    def hold_serving(self) -> bool:
        """Serve nobody until :meth:`release_serving` (EXEC and scripts: their commands run as
        one, so a client blocked on a key they fill is served after all of them, as in Redis).
        Returns what ``release_serving`` needs."""
        was = self._serving
        self._serving = True
        return was

    def release_serving(self, was: bool, run: Callable[[Client, list[bytes]], Any]) -> None:
        """End :meth:`hold_serving` (``was`` is what it returned) and serve what became ready
        meanwhile."""
        self._serving = was
        if not was and self.keyspace.ready:
            self.serve(run)

    def serve(self, run: Callable[[Client, list[bytes]], Any]) -> None:
        """Serve the waiters of every ready key, first come first served, until none is ready.

        Re-entrant calls (a served command that readies another key, as BLMOVE does) only add
        to the ready list: the outermost call serves them.
        """
        if self._serving:
            return
        self._serving = True
        keyspace = self.keyspace
        ready = keyspace.ready
        tracking = keyspace.signal.tracking
        try:
            while ready:
                slot = ready.pop(0)
                queue = self.queues.get(slot)
                if not queue:
                    continue
                data = keyspace.dbs[slot[0]].data
                for waiter in list(queue):
                    # A key of another type (a hash where BLPOP waits) serves nobody, as in
                    # Redis; nor does one that is gone again. Waiters that need the value
                    # they waited on to stay (XREADGROUP) are answered their error then.
                    value = data.get(slot[1])
                    if value is None or type(value) is not waiter.kind:
                        if waiter.parked and waiter.gone is not None:
                            self.unpark(waiter)
                            waiter.on_served(ErrorReply(waiter.gone))
                        continue
                    if not waiter.parked:
                        continue
                    client = waiter.client
                    # The served client's command is the one running now: what it invalidates
                    # for itself follows its reply (zyst.tracking).
                    saved = tracking.enter(client)
                    client.served = True
                    try:
                        reply = run(client, waiter.serve_with(slot[1]))
                        if type(reply) is not Blocked:
                            self.unpark(waiter)
                            waiter.on_served(reply)
                    finally:
                        client.served = False
                        own = tracking.leave(saved)
                    for message in own:
                        client.push(message)
                    if type(reply) is Blocked and not waiter.independent:
                        break  # nothing left for the first in line: the key is spent
        finally:
            self._serving = False
