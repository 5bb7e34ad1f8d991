"""Installed from a wheel, outside the repository, the package still teaches: its photos, clip
and demo scene are package data, ``maskrcnn-tutorial notebooks DIR`` copies the series out, and
``segment`` and a notebook run. The wheel and the sdist carry the licence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_listed_packages_are_the_package_folders():
    """pyproject.toml lists the packages (so notebooks/ can be mapped in): none missing."""
    folders = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "maskrcnn_tutorial").rglob("__init__.py")
    }
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == folders | {"maskrcnn_tutorial.notebooks"}


def test_the_licence_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def run(args: list, cwd: Path, env: dict | None = None, timeout: int = 600):
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel and the sdist, built from this checkout without network or build isolation."""
    out = tmp_path_factory.mktemp("dist")
    build = tmp_path_factory.mktemp("build")
    # a copy of the tree, so the build's own files (build/, *.egg-info) stay out of the checkout
    files = run(["git", "ls-files", "-co", "--exclude-standard"], ROOT).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (build / name).parent.mkdir(parents=True, exist_ok=True)
            (build / name).write_bytes(source.read_bytes())
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", out, "."], build)  # fmt: skip
    code = f"from setuptools import build_meta as b; b.build_sdist({str(out)!r})"
    run([sys.executable, "-c", code], build)
    return out


def test_the_wheel_carries_the_data_the_notebooks_and_the_licence(dist):
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("scene.png", "fruits.jpg", "basketball1.png", "messi5.jpg", "vtest_short.avi"):
        assert f"maskrcnn_tutorial/data/{data}" in names, data
    notebooks = [n for n in names if n.startswith("maskrcnn_tutorial/notebooks/")]
    assert len([n for n in notebooks if n.endswith(".ipynb")]) == len(
        list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    )
    assert "maskrcnn_tutorial/notebooks/WORKSHOP.md" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    fields = Parser().parsestr(zipfile.ZipFile(wheel).read(metadata).decode())
    assert fields["License-Expression"] == "MIT"
    (sdist,) = dist.glob("*.tar.gz")
    members = tarfile.open(sdist).getnames()
    assert any(m.endswith("/LICENSE") for m in members)
    assert any(m.endswith("/notebooks/00_start_here.ipynb") for m in members)


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A fresh venv outside the repository with the wheel installed (no index, no deps); the
    dependencies come from this environment's site-packages by a path entry (not a site dir, so
    its editable install of the package is not seen)."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    run([sys.executable, "-m", "venv", venv], venv.parent)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    (wheel,) = dist.glob("*.whl")
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], venv.parent)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    venv.parent).stdout.strip())  # fmt: skip
    (site / "deps-of-the-test.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_the_installed_package_is_the_wheels(installed, tmp_path):
    where = run([installed, "-c", "import maskrcnn_tutorial as m; print(m.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.parents[1])


def test_segment_runs_on_a_sample_that_ships_in_the_wheel(installed, tmp_path):
    scene = run(
        [
            installed,
            "-c",
            "from maskrcnn_tutorial.synthetic import samples as s; print(s.DEMO_SCENE)",
        ],
        tmp_path,
    ).stdout.strip()
    assert Path(scene).is_relative_to(installed.parents[1])
    cli = installed.with_name("maskrcnn-tutorial")
    done = run([cli, "segment", scene, "--out", "out.png", "--json", "out.json"], tmp_path)
    assert done.stdout.startswith(f"{scene}: 5 detections with model 'shapes'")
    assert len(json.loads((tmp_path / "out.json").read_text())["detections"]) == 5


def test_the_notebooks_come_out_of_the_wheel_and_one_runs(installed, tmp_path):
    cli = installed.with_name("maskrcnn-tutorial")
    done = run([cli, "notebooks", "workshop"], tmp_path)
    copied = sorted(p.name for p in (tmp_path / "workshop").iterdir())
    assert copied == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + [
        "WORKSHOP.md"
    ]
    assert "next: jupyter lab workshop" in done.stdout
    # in a kernel of the fresh venv (ipykernel's own spec: its Python); 00 reads the photos and
    # the pedestrian clip, which are package data
    env = {**os.environ, "MASKRCNN_TUTORIAL_MODEL": "shapes"}
    runner = ROOT / "tests" / "run_notebook.py"
    report = run([installed, runner, tmp_path / "workshop" / "00_start_here.ipynb"], tmp_path, env)
    result = json.loads(report.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert "model 'shapes' on 'scene 1000399'" in result["stdout"]
    assert "in all 30 frames" in result["stdout"]  # the pedestrian clip, read from the wheel
