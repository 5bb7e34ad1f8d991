"""The switch CI sets (``$MASKRCNN_TUTORIAL_STRICT``): a suite skipped for a missing requirement
(torch, the real text graph, Chromium) fails instead. Checked by running pytest on small probe
tests that hit the real skip sites with the requirement made absent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.requires import STRICT_ENV, TORCH

ROOT = Path(__file__).resolve().parents[1]

PROBES = """
import sys
from pathlib import Path

from tests import reference, requires
from tests.browser import conftest as browser_conftest
from tests.browser.conftest import browser  # noqa: F401  (the fixture the browser tests use)

browser_conftest.CHROMIUM = Path("absent") / "chromium"


def test_training_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    requires.module("torch", requires.TORCH)


def test_coco_without_the_reference_graph(monkeypatch):
    monkeypatch.setattr(reference, "COCO_PBTXT", Path("absent") / "graph.pbtxt")
    reference.coco_text_graph()


def test_browser_without_chromium(browser):
    pass
"""

MODULE_LEVEL = """
import sys

from tests import requires

sys.modules["torch"] = None
torch = requires.module("torch", requires.TORCH)


def test_uses_torch():
    pass
"""


def run_probes(tmp_path: Path, strict: bool) -> tuple[int, str]:
    """Run both probe files (a collection error does not stop the other file)."""
    (tmp_path / "test_probes.py").write_text(PROBES)
    (tmp_path / "test_module_level.py").write_text(MODULE_LEVEL)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k != STRICT_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if strict:
        env[STRICT_ENV] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfEs"]
    done = subprocess.run(
        [*command, "--continue-on-collection-errors", "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def summary(output: str) -> dict[str, int]:
    """The counts of pytest's last line, e.g. {'failed': 2, 'error': 1}."""
    last = output.strip().splitlines()[-1]
    return {word.rstrip("s"): int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_without_the_switch_missing_requirements_skip_with_their_reason(tmp_path):
    code, output = run_probes(tmp_path, strict=False)
    assert code == 0, output
    assert summary(output) == {"skipped": 4}, output  # three tests and one module
    for reason in (TORCH, "the real text graph is not at absent", "no browser: absent"):
        assert reason in output, output
    assert STRICT_ENV not in output


def test_under_the_switch_they_fail_with_their_reason(tmp_path):
    code, output = run_probes(tmp_path, strict=True)
    assert code == 1, output
    # two tests fail; the browser fixture's failure and the module's are errors
    assert summary(output) == {"failed": 2, "error": 2}, output
    lines = [x for x in output.splitlines() if f"[{STRICT_ENV} is set" in x]
    assert len(lines) == 4, output  # each failure says why, and that the switch made it one
    for reason in (TORCH, "the real text graph is not at absent", "no browser: absent"):
        assert any(x.startswith(reason) for x in lines), output
    assert sum(x.startswith(TORCH) for x in lines) == 2, output  # a test and a module
