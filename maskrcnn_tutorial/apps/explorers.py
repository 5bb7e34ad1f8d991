"""Interactive explorers for notebooks: ipywidgets around plain render functions.

Each explorer is a render function (arguments in, picture out: testable and usable headless)
wrapped by a factory that adds sliders. Moving a slider re-runs only post-processing and
drawing on stored raw outputs, never the network.

``ipywidgets.interactive`` catches a callback's exceptions and only shows them inside the
widget, so a broken explorer would still "pass". These factories do not use it: they render
once directly (an error fails the cell) and a later error is shown as a traceback *and*
re-raised.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from maskrcnn_tutorial.boxes import box_hw
from maskrcnn_tutorial.draw import COLOR_MODES
from maskrcnn_tutorial.explain.decode import ProposalTrace
from maskrcnn_tutorial.explain.render import (
    as_channels,
    display_width,
    layer_summary,
    render_box_probe,
    render_channels,
    render_histogram,
    render_mask_grid,
    render_overlay,
    render_proposal,
    to_png,
)
from maskrcnn_tutorial.inference import Model, RawOutputs
from maskrcnn_tutorial.postprocess import (
    DEFAULT_CONF_THRESHOLD,
    DEFAULT_MASK_THRESHOLD,
    label_of,
    pixel_box,
)


def loud(callback: Callable[..., Any], output: widgets.Output) -> Callable[..., Any]:
    """Wrap a widget callback so an exception is shown in ``output`` and raised again."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except Exception:
            output.clear_output()
            output.append_stderr(traceback.format_exc())
            raise

    return wrapper


def slider(
    description: str, value: float, minimum: float = 0.0, maximum: float = 1.0, step: float = 0.05
) -> widgets.FloatSlider:
    """A float slider that only reports when released (no flood of renders while dragging)."""
    return widgets.FloatSlider(
        value=value,
        min=minimum,
        max=maximum,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
    )


class Explorer:
    """A small object that owns an explorer's controls and picture; :attr:`widget` is what a
    notebook shows (an explorer displays itself as that widget)."""

    widget: widgets.Box
    view: widgets.Image
    errors: widgets.Output

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


class OverlayExplorer(Explorer):
    """Sliders for confidence, mask threshold and blend alpha, color mode and contours, above
    the annotated picture (:func:`render_overlay`). Each control is an attribute."""

    def __init__(self, image: np.ndarray, raw: RawOutputs, labels: Sequence[str]) -> None:
        self.image, self.raw, self.labels = image, raw, labels
        self.conf_threshold = slider("confidence threshold", DEFAULT_CONF_THRESHOLD)
        self.mask_threshold = slider("mask threshold", DEFAULT_MASK_THRESHOLD)
        self.alpha = slider("mask blend alpha", 0.5)
        self.colors = widgets.ToggleButtons(
            options=COLOR_MODES, value="class", description="colors"
        )
        self.contours = widgets.Checkbox(value=True, description="contours")
        for control in (self.conf_threshold, self.mask_threshold, self.alpha):
            control.style.description_width = "150px"
            control.layout.width = "420px"
        shown = display_width(image.shape[1])
        # a definite width: the picture is neither stretched to the page nor squeezed
        self.view = widgets.Image(
            format="png", layout=widgets.Layout(width=f"{shown}px", max_width="none")
        )
        self.errors = widgets.Output()
        #: False draws the picture alone (the app asks students to count the objects first)
        self.shown = True
        self.update()
        handler = loud(self.update, self.errors)
        for control in self.controls:
            control.observe(handler, names="value")
        self.widget = widgets.VBox(
            [*self.controls, self.view, self.errors], layout={"width": f"{max(shown, 440)}px"}
        )

    @property
    def controls(self) -> tuple[widgets.ValueWidget, ...]:
        """The controls, in the order they are shown."""
        return (self.conf_threshold, self.mask_threshold, self.alpha, self.colors, self.contours)

    def settings(self) -> dict[str, Any]:
        """The controls' values as :func:`render_overlay`'s keyword arguments."""
        return {
            "conf_threshold": self.conf_threshold.value,
            "mask_threshold": self.mask_threshold.value,
            "alpha": self.alpha.value,
            "colors": self.colors.value,
            "contours": self.contours.value,
        }

    def copy_settings(self, other: OverlayExplorer) -> None:
        """Move every control to ``other``'s position (a new picture keeps the sliders)."""
        for mine, theirs in zip(self.controls, other.controls, strict=True):
            mine.value = theirs.value

    def update(self, _change: Any = None) -> None:
        """Render the picture for the controls' current values."""
        self.view.value = to_png(
            render_overlay(self.image, self.raw, self.labels, **self.settings(), shown=self.shown)
        )
        self.errors.clear_output()


def overlay_explorer(image: np.ndarray, raw: RawOutputs, labels: Sequence[str]) -> OverlayExplorer:
    """An :class:`OverlayExplorer` of ``image`` and its raw outputs (displays as its widget)."""
    return OverlayExplorer(image, raw, labels)


class MaskBrowser(Explorer):
    """Pick a detection (:attr:`detection`); see its 15x15 masks for every class
    (:func:`render_mask_grid`)."""

    def __init__(
        self,
        raw: RawOutputs,
        labels: Sequence[str],
        conf_threshold: float = DEFAULT_CONF_THRESHOLD,
    ) -> None:
        self.raw, self.labels = raw, labels
        rows = np.flatnonzero(raw.detection_out_final[0, 0, :, 2] > conf_threshold)
        if len(rows) == 0:
            rows = np.array([0])
        final = raw.detection_out_final[0, 0]
        names = [f"#{int(r)} {label_of(labels, int(final[r, 1]))} {final[r, 2]:.2f}" for r in rows]
        self.detection = widgets.Dropdown(
            options=list(zip(names, rows.tolist(), strict=True)), description="detection"
        )
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.errors = widgets.Output()
        self.update()
        self.detection.observe(loud(self.update, self.errors), names="value")
        self.widget = widgets.VBox([self.detection, self.view, self.errors])

    def update(self, _change: Any = None) -> None:
        """Render the chosen detection's mask grid."""
        self.view.value = to_png(render_mask_grid(self.raw, self.detection.value, self.labels))


def mask_browser(
    raw: RawOutputs, labels: Sequence[str], conf_threshold: float = DEFAULT_CONF_THRESHOLD
) -> MaskBrowser:
    """A :class:`MaskBrowser` of the detections above ``conf_threshold``."""
    return MaskBrowser(raw, labels, conf_threshold)


class BoxProbe(Explorer):
    """Put a box anywhere (sliders :attr:`left`, :attr:`top`, :attr:`width`, :attr:`height`, or
    :attr:`start` at a detection) and see the 15x15 mask the mask head predicts for it, for
    the class in :attr:`class_id` (:func:`render_box_probe`). Each box runs the mask head
    once on the stored feature map (:meth:`.inference.Model.box_masks`), never the whole net.
    """

    def __init__(
        self,
        model: Model,
        image: np.ndarray,
        raw: RawOutputs,
        conf_threshold: float = DEFAULT_CONF_THRESHOLD,
    ) -> None:
        if raw.features is None:  # a full pass: run the detector once more for its feature map
            raw = model.forward(image, mask_branch="kept", conf_threshold=1.0)
        self.model, self.image, self.raw, self.labels = model, image, raw, model.labels
        height, width = image.shape[:2]
        final = raw.detection_out_final[0, 0]
        rows = np.flatnonzero(final[:, 2] > conf_threshold)
        starts = [(f"#{r} {label_of(self.labels, int(final[r, 1]))}", int(r)) for r in rows]
        self.start = widgets.Dropdown(
            options=[("whole picture", -1), *starts], description="start at"
        )
        num_classes = raw.detection_masks.shape[1]
        self.class_id = widgets.Dropdown(
            options=[(label_of(self.labels, c), c) for c in range(num_classes)],
            description="class",
        )
        # a box is at least 2 px wide and high, or the whole side of a picture 1 px thin
        self.left, self.top = (
            widgets.IntSlider(0, 0, max(0, size - 2), description=name, continuous_update=False)
            for name, size in (("left", width), ("top", height))
        )
        self.width, self.height = (
            widgets.IntSlider(size, min(2, size), size, description=name, continuous_update=False)
            for name, size in (("width", width), ("height", height))
        )
        self.mask_threshold = slider("mask threshold", DEFAULT_MASK_THRESHOLD)
        self.view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.errors = widgets.Output()
        self._cache: dict[tuple[int, int, int, int], np.ndarray] = {}
        self._moving = False
        self.start.observe(loud(self.go_to_start, self.errors), names="value")
        if starts:
            self.start.value = starts[0][1]
        else:
            self.update()
        handler = loud(self.update, self.errors)
        for control in self.controls:
            control.observe(handler, names="value")
        self.widget = widgets.VBox([self.start, *self.controls, self.view, self.errors])

    @property
    def controls(self) -> tuple[widgets.ValueWidget, ...]:
        """The controls that redraw, in the order they are shown."""
        return (self.class_id, self.left, self.top, self.width, self.height, self.mask_threshold)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The box the sliders describe, ``[left, top, right, bottom]`` inside the picture."""
        height, width = self.image.shape[:2]
        right = min(self.left.value + self.width.value - 1, width - 1)
        bottom = min(self.top.value + self.height.value - 1, height - 1)
        return self.left.value, self.top.value, right, bottom

    def masks(self) -> np.ndarray:
        """[C, 15, 15]: the mask head's output for :attr:`box` (computed once per box)."""
        box = self.box
        if box not in self._cache:
            self._cache[box] = self.model.box_masks(self.raw, np.array([box]))[0]
        return self._cache[box]

    def go_to_start(self, _change: Any = None) -> None:
        """Move the box (and the class) to the detection chosen in :attr:`start`."""
        height, width = self.image.shape[:2]
        row = self.start.value
        if row < 0:
            box, cls = (0, 0, width - 1, height - 1), self.class_id.value
        else:
            final = self.raw.detection_out_final[0, 0, row]
            box, cls = pixel_box(final, width, height), int(final[1])
        self._moving = True  # one render for the five moves, not five
        try:
            self.left.value, self.top.value = box[0], box[1]
            self.height.value, self.width.value = box_hw(box)
            self.class_id.value = cls
        finally:
            self._moving = False
        self.update()

    def update(self, _change: Any = None) -> None:
        """Run the mask head on the current box and render it."""
        if self._moving:
            return
        picture = render_box_probe(
            self.image, self.box, self.masks(), self.class_id.value, self.labels,
            self.mask_threshold.value,
        )  # fmt: skip
        self.view.value = to_png(picture)
        self.errors.clear_output()


def box_probe(
    model: Model,
    image: np.ndarray,
    raw: RawOutputs,
    conf_threshold: float = DEFAULT_CONF_THRESHOLD,
) -> BoxProbe:
    """A :class:`BoxProbe` on ``image`` (starting at its first detection above the threshold)."""
    return BoxProbe(model, image, raw, conf_threshold)


class LayerExplorer(Explorer):
    """Choose a tapped layer (:attr:`layer`, from ``raw.taps``), a row (:attr:`row`, for
    stage-2 tensors) and the first channel shown (:attr:`channels`): its shape and range, 16
    channels (:func:`render_channels`) and a histogram of its values (:attr:`histogram`)."""

    def __init__(self, raw: RawOutputs) -> None:
        self.raw = raw
        names = list(raw.taps)
        self.layer = widgets.Dropdown(options=names, value=names[0], description="layer")
        self.row = widgets.IntSlider(value=0, min=0, max=99, description="row (stage 2)")
        self.channels = widgets.IntSlider(
            value=0, min=0, max=1008, step=16, description="channels from"
        )
        self.info = widgets.Label()
        self.view, self.histogram = widgets.Image(format="png"), widgets.Image(format="png")
        self.errors = widgets.Output()
        self.update()
        for control in (self.layer, self.row, self.channels):
            control.observe(loud(self.update, self.errors), names="value")
        self.widget = widgets.VBox(
            [self.layer, self.row, self.channels, self.info, self.view, self.histogram, self.errors]
        )

    def update(self, _change: Any = None) -> None:
        """Render the chosen layer's channels and histogram."""
        tensor = self.raw.taps[self.layer.value]
        count = len(as_channels(tensor, self.row.value))
        self.info.value = layer_summary(self.layer.value, tensor)
        start = min(self.channels.value, max(0, count - 1))
        self.view.value = to_png(render_channels(tensor, self.row.value, start))
        self.histogram.value = to_png(render_histogram(tensor))


def layer_explorer(raw: RawOutputs) -> LayerExplorer:
    """A :class:`LayerExplorer` of ``raw``'s tapped layers."""
    return LayerExplorer(raw)


class ProposalExplorer(Explorer):
    """Choose a proposal (:attr:`proposal`): its anchor, box and refined box on the image, its
    crop (:func:`render_proposal`) and the numbers of each stage (:attr:`info`)."""

    def __init__(
        self,
        image: np.ndarray,
        traces: Sequence[ProposalTrace],
        crops: np.ndarray,
        labels: Sequence[str],
    ) -> None:
        self.image, self.traces, self.crops, self.labels = image, traces, crops, labels
        self.proposal = widgets.IntSlider(
            value=0, min=0, max=len(traces) - 1, description="proposal"
        )
        self.view, self.info = widgets.Image(format="png"), widgets.HTML()
        self.errors = widgets.Output()
        self.update()
        self.proposal.observe(loud(self.update, self.errors), names="value")
        self.widget = widgets.VBox([self.proposal, self.view, self.info, self.errors])

    def update(self, _change: Any = None) -> None:
        """Render the chosen proposal and its numbers."""
        trace = self.traces[self.proposal.value]
        self.view.value = to_png(
            render_proposal(self.image, trace, self.crops[trace.index], self.labels)
        )
        best = int(np.argmax(trace.class_scores))
        detections = trace.detection_rows or "none"
        self.info.value = (
            f"objectness {trace.objectness:.3f}; best class {label_of(self.labels, best)} "
            f"{trace.class_scores[best]:.3f}; detections from it: {detections}"
        )


def proposal_explorer(
    image: np.ndarray, traces: Sequence[ProposalTrace], crops: np.ndarray, labels: Sequence[str]
) -> ProposalExplorer:
    """A :class:`ProposalExplorer` (``traces`` from :func:`.decode.trace_proposal`, ``crops``
    the ``CropAndResize`` tap)."""
    return ProposalExplorer(image, traces, crops, labels)
