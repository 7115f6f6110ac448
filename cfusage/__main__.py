"""``python -m cfusage``: the command-line interface (see :mod:`cfusage.cli`)."""

from .cli import main

raise SystemExit(main())
