"""``python -m colorlab``: the command line (see :mod:`colorlab.cli`)."""

from colorlab.cli import main

raise SystemExit(main())
