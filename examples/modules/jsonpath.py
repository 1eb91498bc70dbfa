"""JSON documents in string values for Zyst: ``JSONPATH.SET`` and ``JSONPATH.GET``.

Load it with ``loadmodule examples/modules/jsonpath.py`` (config file or ``--loadmodule``) or
``MODULE LOAD``. A document is a plain string key holding JSON text, so GET, DUMP, the AOF
and RDB see an ordinary string. A path is ``$`` (the whole document) followed by steps:
``.name``, ``["name"]`` or ``[index]`` (a negative index counts from the end)::

    JSONPATH.SET user:1 $ '{"name": "Ada", "langs": ["en"]}'
    JSONPATH.SET user:1 $.langs[0] '"fr"'
    JSONPATH.GET user:1 $.name            -> "\"Ada\""

``JSONPATH.SET key path json``: OK; null if the path's parent does not exist (a new document
is created at ``$`` only); an object member is added or replaced, an array element replaced;
a change below ``$`` keeps the key's TTL.
``JSONPATH.GET key [path]``: the JSON text at ``path`` (default ``$``), null if the key or
the path does not exist.

The command is deterministic, so it is replicated (and written to the AOF) as it was called:
the module must be loaded before the AOF is (``loadmodule``), as a Redis module must.
"""

from __future__ import annotations

import json
import re
from typing import Any

from zyst.modules import OK, Client, CommandError, command, get_string, set_string

NAME = "jsonpath"
VERSION = 1

_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
_MISSING = object()


def _path(raw: bytes) -> list[str | int]:
    """The steps of a path (``$.a[0]["b c"]`` -> ``["a", 0, "b c"]``)."""
    text = raw.decode("utf-8", "replace")
    if not text.startswith("$"):
        raise CommandError("ERR a path starts with $")
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        found = _STEP.match(text, pos)
        if found is None:
            raise CommandError(f"ERR invalid path at offset {pos}")
        name, index, quoted = found.groups()
        if name is not None:
            steps.append(name)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append(json.loads(f'"{quoted}"'))
        pos = found.end()
    return steps


def _parse(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise CommandError(f"ERR {what} is not valid JSON") from None


def _child(node: Any, step: str | int) -> Any:
    if isinstance(step, str):
        return node.get(step, _MISSING) if isinstance(node, dict) else _MISSING
    if isinstance(node, list) and -len(node) <= step < len(node):
        return node[step]
    return _MISSING


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@command(
    "jsonpath.get",
    arity=-2,
    flags=("readonly",),
    keys=(1, 1, 1),
    acl_categories=("read", "string"),
    summary="Returns the JSON value at a path of a JSON document",
    since="1.0.0",
    syntax="key [path]",
    complexity="O(N) where N is the size of the document",
)
def get(client: Client, argv: list[bytes]) -> bytes | None:
    """JSONPATH.GET key [path]"""
    if len(argv) > 3:
        raise CommandError("ERR syntax error")
    steps = _path(argv[2] if len(argv) == 3 else b"$")
    raw = get_string(client, argv[1])
    if raw is None:
        return None
    node = _parse(raw, "the value at the key")
    for step in steps:
        node = _child(node, step)
        if node is _MISSING:
            return None
    return _dumps(node)


@command(
    "jsonpath.set",
    arity=4,
    flags=("write", "denyoom"),
    keys=(1, 1, 1),
    acl_categories=("write", "string"),
    summary="Sets the JSON value at a path of a JSON document",
    since="1.0.0",
    syntax="key path value",
    complexity="O(N) where N is the size of the document",
)
def set_(client: Client, argv: list[bytes]) -> Any:
    """JSONPATH.SET key path value"""
    key, steps = argv[1], _path(argv[2])
    value = _parse(argv[3], "the value")
    raw = get_string(client, key)
    if not steps:
        set_string(client, key, _dumps(value))
        return OK
    if raw is None:
        raise CommandError("ERR new documents must be created at the root ($)")
    document = _parse(raw, "the value at the key")
    parent = document
    for step in steps[:-1]:
        parent = _child(parent, step)
        if parent is _MISSING:
            return None
    last = steps[-1]
    if (isinstance(last, str) and isinstance(parent, dict)) or (
        isinstance(last, int) and _child(parent, last) is not _MISSING
    ):
        parent[last] = value
    else:
        return None
    set_string(client, key, _dumps(document), keepttl=True)
    return OK
