"""``python -m maskrcnn_tutorial``: the command line."""

import sys

from maskrcnn_tutorial.apps.cli import main

sys.exit(main())
