"""The switch CI sets (``$MASKRCNN_TUTORIAL_STRICT``): a suite skipped for a missing requirement
(torch, the real text graph, Chromium) fails instead. Checked by running pytest (in process:
``pytester``) on small probe tests that hit the real skip sites with the requirement made absent."""

from __future__ import annotations

from tests.requires import STRICT_ENV, TORCH

PROBES = """
import sys
from pathlib import Path

import pytest

from tests import reference, requires
from tests.browser import conftest as browser_conftest
from tests.browser.conftest import browser  # noqa: F401  (the fixture the browser tests use)


@pytest.fixture(scope="session", autouse=True)
def no_chromium():
    saved = browser_conftest.CHROMIUM
    browser_conftest.CHROMIUM = Path("absent") / "chromium"
    yield
    browser_conftest.CHROMIUM = saved


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

saved = sys.modules.get("torch")
sys.modules["torch"] = None  # import torch raises ImportError
try:
    torch = requires.module("torch", requires.TORCH)
finally:
    sys.modules["torch"] = saved


def test_uses_torch():
    pass
"""

REASONS = (TORCH, "the real text graph is not at absent", "no browser: absent")


def run_probes(pytester, monkeypatch, strict: bool):
    """Run both probe files (a collection error does not stop the other file)."""
    pytester.makepyfile(test_probes=PROBES, test_module_level=MODULE_LEVEL)
    for name in ("CI", "BUILD_NUMBER"):  # on CI pytest prints summary lines whole: same output
        monkeypatch.delenv(name, raising=False)
    if strict:
        monkeypatch.setenv(STRICT_ENV, "1")
    else:
        monkeypatch.delenv(STRICT_ENV, raising=False)
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-rfEs", "--continue-on-collection-errors"
    )


def test_without_the_switch_missing_requirements_skip_with_their_reason(pytester, monkeypatch):
    result = run_probes(pytester, monkeypatch, strict=False)
    assert result.ret == 0
    result.assert_outcomes(skipped=4)  # three tests and one module
    output = result.stdout.str()
    assert all(reason in output for reason in REASONS), output
    assert STRICT_ENV not in output


def test_under_the_switch_they_fail_with_their_reason(pytester, monkeypatch):
    result = run_probes(pytester, monkeypatch, strict=True)
    assert result.ret == 1
    # two tests fail; the browser fixture's failure and the module's are errors
    result.assert_outcomes(failed=2, errors=2)
    output = result.stdout.str()
    lines = [x for x in output.splitlines() if f"[{STRICT_ENV} is set" in x]
    assert len(lines) == 4, output  # each failure says why, and that the switch made it one
    for reason in REASONS:
        assert any(x.startswith(reason) for x in lines), output
    assert sum(x.startswith(TORCH) for x in lines) == 2, output  # a test and a module
