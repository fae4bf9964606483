"""``python -m kit``: the command line, also from an unzipped source tree."""

import sys

from kit.cli import main

if __name__ == "__main__":
    sys.exit(main())
