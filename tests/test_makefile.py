"""The Makefile's commands, printed by ``make -n`` (nothing is run)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# a make that make test starts, after any VAR=value it sets for it (not make's own
# "make[2]: ... is up to date" lines)
MAKE = re.compile(r"^(\w+=\S* )*make --no-print-directory")


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


def make_dry_run(target: str, *settings: str) -> str:
    return subprocess.run(
        # -W: as if the venv needed installing
        ["make", "-n", "-W", "pyproject.toml", target, *settings],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target", ["demo", "check", "lab"])
def test_a_learners_targets_install_only_what_a_learner_uses(target):
    installs = [line for line in make_dry_run(target).splitlines() if "pip install" in line]
    assert installs and all(".[notebooks]" in line and "test" not in line for line in installs)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_check_does_not_require_coco():
    (doctor,) = [line for line in make_dry_run("check").splitlines() if "doctor" in line]
    assert doctor.split()[-1] == "doctor"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_installs_first_then_runs_every_suite_side_by_side():
    lines = make_dry_run("test").splitlines()
    # the makes it starts (not make's own "make[2]: ... is up to date" lines)
    makes = [i for i, line in enumerate(lines) if MAKE.match(line)]
    first, installs, suites = makes[:3]
    # first the installs, with the stand-in build and lint beside them
    assert {"tools", "standin-cache", "lint"} <= set(lines[first].split())
    assert "-j1" in lines[installs].split()  # one pip at a time
    for tool in (".venv/.train-installed", ".venv/.docs-installed", ".venv/opencv4/.installed"):
        assert tool in lines[installs].split()
    preparation = "\n".join(lines[first:suites])
    for command in ("-m tests.reference", "ruff check", "ruff format --check"):
        assert command in preparation, f"make test does not run {command!r} first"
    # then the suites, side by side, once everything is installed
    side_by_side = " ".join(" ".join(lines[suites : suites + 2]).split())
    for target in ("unit", "unit-cv4", "notebooks", "notebooks-coco"):
        assert f" {target} " in f"{side_by_side} ", f"make test does not run {target}"
    commands = "\n".join(lines[suites:])
    for command in (
        "-m book.build build/book",
        'pytest tests -m "not notebooks_coco"',
        "PYTHONPATH=.venv/opencv4",
        "--nbval notebooks",
        "tests/test_notebooks_coco.py -m notebooks_coco",
    ):
        assert command in commands, f"make test does not run {command!r}"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("jobs", ["1", "2", "4"])
def test_suites_side_by_side_run_their_libraries_on_one_thread_each(jobs):
    lines = make_dry_run("test", f"JOBS={jobs}").splitlines()
    suites = [line for line in lines if MAKE.match(line) and " unit " in f"{line} "]
    (line,) = suites
    settings = set(line.split("make --no-print-directory")[0].split())
    side_by_side = {"OPENCV_FOR_THREADS_NUM=1", "OMP_NUM_THREADS=1"}
    assert settings == (side_by_side if jobs != "1" else set()), line


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_test_tools_install_with_uv_a_learner_with_pip():
    tools = make_dry_run(".venv/.installed").splitlines()
    installs = [line for line in tools if "pip install" in line]
    assert installs[0].endswith("-m pip install -q uv"), installs
    assert len(installs) == 2 and "uv pip install" in installs[1], installs
    assert "--compile-bytecode" in installs[1]  # what pip does: see the Makefile
    assert ".[test,notebooks]" in installs[1]
    learner = make_dry_run(".venv/.learner-installed").splitlines()
    assert not any("uv" in line.split() or "/uv" in line for line in learner), learner
