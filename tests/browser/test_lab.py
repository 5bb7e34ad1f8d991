"""The thresholds notebook in a real JupyterLab: run all cells, move the mask-threshold slider,
and the overlay picture must change, with no error anywhere."""

from __future__ import annotations

import json
import re
import time

import numpy as np

from .conftest import ROOT
from .helpers import (
    error_texts,
    explorer_of,
    picture,
    press_on_slider,
    scroll_to_top,
    shot,
    slider,
    wait_for_new_picture,
)

NOTEBOOK = ROOT / "notebooks" / "06_thresholds_and_overlays.ipynb"
RUN_TIMEOUT_MS = 300_000
KERNEL_IDLE = re.compile(r"^(?!No Kernel).+ \| Idle$")
# every code cell numbered, or (after an error stopped "Run All") none still queued or running
RUN_FINISHED_JS = """() => {
    const hidden = '.jp-Placeholder-prompt';  // a collapsed cell's stand-in prompt, never numbered
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .filter((p) => !p.matches(hidden)).map((p) => p.textContent.trim());
    if (prompts.length === 0 || prompts.some((t) => t.includes('*'))) return false;
    const errors = document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length;
    return prompts.every((t) => /\\[\\d+\\]/.test(t)) || errors > 0;
}"""


def run_all(page) -> None:
    """Run > Run All Cells, through the menu a teacher would use."""
    page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()


def saved_outputs(page, lab, name: str) -> list[dict]:
    """Save the notebook (File > Save) and return its code cells' outputs as stored on disk."""
    path = lab.root / name
    before = path.stat().st_mtime_ns
    page.locator(".lm-MenuBar-itemLabel:text-is('File')").click()
    page.locator("li.lm-Menu-item[data-command='docmanager:save']").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.stat().st_mtime_ns != before:
            try:  # the server may still be writing it
                cells = json.loads(path.read_text())["cells"]
                break
            except json.JSONDecodeError:
                pass
        page.wait_for_timeout(200)
    else:
        raise AssertionError("File > Save did not write the notebook within 30 s")
    return [output for cell in cells if cell["cell_type"] == "code" for output in cell["outputs"]]


def test_mask_threshold_slider_redraws_the_overlay(lab_factory, page, artifacts):
    assert NOTEBOOK.is_file(), f"{NOTEBOOK.relative_to(ROOT)} is missing"
    started = time.monotonic()
    lab = lab_factory([NOTEBOOK])
    page.goto(
        f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}", wait_until="domcontentloaded"
    )
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    # a kernel started and idle (the indicator says idle before there is a kernel, too)
    page.get_by_text(KERNEL_IDLE).first.wait_for()
    opened = time.monotonic()
    shot(page, artifacts, "01-opened.png")

    run_all(page)
    page.wait_for_function(RUN_FINISHED_JS, timeout=RUN_TIMEOUT_MS, polling=250)
    ran = time.monotonic()
    stderr = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
    assert not error_texts(page, stderr), error_texts(page, stderr)[0]

    mask = slider(page.locator(".jp-OutputArea-output"), "mask threshold")
    mask.wait_for()
    box = explorer_of(mask)
    scroll_to_top(box)
    for description in ("confidence threshold", "mask threshold", "mask blend alpha"):
        assert slider(box, description).is_visible(), f"no '{description}' slider"
    old_src, before = picture(box)
    shot(page, artifacts, "02-after-run-all.png")
    shot(box.locator("img").first, artifacts, "03-overlay-before.png")

    readout = press_on_slider(mask, "End")
    assert readout == "1.00", f"the mask-threshold readout shows {readout!r} after End"
    _, after = wait_for_new_picture(box, old_src)
    moved = time.monotonic()
    shot(page, artifacts, "04-mask-threshold-1.png")
    shot(box.locator("img").first, artifacts, "05-overlay-mask-threshold-1.png")
    assert before.shape == after.shape
    changed = np.any(before != after, axis=2).mean()
    assert changed > 0.001, f"only {changed:.2%} of the overlay's pixels changed"

    assert not error_texts(page, stderr), error_texts(page, stderr)[0]
    outputs = saved_outputs(page, lab, NOTEBOOK.name)
    assert outputs, "the saved notebook has no outputs"
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}"
    (artifacts / "timings.txt").write_text(
        f"server and page: {opened - started:.1f} s\nrun all: {ran - opened:.1f} s\n"
        f"slider to new picture: {moved - ran:.1f} s\ntotal: {time.monotonic() - started:.1f} s\n"
    )
