"""``python -m inbox``."""

import sys

from inbox.cli import main

# Guarded: the import's worker processes load the main module again when they start from a server.
if __name__ == "__main__":
    sys.exit(main())
