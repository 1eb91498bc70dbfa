"""DEBUG RELOAD: save the RDB snapshot and load it back, as Redis's test suites use it to check
that every value survives a round trip through the file.

Syntax: ``DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]``

- without ``NOSAVE`` the snapshot is written first (SAVE; a failure answers ``-ERR``);
- without ``NOFLUSH`` every database and function library is emptied before the load (WATCH
  and client tracking see the keys go, as with FLUSHALL), and the file is loaded in place;
- with ``NOFLUSH`` the file is loaded beside the data there is: a key or library of the file
  that is already there is an error unless ``MERGE``, where the file's one replaces it.

Where Redis stops the whole server on such a duplicate key ("Duplicated key found in RDB
file"), Zyst answers the error and leaves the dataset as it was: the file is read into a
keyspace of its own first and merged only when it is whole and acceptable.

Like Redis's, a reload is no change of the dataset: nothing is propagated to the AOF.
"""

from __future__ import annotations

import logging

from zyst import errors
from zyst.client import Client
from zyst.commands.table import Reply
from zyst.errors import CommandError
from zyst.keyspace import Keyspace
from zyst.persistence.rdb import RdbError
from zyst.persistence.rdbfile import load_rdb
from zyst.persistence.saving import empty_dataset, saving_of
from zyst.protocol.resp import OK, ErrorReply
from zyst.scripting.engine import engine_of

log = logging.getLogger("zyst")


def debug_reload(client: Client, options: list[bytes]) -> Reply:
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] (``options``: what follows RELOAD)."""
    merge = noflush = nosave = False
    for option in options:
        word = option.lower()
        if word == b"merge":
            merge = True
        elif word == b"noflush":
            noflush = True
        elif word == b"nosave":
            nosave = True
        else:
            raise CommandError(errors.DEBUG_RELOAD_OPTIONS)
    ctx = client.ctx
    saving = saving_of(ctx)
    if not nosave and not saving.save():
        return ErrorReply(errors.SAVE_FAILED)
    try:
        if noflush:
            _load_beside(client, merge)
        else:
            empty_dataset(client.ctx)
            saving.load()
    except (RdbError, OSError, CommandError) as exc:
        log.warning("DEBUG RELOAD: loading %s failed: %s", saving.path, exc)
        return ErrorReply(errors.DEBUG_RELOAD_FAILED)
    log.warning("DB reloaded by DEBUG RELOAD")
    return OK


def _load_beside(client: Client, merge: bool) -> None:
    """Load the snapshot into the data there is (NOFLUSH). Raises CommandError (nothing
    changed) on a key or library that is there already, unless ``merge``."""
    ctx = client.ctx
    keyspace = ctx.keyspace
    scratch = Keyspace(len(keyspace.dbs), keyspace.clock)
    scratch.set_lfu(keyspace.lfu)
    libraries: list[bytes] = []
    with open(saving_of(ctx).path, "rb") as fileobj:
        load_rdb(fileobj, scratch, libraries.append)
    functions = engine_of(ctx).functions
    if not merge:
        for db, loaded in zip(keyspace.dbs, scratch.dbs, strict=True):
            clash = next((key for key in loaded.data if key in db.data), None)
            if clash is not None:
                raise CommandError(f"duplicate key {clash!r} in database {db.index}")
    for code in libraries:
        functions.load(code, merge)
    for db, loaded in zip(keyspace.dbs, scratch.dbs, strict=True):
        expires = loaded.expires
        for key, value in loaded.data.items():
            if key in db.data:
                db.delete_stored(key)
            db.add(key, value)
            when = expires.get(key)
            if when is not None:
                db.set_expire(key, when)
            db.access[key] = loaded.access.get(key, db.access[key])
