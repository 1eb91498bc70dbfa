"""Lua scripting (lupa's Lua 5.1), as Redis 7.0 runs it: EVAL scripts and FUNCTION libraries.

Layout: :mod:`~zyst.scripting.prelude` builds the sandbox on the Lua side (read-only globals,
the ``redis`` table, the error handler, the load-time API of libraries);
:mod:`~zyst.scripting.interpreter` is one Lua state and the Python functions behind ``redis.*``;
:mod:`~zyst.scripting.libraries` holds ``bit``, ``cjson``, ``cmsgpack`` and ``struct``;
:mod:`~zyst.scripting.convert` turns replies into Lua values and back;
:mod:`~zyst.scripting.functions` loads libraries and keeps their functions;
:mod:`~zyst.scripting.flags` names the script flags; :mod:`~zyst.scripting.engine` owns the
interpreters, the script cache and the running of a script or function. The commands are in
:mod:`zyst.commands.scripting`.
"""
