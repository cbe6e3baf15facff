"""``python -m wavlink_core.evaluate ...``: see :mod:`wavlink_core.evaluation`."""

from __future__ import annotations

import sys

from .evaluation.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
