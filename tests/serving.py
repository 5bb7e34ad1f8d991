"""Starting the classroom app in tests: a free port, ``maskrcnn-tutorial app`` on it, and a
folder short enough for its kernels' Unix sockets."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    """Whether something accepts connections on ``port`` of 127.0.0.1."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_app(**options) -> tuple[subprocess.Popen, int]:
    """``maskrcnn-tutorial app --no-browser`` on a free port, in a process group of its own
    (Voila sits in one of its own below it): the process and the port. ``options`` go to
    Popen and replace the defaults (text on stdout, stderr dropped)."""
    port = free_port()
    command = [sys.executable, "-m", "maskrcnn_tutorial", "app", "--no-browser", f"--port={port}"]
    defaults = {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "text": True}
    app = subprocess.Popen(command, start_new_session=True, **{**defaults, **options})
    return app, port


@contextmanager
def short_folder(prefix: str = "mrt-") -> Iterator[Path]:
    """A new folder under /tmp, removed afterwards: its path is short enough for the kernels'
    Unix sockets below it (``server.kernel_transport``)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
