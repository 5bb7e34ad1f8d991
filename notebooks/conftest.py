"""``pytest --nbval notebooks`` without the Makefile: the notebooks' stored outputs come from the
embedded ``shapes`` model, so their kernels run on it whatever is fetched (a fetched ``coco``
would otherwise become the default), and the outputs that differ between runs (timings,
addresses) are masked by ``sanitize.cfg``, unless the command line names other settings."""

from __future__ import annotations

import os
from pathlib import Path

#: The model the stored outputs were produced with (``make run-notebooks`` stores them).
NOTEBOOK_MODEL = "shapes"
# set on import: every kernel nbval starts inherits it
os.environ.setdefault("MASKRCNN_TUTORIAL_MODEL", NOTEBOOK_MODEL)


def pytest_configure(config) -> None:
    option = config.option
    if getattr(option, "nbval", False) and getattr(option, "nbval_sanitize_with", None) is None:
        option.nbval_sanitize_with = str(Path(__file__).with_name("sanitize.cfg"))
