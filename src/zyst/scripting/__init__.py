"""Lua scripting (lupa's Lua 5.1), as Redis 7.0 runs it.

Layout: :mod:`~zyst.scripting.prelude` builds the sandbox (read-only globals, the ``redis``
table, the error handler) on the Lua side; :mod:`~zyst.scripting.libraries` holds ``bit``,
``cjson``, ``struct`` and ``cmsgpack``; :mod:`~zyst.scripting.convert` turns replies into Lua
values and back; :mod:`~zyst.scripting.engine` owns the interpreter, the script cache and the
running of one script. The commands are in :mod:`zyst.commands.scripting`.
"""
