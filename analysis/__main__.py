"""``python -m analysis ...``: the headless commands (see ``analysis.cli``)."""
from analysis.cli import main

raise SystemExit(main())
