"""What the browser tests do to a page: read a widget's picture, move a slider, collect errors."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import cv2
import numpy as np

# The bytes behind an <img> (ipywidgets' Image shows a blob: URL), as base64.
IMG_BYTES_JS = """async (img) => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) {
        text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    return btoa(text);
}"""
ERROR_TEXT = re.compile(r"Traceback|^\w*(Error|Exception)\b", re.MULTILINE)


def slider(scope, description: str):
    """The ipywidgets slider labelled ``description`` inside ``scope`` (page or locator)."""
    return scope.locator(".widget-slider").filter(has_text=description).first


def explorer_of(slider_locator):
    """The explorer box a slider belongs to (its parent VBox)."""
    return slider_locator.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]")


def picture(box) -> tuple[str, np.ndarray]:
    """(src, decoded BGR pixels) of the first picture in ``box``."""
    img = box.locator("img").first
    img.wait_for()
    src = img.get_attribute("src") or ""
    data = base64.b64decode(img.evaluate(IMG_BYTES_JS))
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None, f"the picture at {src[:60]} does not decode"
    return src, pixels


def wait_for_new_picture(box, old_src: str, timeout: float = 60.0) -> tuple[str, np.ndarray]:
    """The picture of ``box`` once its src is no longer ``old_src``."""
    img = box.locator("img").first
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (img.get_attribute("src") or "") != old_src:
            return picture(box)
        box.page.wait_for_timeout(100)  # (time.sleep would stall the page's routed requests)
    raise AssertionError(f"the picture did not change within {timeout:.0f} s")


def press_on_slider(slider_locator, key: str) -> str:
    """Focus the slider's handle, press ``key``; returns the readout afterwards."""
    handle = slider_locator.locator(".noUi-handle")
    handle.focus()
    handle.press(key)
    return slider_locator.locator(".widget-readout").inner_text()


def error_texts(page, selector: str) -> list[str]:
    """Texts of the stderr / error outputs matching ``selector`` that look like errors."""
    texts = page.locator(selector).all_inner_texts()
    return [text for text in texts if ERROR_TEXT.search(text)]


def scroll_to_top(locator) -> None:
    """Scroll so that ``locator``'s element starts at the top of its scrolling container."""
    locator.evaluate("(el) => el.scrollIntoView({block: 'start'})")


def shot(target, folder: Path, name: str) -> Path:
    """Save a screenshot of a page or element as ``folder/name``."""
    path = folder / name
    target.screenshot(path=str(path))
    return path
