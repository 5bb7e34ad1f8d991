"""Checking input and output paths, and writing files atomically (nothing half-written)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .errors import UserError


def check_readable(path: Path) -> Path:
    """``path`` if it is an existing, non-empty file, else a :class:`UserError`."""
    if not path.exists():
        raise UserError(f"{path} does not exist; check the path")
    if path.is_dir():
        raise UserError(f"{path} is a directory; pass an image or video file")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty (0 bytes); pass a real image or video file")
    return path


def check_writable(path: str | Path) -> Path:
    """``path`` if its directory exists and is writable and it is not a directory itself."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"output {path} is a directory; give a file name")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: folder {folder} is not writable; choose another")
    return path


def temp_beside(path: Path, suffix: str = ".part") -> Path:
    """A new, empty, hidden file next to ``path`` (same folder, so a rename is atomic).

    Unlike ``tempfile.mkstemp`` (mode 0600) it is created with the user's umask, so the file
    renamed into place has the permissions any other new file would have.
    """
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}{suffix}"
    temp.touch(exist_ok=False)
    return temp


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = check_writable(path)
    temp = temp_beside(path)
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
