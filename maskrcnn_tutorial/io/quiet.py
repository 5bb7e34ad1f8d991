"""Silencing what C libraries print: FFmpeg's ``[avi @ 0x...]`` lines, libjpeg's "Corrupt JPEG
data" and OpenCV's own warnings go straight to file descriptor 2, past Python, and would appear
before (or instead of) the one ``error:`` line the package prints."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send everything written to file descriptor 2 during the block nowhere.

    Wrap only calls into C (opening, reading or decoding media): Python's own writes to stderr
    inside the block are lost too.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no usable descriptor 2 (an embedded interpreter): nothing to silence
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
