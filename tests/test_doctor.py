"""`maskrcnn-tutorial doctor`: every check runs for real, a laptop without coco is ready, a
broken laptop (or a coco that is not the published model) is named, and it prints on a Windows
console's encoding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.apps import doctor
from maskrcnn_tutorial.apps.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: Every check the room's plan needs, in the order they print.
CHECKS = [
    "python",
    "opencv",
    *(module for module, _ in doctor.PACKAGES),
    "shapes model",
    "sample photos",
    "notebook kernel",
    "classroom app",
    "disk",
    "memory",
]


def check_names(out: str) -> list[str]:
    lines = [line for line in out.splitlines() if line.startswith(("ok  ", "FAIL"))]
    return [line[6:21].strip() for line in lines]


def test_a_laptop_without_coco_is_ready_and_told_it_uses_shapes(capsys):
    # the autouse fixture gives every test an empty model cache: coco is not installed
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert check_names(out) == CHECKS  # one line per check, no coco line
    assert "ok    shapes model    segments the lead scene correctly (5 objects)" in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("ready: every check passed; the notebooks and the app will use 'shapes'")


def test_asking_for_coco_without_it_fails_with_the_fix(capsys):
    assert main(["doctor", "--coco"]) == 2
    captured = capsys.readouterr()
    assert check_names(captured.out) == [*CHECKS, "coco model"]
    assert "FAIL  coco model" in captured.out and "fetch coco --from" in captured.out
    assert captured.err.strip().splitlines()[-1].startswith("error: 1 check(s) failed: coco model")


@pytest.fixture
def fake_coco(empty_model_cache) -> Path:
    """Files in coco's place that are not the published model (the shapes model's)."""
    spec = models.get_spec("coco")
    spec.weights.parent.mkdir(parents=True)
    shutil.copyfile(models.SHAPES_DIR / "shapes.pb", spec.weights)
    shutil.copyfile(models.SHAPES_DIR / "shapes.pbtxt", spec.config)
    return spec.weights


@pytest.mark.parametrize("flags", [["--coco"], []])
def test_a_coco_that_is_not_the_published_model_does_not_pass(fake_coco, flags, capsys):
    # with or without --coco: installed, it is the model every notebook would use
    assert main(["doctor", *flags]) == 2
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if "coco model" in line]
    assert line.startswith("FAIL") and "not the published file" in line, line


def test_the_model_line_follows_the_environment(monkeypatch, fake_coco):
    assert "will use 'coco'" in doctor.model_in_use()  # installed: the default
    monkeypatch.setenv(models.MODEL_ENV, "shapes")
    assert (
        "will use 'shapes'" in doctor.model_in_use() and models.MODEL_ENV in doctor.model_in_use()
    )


def test_a_broken_check_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(doctor, "PACKAGES", (("no_such_module_xyz", "nothing"),))
    checks = doctor.run_checks()
    broken = [c for c in checks if not c.ok]
    assert [c.name for c in broken] == ["no_such_module_xyz"]
    assert "ModuleNotFoundError" in broken[0].detail and "pip install" in broken[0].detail


def test_too_little_memory_or_disk_is_named(monkeypatch):
    monkeypatch.setattr(doctor, "free_memory", lambda: 300 * 2**20)
    monkeypatch.setattr(doctor, "MIN_FREE_DISK", 2**62)
    checks = {c.name: c for c in doctor.run_checks()}
    assert not checks["memory"].ok and "0.3 GB free" in checks["memory"].detail
    assert not checks["disk"].ok and "close" not in checks["disk"].detail
    assert "close other programs" in checks["memory"].detail


def test_a_kernel_of_another_environment_is_named(monkeypatch, tmp_path):
    """The classic trap: JupyterLab's python3 kernel is some other Python, without the package."""
    from jupyter_client.kernelspec import KernelSpecManager

    other = tmp_path / "other-python"
    other.write_text("#!/bin/sh\nexit 1\n")
    other.chmod(0o755)
    real = KernelSpecManager.get_kernel_spec

    def other_kernel(self, name):
        spec = real(self, name)
        spec.argv = [str(other), *spec.argv[1:]]
        return spec

    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", other_kernel)
    (kernel,) = [c for c in doctor.run_checks() if c.name == "notebook kernel"]
    assert not kernel.ok and "cannot import this package" in kernel.detail


def test_python_m_runs_it_and_a_cp1252_console_prints_it(empty_model_cache):
    """The way without make (`python -m maskrcnn_tutorial doctor`), on a Windows console's
    encoding: every line prints, the last says ready."""
    env = {
        **os.environ,
        "PYTHONIOENCODING": "cp1252",
        "MASKRCNN_TUTORIAL_CACHE": str(empty_model_cache),
    }
    run = subprocess.run(
        [sys.executable, "-m", "maskrcnn_tutorial", "doctor"],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr.decode("cp1252")
    out = run.stdout.decode("cp1252")
    assert check_names(out) == CHECKS and out.rstrip().splitlines()[-1].startswith("ready:")


def test_an_opencv_without_the_tensorflow_importer_is_named(monkeypatch):
    """OpenCV 5.1 dropped readNetFromTensorflow: what pip installed on a fresh venv here."""
    monkeypatch.delattr(doctor.cv2.dnn, "readNetFromTensorflow")
    (opencv,) = [c for c in doctor.run_checks() if c.name == "opencv"]
    assert not opencv.ok and "cannot read TensorFlow graphs" in opencv.detail
    assert 'pip install "opencv-python-headless>=4.5,<5.1"' in opencv.detail
