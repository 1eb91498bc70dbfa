"""``python -m zyst``: the same as the ``zyst`` command (see :mod:`zyst.cli`)."""

from zyst.cli import main

raise SystemExit(main())
