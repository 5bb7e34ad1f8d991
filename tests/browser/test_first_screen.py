"""The app's first screen on a classroom laptop (1366x768, 1280x800) in Chromium: the picture
and its sliders are both on it, the detections wait until asked for (students count first),
the status line speaks a learner's words, and the domain-shift warning waits for a photo."""

from __future__ import annotations

import numpy as np
import pytest

from maskrcnn_tutorial.apps.app import FIRST_STEP, REVEAL

from .helpers import picture, shot, slider

SCREENS = [(1366, 768), (1280, 800)]


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, "not rendered"
    return found


def within(found: dict, width: int, height: int) -> bool:
    return (
        found["y"] >= 0
        and found["y"] + found["height"] <= height
        and (found["x"] + found["width"] <= width)
    )


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=lambda v: str(v))
def test_picture_and_sliders_are_on_the_first_screen(
    classroom_app, browser, artifacts, width, height
):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(classroom_app.url, wait_until="domcontentloaded")
        mask = slider(page, "mask threshold")
        mask.wait_for(timeout=180_000)  # Voila runs the notebook first
        page.evaluate("window.scrollTo(0, 0)")
        row = page.locator(".widget-hbox").filter(has=page.locator("img.widget-image")).first
        view = row.locator("img.widget-image").first
        view.wait_for()
        shot(page, artifacts, f"first-screen-{width}x{height}.png")
        for name, locator in [
            ("the picture", view),
            ("the confidence slider", slider(page, "confidence threshold")),
            ("the mask slider", mask),
            (f"the '{REVEAL}' button", page.get_by_role("button", name=REVEAL)),
        ]:
            found = box(locator)
            assert within(found, width, height), f"{name} is not on the first screen: {found}"
        body = page.locator("body").inner_text()
        assert " ".join(FIRST_STEP.split()[:6]) in body
        assert "five synthetic shapes" not in body  # the domain-shift warning waits for a photo
        status = page.locator(".app-status").first.inner_text()
        assert "the network ran once" in status and "rows" not in status, status

        # the detections come only when asked for, and the picture changes then
        _, hidden = picture(row)
        page.get_by_role("button", name=REVEAL).click()
        page.wait_for_function(
            "(s) => !document.querySelector('.app-status').innerText.includes(s)",
            arg="count the objects",
        )
        deadline = 100
        while deadline:
            _, shown = picture(row)
            if shown.shape != hidden.shape or np.any(shown != hidden):
                break
            page.wait_for_timeout(100)
            deadline -= 1
        assert deadline, "the detections did not appear"
        shot(page, artifacts, f"revealed-{width}x{height}.png")
    finally:
        context.close()
