"""The classroom app (``maskrcnn-tutorial app``, Voila) in a real browser: no code cells,
upload a picture, move a slider, and the picture changes; a bad file gives a clear message."""

from __future__ import annotations

import time

import cv2
import numpy as np

from maskrcnn_tutorial.synthetic.scenes import make_scene

from .helpers import (
    error_texts,
    picture,
    press_on_slider,
    scroll_to_top,
    shot,
    slider,
    wait_for_new_picture,
)

STDERR = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
UPLOAD_SEED = 1_000_050  # a held-out scene that is not one of the app's samples


def upload(page, path) -> None:
    """Click the upload button and pick ``path`` in the file chooser it opens."""
    with page.expect_file_chooser() as chooser:
        page.locator(".widget-upload").filter(has_text="upload a picture").click()
    chooser.value.set_files(str(path))


def test_app_upload_and_slider_redraw_the_picture(classroom_app, page, artifacts, tmp_path):
    started = time.monotonic()
    page.goto(classroom_app.url, wait_until="domcontentloaded")
    mask = slider(page, "mask threshold")
    mask.wait_for(timeout=180_000)  # Voila runs the notebook (model load, forward pass) first
    opened = time.monotonic()
    box = page.locator(".widget-hbox").filter(has=page.locator(".widget-image")).first
    for description in ("confidence threshold", "mask threshold", "mask blend alpha"):
        assert slider(box, description).is_visible(), f"no '{description}' slider"
    assert page.locator(".jp-InputArea, .cm-editor").count() == 0, "code cells are visible"
    assert "build_app" not in page.locator("body").inner_text()
    chooser = page.locator(".widget-dropdown").filter(has_text="sample scene")
    assert chooser.locator("option").count() >= 1, "no sample chooser"
    src, sample = picture(box)
    shot(page, artifacts, "01-opened.png")

    scene = tmp_path / "my scene.png"
    cv2.imwrite(str(scene), make_scene(UPLOAD_SEED).image)
    upload(page, scene)
    page.locator(".app-status").filter(has_text="my scene.png").wait_for()
    src, uploaded = wait_for_new_picture(box, src)
    uploaded_at = time.monotonic()
    assert sample.shape != uploaded.shape or np.any(sample != uploaded)
    scroll_to_top(box)
    shot(page, artifacts, "02-uploaded.png")

    page.get_by_role("button", name="show the detections").click()  # hidden for each picture
    src, uploaded = wait_for_new_picture(box, src)
    readout = press_on_slider(slider(box, "confidence threshold"), "Home")
    assert readout == "0.00", f"the confidence readout shows {readout!r} after Home"
    src, loose = wait_for_new_picture(box, src)
    moved = time.monotonic()
    assert loose.shape == uploaded.shape
    changed = np.any(loose != uploaded, axis=2).mean()
    assert changed > 0.001, f"only {changed:.2%} of the picture's pixels changed"
    shot(page, artifacts, "03-confidence-0.png")
    masks = page.locator(".widget-dropdown").filter(has_text="detection").locator("select")
    assert masks.locator("option").count() >= 1

    bad = tmp_path / "notes.txt"
    bad.write_text("not a picture")
    upload(page, bad)
    error = page.locator(".app-error")
    error.wait_for()
    assert "cannot read notes.txt" in error.inner_text()
    assert box.locator("img").first.get_attribute("src") == src, "a bad file replaced the picture"
    page.locator(".app-error").scroll_into_view_if_needed()
    shot(page, artifacts, "04-bad-upload.png")

    assert not error_texts(page, STDERR), error_texts(page, STDERR)[0]
    (artifacts / "timings.txt").write_text(
        f"server and first render: {opened - started:.1f} s\n"
        f"upload to new picture: {uploaded_at - opened:.1f} s\n"
        f"slider to new picture: {moved - uploaded_at:.1f} s\n"
        f"total: {time.monotonic() - started:.1f} s\n"
    )
