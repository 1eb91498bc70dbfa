"""The data structures behind the value types that are more than a Python builtin, with no
command parsing in them (Redis's ``t_*.c`` split in two: structure here, commands in
:mod:`zyst.commands`)."""
