"""The users file (``aclfile``, users.acl): one ``user <name> <rules...>`` line per user, as
ACL LIST shows them.

Loading is all or nothing: every line is applied to a fresh set of users, and any error
leaves the current users as they are (the error lists every line that failed, in Redis's
words). Saving writes a temporary file beside the target and renames it over, so a reader
never sees half a file. A file without a ``default`` line gets the built-in default user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

from zyst import errors
from zyst.security.acl import (
    Acl,
    AclError,
    RuleError,
    User,
    describe_line,
    has_spaces,
    merge_selectors,
)

log = logging.getLogger("zyst")


def parse(acl: Acl, text: bytes, filename: str) -> dict[str, User]:
    """The users ``text`` (a users file's content) describes; :class:`AclError` with every
    problem found (Redis's ACL LOAD message) when any line is wrong."""
    problems: list[str] = []
    users: dict[str, User] = {}
    for number, raw in enumerate(text.split(b"\n"), start=1):
        line = raw.strip(b" \t\r\n")
        if not line:
            continue
        # Split on single spaces: two spaces make an empty rule, which does nothing.
        argv = line.split(b" ")
        if argv[0] != b"user" or len(argv) < 2:
            problems.append(
                f"{filename}:{number} should start with user keyword followed by the username. "
            )
            continue
        name = argv[1].decode("latin-1")
        if has_spaces(argv[1]):
            problems.append(
                f"'{filename}:{number}: username '{errors.c_string(argv[1])}' contains invalid "
                "characters. "
            )
            continue
        if name in users:
            problems.append(
                f"WARNING: Duplicate user '{errors.c_string(argv[1])}' found on line {number}. "
            )
            continue
        user = users[name] = acl.new_user(name)
        merged = merge_selectors(argv[2:])
        if isinstance(merged, int):
            problems.append(f"{filename}:{number}: Unmatched parenthesis in selector definition.")
            continue
        syntax_error = False
        for op in merged:
            op = op.strip(b"\t\r\n")
            try:
                user.apply(op, acl.pubsub_default_all)
            except RuleError as exc:
                if exc.reason == errors.ACL_UNKNOWN_NAME:
                    # (Unknown names are named: they hold no secret.)
                    problems.append(
                        f"{filename}:{number}: Error in applying operation "
                        f"'{errors.c_string(op)}': {exc.reason}. "
                    )
                elif not syntax_error:
                    problems.append(f"{filename}:{number}: {exc.reason}. ")
                    syntax_error = True
    if problems:
        raise AclError("ERR " + "".join(problems) + errors.ACL_LOAD_ABORTED)
    return users


def load(acl: Acl, path: str) -> None:
    """ACL LOAD: replace the users by the file's; :class:`AclError` (nothing changed) when it
    cannot be read or any line is wrong."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise AclError(f"ERR Error loading ACLs, opening file '{path}': {reason}") from None
    acl.replace(parse(acl, text, path))


def render(acl: Acl) -> bytes:
    """The users file for the current users."""
    return b"".join(describe_line(user) + b"\n" for user in acl.sorted_users())


def save(acl: Acl, path: str) -> bool:
    """ACL SAVE: write the users to ``path`` through a temporary file; False (logged) when
    that fails."""
    temp = f"{path}.tmp-{os.getpid()}-{int(time.time() * 1000)}"
    step = "Opening temp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        step = "Writing"
        with os.fdopen(fd, "wb") as handle:
            handle.write(render(acl))
        step = "Renaming"
        os.replace(temp, path)
    except OSError as exc:
        log.warning("%s ACL file for ACL SAVE: %s", step, exc.strerror or exc)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return False
    return True
