"""``python -m inbox``."""

import sys

from inbox.cli import main

sys.exit(main())
