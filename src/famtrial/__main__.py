"""``python -m famtrial``: the command line."""

from famtrial.cli import main

raise SystemExit(main())
