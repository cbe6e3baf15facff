"""``python -m wavlink_core.train``: the training command (implemented in ``wavlink_core.training``)."""

import sys

from .training.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
