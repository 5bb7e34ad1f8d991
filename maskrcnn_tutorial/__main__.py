"""``python -m maskrcnn_tutorial``: the command line."""

import sys

from .cli import main

sys.exit(main())
