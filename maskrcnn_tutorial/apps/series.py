"""The notebook series, wherever the package is: ``maskrcnn-tutorial notebooks DIR``.

A clone (or an editable install) has the notebooks in the repository's ``notebooks/``; a wheel
carries them as package data in ``maskrcnn_tutorial/notebooks/`` (pyproject.toml maps the one
onto the other). :func:`copy_series` copies them into a folder a learner can open in Jupyter,
so ``pip install`` and two commands start a learner without cloning.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import reason

PACKAGE = Path(__file__).resolve().parents[1]
#: The files a learner gets: the notebooks and the teacher's guide.
PATTERNS = ("[0-9][0-9]_*.ipynb", "WORKSHOP.md")


def series_folder() -> Path:
    """The folder holding the notebooks: inside the installed package, else the clone's."""
    for folder in (PACKAGE / "notebooks", PACKAGE.parent / "notebooks"):
        if any(folder.glob(PATTERNS[0])):
            return folder
    raise UserError(
        "the notebooks are not installed with this package; reinstall it "
        "(pip install --force-reinstall maskrcnn-tutorial) or clone the repository"
    )


def series_files() -> list[Path]:
    """The notebooks in order, then the guide."""
    folder = series_folder()
    return [path for pattern in PATTERNS for path in sorted(folder.glob(pattern))]


def copy_series(folder: str | Path) -> list[Path]:
    """Copy :func:`series_files` into ``folder`` (new, or an empty folder); returns the copies.

    The files are copied into a hidden folder beside ``folder`` and moved into place together,
    so an interrupted copy leaves nothing half-written.
    """
    folder = Path(folder)
    files = series_files()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; give a new folder for the notebooks")
    if folder.is_dir() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty; give a new folder (the notebooks are not merged)")
    parent = folder.parent if str(folder.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot create {folder}: folder {parent} does not exist; create it first")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    except OSError as exc:
        raise UserError(f"cannot create {folder}: {reason(exc)}") from None
    try:
        for path in files:
            shutil.copyfile(path, staging / path.name)
        if folder.is_dir():
            folder.rmdir()  # empty (checked above); a rename cannot replace it on Windows
        os.replace(staging, folder)
    except OSError as exc:
        raise UserError(f"cannot create {folder}: {reason(exc)}; nothing was copied") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return [folder / path.name for path in files]
