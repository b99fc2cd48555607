"""``python -m inbox``."""

import sys

from inbox.cli import main

# Guarded: the import's worker processes (multiprocessing, forkserver) load the main module again.
if __name__ == "__main__":
    sys.exit(main())
