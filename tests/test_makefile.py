"""The Makefile's commands, printed by ``make -n`` (nothing is run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_starts_jupyterlab_as_root_too():
    printed = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "lab"],  # -W: as if the venv needed installing
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (lab,) = [line for line in printed.splitlines() if "jupyter lab" in line]
    assert lab.endswith("--allow-root") == (os.geteuid() == 0), lab
