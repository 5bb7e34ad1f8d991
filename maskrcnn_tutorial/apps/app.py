"""The classroom app: the explorer without code cells, served by Voila.

:func:`build_app` composes the whole app as one ipywidgets box: pick a sample scene or upload a
picture, see the detections, move the confidence, mask-threshold and blend sliders
(:func:`.explorers.overlay_explorer`) and browse one detection's 15x15 masks for every class
(:func:`.explorers.mask_browser`). It needs no browser, so tests call
it directly. The notebook Voila serves (``app.ipynb``, shipped beside this module) only calls
``build_app()``; :func:`maskrcnn_tutorial.apps.server.serve` is what ``maskrcnn-tutorial app``
runs.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import Any, Protocol

import cv2
import ipywidgets as widgets
import numpy as np

from maskrcnn_tutorial import models
from maskrcnn_tutorial.apps.explorers import (
    BoxProbe,
    MaskBrowser,
    OverlayExplorer,
    box_probe,
    loud,
    mask_browser,
    overlay_explorer,
)
from maskrcnn_tutorial.apps.server import INPUT_SIZE_ENV, MASK_BRANCH_ENV, MODEL_ENV
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.io.images import MAX_PIXELS, decode_image
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic import samples

#: Uploaded pictures larger than this (longest side, pixels) are scaled down first.
MAX_SIDE = 1024
#: What students do first, on the app's first screen and in ``notebooks/WORKSHOP.md``.
FIRST_STEP = (
    "count the objects in the picture yourself and guess which ones the model will "
    "separate; then press 'show the detections' and compare."
)
#: The button that reveals the detections (hidden for each new picture, so students count first).
REVEAL = "show the detections"

#: Largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class Segmenter(Protocol):
    """What the app needs from a model (:class:`maskrcnn_tutorial.inference.Model` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def labels(self) -> Sequence[str]: ...

    def forward(
        self, image: np.ndarray, mask_branch: str = "full", conf_threshold: float = 0.5
    ) -> RawOutputs: ...

    def box_masks(self, raw: RawOutputs, boxes: np.ndarray) -> np.ndarray: ...


def shrink(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``image`` scaled down (keeping its aspect) so its longest side is at most ``max_side``."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def decode_upload(content: bytes, name: str = "the upload") -> np.ndarray:
    """An uploaded file's bytes as an upright BGR uint8 image, scaled to :data:`MAX_SIDE`.

    The same decoding as the command line (:func:`.images.decode_image`), with two limits
    first: :data:`MAX_UPLOAD_BYTES` and :data:`.images.MAX_PIXELS` (read from the header,
    before decoding). Anything that is not a picture is a :class:`UserError` shown in the app.
    """
    if len(content) > MAX_UPLOAD_BYTES:
        raise UserError(
            f"{name} is too large ({len(content) // 2**20} MB); upload a picture under "
            f"{MAX_UPLOAD_BYTES // 2**20} MB"
        )
    return shrink(decode_image(content, name, max_pixels=MAX_PIXELS))


def message(text: str, error: bool = False) -> str:
    """HTML for the app's status line (errors in red, with a class tests can find)."""
    style = "app-error" if error else "app-status"
    color = "#b00020" if error else "inherit"
    return f'<div class="{style}" style="color: {color}">{html.escape(text)}</div>'


class ClassroomApp:
    """The app's state and widgets; :attr:`widget` is what a notebook or Voila displays (the
    app displays itself as it)."""

    def __init__(self, model: Segmenter, mask_branch: str = "kept") -> None:
        self.model = model
        self.mask_branch = mask_branch
        self.labels = list(model.labels)
        names = samples.sample_names(model.name)
        self.sample = widgets.Dropdown(
            options=list(zip(names, range(len(names)), strict=True)),
            value=0,
            description="sample scene",
            style={"description_width": "initial"},
        )
        self.upload = widgets.FileUpload(
            accept="image/*", multiple=False, description="upload a picture"
        )
        self.status = widgets.HTML()
        self.explorer_area = widgets.VBox()
        self.masks_area = widgets.VBox()
        self.probe_area = widgets.VBox()
        self.errors = widgets.Output()
        self.explorer: OverlayExplorer | None = None
        self.browser: MaskBrowser | None = None
        self.probe: BoxProbe | None = None
        self.image_name = ""
        self.image_size = (0, 0)
        #: the domain-shift warning, shown under the status line while an upload is shown
        self.upload_notice = ""
        self.raw: RawOutputs | None = None
        self.reveal = widgets.ToggleButton(
            value=False, description=REVEAL, icon="eye", layout={"width": "200px"}
        )
        # the first screen (1280 x 800, 1366 x 768): one short header, the controls in one row,
        # the status line, then the picture with its sliders beside it; the domain-shift
        # warning comes with an uploaded photo (:meth:`show_upload`), not before
        header = widgets.HTML(
            f"<p style='margin: 0 0 4px 0'><b style='font-size: 1.25em'>Mask R-CNN explorer</b>"
            f" &middot; model <b>{html.escape(model.name)}</b> ({len(self.labels)} classes)<br>"
            f"<b>First:</b> {html.escape(FIRST_STEP)} The sliders redraw the picture without "
            "running the network again.</p>"
            + "".join(
                f"<p><b>Note:</b> {html.escape(line)}</p>" for line in getattr(model, "notices", ())
            )
        )
        masks_header = widgets.HTML(
            "<h3>One detection's 15x15 masks, for every class</h3><p>The network predicts a "
            "mask for every class; the framed one (the detected class) is the one drawn "
            "on the picture. Detections listed are those above the confidence threshold.</p>"
        )
        masks = widgets.VBox([masks_header, self.masks_area], layout={"max_width": "680px"})
        probe_header = widgets.HTML(
            "<h3>Ask the mask head about any box</h3><p>Move the box with the sliders (or start "
            "at a detection) and pick a class: the mask head draws the mask it would give that "
            "class inside that box. It never decides whether an object is there; try half an "
            "object, two objects, or plain background.</p>"
        )
        self.widget = widgets.VBox(
            [
                header,
                widgets.HBox([self.sample, self.upload, self.reveal], layout={"grid_gap": "8px"}),
                self.status,
                self.explorer_area,
                masks,
                probe_header,
                self.probe_area,
                self.errors,
            ]
        )
        self.sample.observe(loud(self._on_sample, self.errors), names="value")
        self.upload.observe(loud(self._on_upload, self.errors), names="value")
        self.reveal.observe(loud(self._on_reveal, self.errors), names="value")
        self.show_sample(0)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --- what the controls do -----------------------------------------------------------------

    def show_sample(self, index: int) -> None:
        """Segment sample ``index`` of the model's samples and show it."""
        name, image = samples.sample_image(self.model.name, index)
        self.show(name, image)

    def show_upload(self, name: str, content: bytes) -> bool:
        """Decode and show an uploaded file; a bad file only changes the status line.

        Returns True when the picture was shown.
        """
        try:
            image = decode_upload(bytes(content), name)
            self.show(name, image)
        except UserError as exc:
            self.status.value = message(str(exc), error=True)
            return False
        self.upload_notice = samples.photo_notice(self.model.name) or ""
        self._say_what_was_found()
        return True

    def show(self, name: str, image: np.ndarray) -> None:
        """Run the network once on ``image`` and rebuild the explorer and the mask browser.

        Slider positions carry over from the previous picture.
        """
        # confidence 0: masks for every row with a score, so the slider can go anywhere; with
        # "kept" the zero rows DetectionOutput pads the 100 with get no mask
        raw = self.model.forward(image, mask_branch=self.mask_branch, conf_threshold=0.0)
        explorer = overlay_explorer(image, raw, self.labels)
        if self.explorer is not None:
            explorer.copy_settings(self.explorer)
        explorer.conf_threshold.observe(loud(self._on_confidence, self.errors), names="value")
        self.image_name, self.raw, self.explorer = name, raw, explorer
        self.upload_notice = ""
        self.image_size = image.shape[1], image.shape[0]
        with self.reveal.hold_trait_notifications():
            self.reveal.value = False  # a new picture: count first, again
        explorer.shown = False
        explorer.update()
        # the picture with its sliders beside it (the explorer's own box has them above)
        self.explorer_area.children = (
            widgets.HBox(
                [
                    explorer.view,
                    widgets.VBox([*explorer.controls, explorer.errors], layout={"width": "440px"}),
                ],
                layout={"flex_flow": "row wrap", "grid_gap": "16px", "align_items": "flex-start"},
            ),
        )
        self._rebuild_browser()
        self.probe = box_probe(self.model, image, raw, explorer.conf_threshold.value)
        self.probe_area.children = (self.probe.widget,)
        self._say_what_was_found()

    def _say_what_was_found(self) -> None:
        """The status line, in a learner's words: the picture, what the network found at the
        confidence threshold, and how long its one run took."""
        assert self.explorer is not None and self.raw is not None
        conf = self.explorer.conf_threshold.value
        width, height = self.image_size
        ran = f"{self.image_name} ({width}x{height} pixels): the network ran once, in "
        ran += f"{self.raw.time_ms:.0f} ms"
        if not self.explorer.shown:  # no count yet: the students are counting
            text = f"{ran}; count the objects, then press '{REVEAL}'."
        else:
            found = len(postprocess(self.raw, labels=self.labels, conf_threshold=conf))
            objects = "object" if found == 1 else "objects"
            text = f"{ran}, and found {found} {objects} scoring above {conf:.2f}."
        self.status.value = message(text) + (
            message(self.upload_notice) if self.upload_notice else ""
        )

    def _rebuild_browser(self) -> None:
        assert self.raw is not None and self.explorer is not None
        conf = self.explorer.conf_threshold.value
        self.browser = mask_browser(self.raw, self.labels, conf_threshold=conf)
        self.masks_area.children = (self.browser.widget,)

    def _on_confidence(self, _change: Any = None) -> None:
        self._rebuild_browser()
        self._say_what_was_found()

    def _on_reveal(self, change: dict[str, Any]) -> None:
        if self.explorer is not None:
            self.explorer.shown = bool(change["new"])
            self.explorer.update()
            self._say_what_was_found()

    def _on_sample(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.show_sample(int(change["new"]))

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]
        if self.show_upload(upload["name"], upload["content"]):
            with self.sample.hold_trait_notifications():
                self.sample.value = None  # the picture is no longer a sample


def build_app(model: Segmenter | None = None, mask_branch: str | None = None) -> ClassroomApp:
    """The whole classroom app (it displays as one widget, :attr:`ClassroomApp.widget`).

    ``model`` defaults to the model named by ``$MASKRCNN_TUTORIAL_APP_MODEL``, else the default
    model (``coco`` when fetched, else the embedded ``shapes``), sized as
    ``$MASKRCNN_TUTORIAL_APP_INPUT_SIZE`` says (default native). ``mask_branch`` defaults to
    ``$MASKRCNN_TUTORIAL_APP_MASK_BRANCH``, else ``kept``: masks only for the rows with a
    score, the same pictures at any slider position as ``full``, in less time.
    """
    if model is None:
        model = models.load_model(
            os.environ.get(MODEL_ENV) or None, input_size=os.environ.get(INPUT_SIZE_ENV)
        )
    return ClassroomApp(model, mask_branch or os.environ.get(MASK_BRANCH_ENV) or "kept")
