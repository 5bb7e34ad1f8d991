"""``pytest --nbval notebooks`` passes without the Makefile, with ``coco`` installed: the model
pin and the sanitising live in ``notebooks/conftest.py``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from maskrcnn_tutorial import models

ROOT = Path(__file__).resolve().parents[1]


def test_nbval_on_a_notebook_with_coco_installed_and_no_model_named(empty_model_cache):
    # files in coco's place (the shapes model's): without the pin the notebook would run on them
    spec = models.get_spec("coco")
    spec.weights.parent.mkdir(parents=True)
    shutil.copyfile(models.SHAPES_DIR / "shapes.pb", spec.weights)
    shutil.copyfile(models.SHAPES_DIR / "shapes.pbtxt", spec.config)
    assert models.default_model_name() == "coco"
    env = {k: v for k, v in os.environ.items() if k != models.MODEL_ENV}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "-q",
            "-p",
            "no:cacheprovider",
            "notebooks/00_start_here.ipynb",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]
