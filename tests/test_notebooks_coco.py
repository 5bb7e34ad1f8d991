"""Every notebook, top to bottom in a fresh kernel, on ``coco`` (the stand-in installed as it).

Run alone with ``make notebooks-coco`` (``make test`` includes it). For each notebook: no error
output, the notebook says it ran on ``coco``, and its kernel's peak memory stays under 2 GB.
Time and peak memory go to ``test-artifacts/notebooks-coco.txt``. Outputs are not compared:
the stored outputs come from ``shapes`` (nbval checks those, on ``shapes``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REPORT = ROOT / "test-artifacts" / "notebooks-coco.txt"
PEAK_LIMIT_MB = 2048

pytestmark = pytest.mark.notebooks_coco


@pytest.fixture(scope="module")
def report():
    REPORT.parent.mkdir(exist_ok=True)
    lines = ["notebook                          seconds  peak MB"]
    yield lines
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_on_coco(notebook, coco_cache, report, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MASKRCNN_TUTORIAL_MODEL"}
    env["MASKRCNN_TUTORIAL_CACHE"] = str(coco_cache)
    # a temp folder of its own: 09 keeps its work in one, and nbval may run 09 at the same time
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "run_notebook.py"), str(notebook)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    report.append(f"{notebook.name:<32} {run['seconds']:>8.1f} {run['peak_mb']:>8}")
    assert run["errors"] == []
    assert re.search(r"\bmodel:? '?coco\b", run["stdout"]), "the notebook must say its model"
    assert run["peak_mb"] < PEAK_LIMIT_MB
