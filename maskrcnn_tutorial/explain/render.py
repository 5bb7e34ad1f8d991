"""Render functions behind the explorers: arguments in, picture out.

Each function draws one teaching picture (an overlay at given thresholds, the mask grid of one
detection, a box probed through the mask head, a layer's channels, a proposal's path) as a BGR
image, so a test or a headless script can call it directly. The sliders that wrap them live in
:mod:`maskrcnn_tutorial.apps.explorers`; moving a slider re-runs only these functions on
stored raw outputs, never the network.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from maskrcnn_tutorial.boxes import (
    box_hw,
    box_slices,
    clip_box,
    exclusive,
    in_pixels,
    inclusive,
)
from maskrcnn_tutorial.draw import annotate, upscale, upscale_factor
from maskrcnn_tutorial.explain.decode import ProposalTrace
from maskrcnn_tutorial.explain.figures import histogram
from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.io.images import to_bgr8
from maskrcnn_tutorial.postprocess import (
    DEFAULT_CONF_THRESHOLD,
    DEFAULT_MASK_THRESHOLD,
    label_of,
    postprocess,
)

#: Pictures are shown at least this wide (small ones scaled up by a whole factor) and at most
#: :data:`MAX_DISPLAY` wide, so sliders and neighbouring widgets stay on screen beside them.
MIN_DISPLAY, MAX_DISPLAY = 480, 720


def display_width(width: int) -> int:
    """Pixels on screen for a picture ``width`` pixels wide (see :data:`MIN_DISPLAY`)."""
    factor = max(1, -(-MIN_DISPLAY // max(width, 1)))  # the smallest whole factor reaching it
    return min(MAX_DISPLAY, width * factor)


def to_png(image: np.ndarray) -> bytes:
    """PNG bytes of a BGR image (what an ``ipywidgets.Image`` shows)."""
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode the picture as PNG")
    return data.tobytes()


def render_overlay(
    image: np.ndarray,
    raw: RawOutputs,
    labels: Sequence[str],
    conf_threshold: float = DEFAULT_CONF_THRESHOLD,
    mask_threshold: float = DEFAULT_MASK_THRESHOLD,
    alpha: float = 0.5,
    colors: str = "class",
    contours: bool = True,
    boxes: bool = True,
    shown: bool = True,
) -> np.ndarray:
    """The image annotated with the detections that pass the thresholds; with ``shown`` False
    the picture alone, at the size it is drawn with them (to count the objects first)."""
    dets = postprocess(
        raw,
        image_shape=image.shape[:2],
        labels=labels,
        conf_threshold=conf_threshold,
        mask_threshold=mask_threshold,
    )
    if not shown:
        return annotate(image, dets, masks=False, contours=False, boxes=False, labels=False)
    return annotate(
        image, dets, colors=colors, alpha=alpha, contours=contours, boxes=boxes, legend=True
    )


def heatmap(probabilities: np.ndarray, scale: int) -> np.ndarray:
    """A [0, 1] array as a BGR color map (viridis), each cell ``scale`` pixels wide; NaN (a mask
    never computed, or cropped from a feature map one cell thin) shows as 0."""
    grey = np.clip(np.nan_to_num(probabilities * 255.0), 0, 255).astype(np.uint8)
    big = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return cv2.applyColorMap(big, cv2.COLORMAP_VIRIDIS)


#: With more classes than this, the mask grid shows the detected class and the strongest others.
GRID_TOP = 6


def grid_classes(raw: RawOutputs, row: int, top: int = GRID_TOP) -> list[int]:
    """Classes whose masks the grid shows for detection ``row``: the detected class first, then
    the others by decreasing mean mask probability (all of them when there are at most ``top``).
    """
    masks = raw.detection_masks[row]
    detected = int(raw.detection_out_final[0, 0, row, 1])
    others = [
        int(k)
        for k in np.argsort(-masks.reshape(len(masks), -1).mean(1), kind="stable")
        if k != detected
    ]
    return [detected, *others][: top if len(masks) > top else len(masks)]


def mask_grid_layout(
    raw: RawOutputs, row: int, scale: int = 8, columns: int = GRID_TOP, top: int = GRID_TOP
) -> tuple[list[int], list[tuple[int, int, int, int]]]:
    """The classes :func:`render_mask_grid` shows and each tile's (x, y, width, height):
    tiles of 15 x ``scale`` pixels, with a strip for the class name under each."""
    shown = grid_classes(raw, row, top)
    columns = max(1, min(columns, len(shown)))
    tile = 15 * scale
    return shown, [
        (8 + (k % columns) * (tile + 16), 8 + (k // columns) * (tile + 30), tile, tile)
        for k in range(len(shown))
    ]


def color_bar(height: int, width: int = 16) -> np.ndarray:
    """A vertical viridis bar from probability 1 (top) to 0 (bottom), BGR."""
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None].repeat(width, 1)
    return heatmap(ramp, 1)


def render_mask_grid(
    raw: RawOutputs,
    row: int,
    labels: Sequence[str] = (),
    scale: int = 8,
    columns: int = GRID_TOP,
    top: int = GRID_TOP,
) -> np.ndarray:
    """Detection ``row``'s 15x15 masks as named heat maps, with a color bar (probability 0-1).

    The detected class comes first, framed in white: it is the only slice post-processing
    uses. A model with more than ``top`` classes (COCO has 90) shows the detected class and
    the ``top - 1`` classes whose masks are strongest (highest mean probability).
    """
    shown, tiles = mask_grid_layout(raw, row, scale, columns, top)
    masks = raw.detection_masks[row]
    tile = tiles[0][2]
    right = max(x + w for x, _, w, _ in tiles)
    bottom = max(y + h for _, y, _, h in tiles) + 30
    grid = np.full((bottom, right + 70, 3), 40, np.uint8)
    for k, ((x, y, w, h), cls) in enumerate(zip(tiles, shown, strict=True)):
        grid[y : y + h, x : x + w] = heatmap(masks[cls], scale)
        if k == 0:
            cv2.rectangle(grid, (x - 3, y - 3), (x + w + 2, y + h + 2), (255, 255, 255), 2)
        name = label_of(labels, cls)
        size = 0.45
        while cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, size, 1)[0][0] > w and size > 0.3:
            size -= 0.05
        cv2.putText(
            grid, name, (x, y + h + 18), cv2.FONT_HERSHEY_SIMPLEX, size, (255, 255, 255), 1,
            cv2.LINE_AA,
        )  # fmt: skip
    bar_x, bar_y = right + 14, tiles[0][1]
    grid[bar_y : bar_y + tile, bar_x : bar_x + 16] = color_bar(tile)
    for value, y in ((1.0, bar_y + 10), (0.5, bar_y + tile // 2 + 4), (0.0, bar_y + tile - 2)):
        cv2.putText(
            grid, f"{value:.1f}", (bar_x + 20, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
            (255, 255, 255), 1, cv2.LINE_AA,
        )  # fmt: skip
    return grid


def render_box_probe(
    image: np.ndarray,
    box: Sequence[int],
    masks: np.ndarray,
    class_id: int,
    labels: Sequence[str] = (),
    mask_threshold: float = DEFAULT_MASK_THRESHOLD,
    scale: int | None = None,
) -> np.ndarray:
    """What the mask head predicts for one box: the picture with the box outlined and class
    ``class_id``'s mask pasted into it as a heat map (its ``mask_threshold`` contour in white),
    beside that 15x15 mask enlarged ``scale`` times under the class's name, with a color bar.

    ``box`` is ``[left, top, right, bottom]`` in pixels (inclusive); ``masks`` is the head's
    [C, 15, 15] output for it (:meth:`.inference.Model.box_masks`). Pictures smaller than
    :data:`.draw.MIN_SIDE` are drawn upscaled by a whole factor. ``scale`` defaults to the
    largest that makes the enlarged mask as tall as the picture beside it (at least 12), and the
    panel's text is sized to the picture, so the whole stays legible when shown shrunk.
    """
    height, width = image.shape[:2]
    left, top, right, bottom = clip_box(box, (height, width))
    # small pictures are drawn larger (as annotate does), the box with them
    factor = upscale_factor(image.shape)
    picture = upscale(image, factor)
    height, width = picture.shape[:2]
    box = inclusive(exclusive([left, top, right, bottom]) * factor)[0].astype(int)
    left, top, right, bottom = (int(v) for v in box)
    mask = masks[class_id]
    box_height, box_width = box_hw(box)
    probabilities = cv2.resize(
        mask.astype(np.float32), (box_width, box_height), interpolation=cv2.INTER_LINEAR
    )
    region = picture[box_slices(box)]
    heat = heatmap(probabilities, 1)
    region[:] = cv2.addWeighted(region, 0.35, heat, 0.65, 0.0)
    inside = (probabilities > mask_threshold).astype(np.uint8)
    outlines, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    line = max(1, height // 256)
    cv2.drawContours(region, outlines, -1, (255, 255, 255), line)
    cv2.rectangle(picture, (left, top), (right, bottom), (0, 0, 255), 2 * line)
    text = max(0.5, height / 640)  # font scale: about 1/40 of the picture's height
    thick = max(1, round(2 * text))
    head = int(40 * text) + 8  # room for the class name above the tile
    if scale is None:
        scale = max(12, (height - head - 8) // 15)
    tile = 15 * scale
    bar_w = max(16, tile // 20)
    label_w = cv2.getTextSize("0.5", cv2.FONT_HERSHEY_SIMPLEX, text, thick)[0][0]
    panel = np.full((max(height, head + tile + 8), tile + bar_w + label_w + 36, 3), 40, np.uint8)
    panel[head : head + tile, 8 : 8 + tile] = heatmap(mask, scale)
    bar_x = tile + 20
    panel[head : head + tile, bar_x : bar_x + bar_w] = color_bar(tile, bar_w)
    for value, y in ((1.0, head + int(24 * text)), (0.5, head + tile // 2 + int(10 * text)),
                     (0.0, head + tile)):  # fmt: skip
        cv2.putText(
            panel, f"{value:g}", (bar_x + bar_w + 6, y), cv2.FONT_HERSHEY_SIMPLEX, text,
            (255, 255, 255), thick, cv2.LINE_AA,
        )  # fmt: skip
    name = f"{label_of(labels, class_id)[:18]}: 15x15 mask"
    cv2.putText(
        panel, name, (8, head - int(12 * text)), cv2.FONT_HERSHEY_SIMPLEX, text,
        (255, 255, 255), thick, cv2.LINE_AA,
    )  # fmt: skip
    if panel.shape[0] > height:
        picture = cv2.copyMakeBorder(picture, 0, panel.shape[0] - height, 0, 0, 0, value=40)
    return np.hstack([picture, np.full((panel.shape[0], 8, 3), 40, np.uint8), panel])


def as_channels(tensor: np.ndarray, item: int = 0) -> np.ndarray:
    """Any layer output as (channels, height, width): item ``item`` of a [N, C, H, W] tensor;
    a flat or 3-D tensor becomes one channel of one row per leading index."""
    tensor = np.asarray(tensor, np.float32)
    if tensor.ndim == 4:
        return tensor[min(item, len(tensor) - 1)]
    return tensor.reshape(1, -1, tensor.shape[-1]) if tensor.ndim > 1 else tensor.reshape(1, 1, -1)


def render_channels(
    tensor: np.ndarray, item: int = 0, first: int = 0, count: int = 16, columns: int = 8
) -> np.ndarray:
    """Channels ``first`` .. ``first + count - 1`` of a layer output as a grid of heat maps,
    each scaled to its own min..max (bright = high), at least 48 pixels a side."""
    channels = as_channels(tensor, item)[first : first + count]
    height, width = channels.shape[1:]
    scale = max(1, -(-48 // max(min(height, width), 1)))
    scale = min(scale, max(1, 480 // max(width, 1)))
    columns = max(1, min(columns, len(channels)))
    cell_h, cell_w = height * scale + 4, width * scale + 4
    rows = -(-len(channels) // columns)
    grid = np.zeros((rows * cell_h, columns * cell_w, 3), np.uint8)
    for k, channel in enumerate(channels):
        low, high = float(channel.min()), float(channel.max())
        norm = (channel - low) / (high - low) if high > low else np.zeros_like(channel)
        y, x = (k // columns) * cell_h, (k % columns) * cell_w
        grid[y + 2 : y + cell_h - 2, x + 2 : x + cell_w - 2] = heatmap(norm, scale)
    return grid


def render_histogram(
    values: np.ndarray, bins: int = 40, size: tuple[int, int] = (200, 380), xlabel: str = "value"
) -> np.ndarray:
    """A histogram of ``values`` as a BGR picture ``size`` (height, width) pixels, with axes:
    the values along x (named ``xlabel``), their count on a logarithmic y axis (a layer's
    values are often mostly zeros, which would flatten every other bar)."""
    height, width = size
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    histogram(ax, values, xlabel=xlabel, bins=bins, log=True)
    ax.tick_params(labelsize=7)
    ax.xaxis.label.set_size(8)
    ax.yaxis.label.set_size(8)
    fig.tight_layout(pad=0.3)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return cv2.cvtColor(rgba[:height, :width], cv2.COLOR_RGBA2BGR)


def layer_summary(name: str, tensor: np.ndarray) -> str:
    """One line: a layer's name, output shape and value range."""
    t = np.asarray(tensor, np.float32)
    return (
        f"{name}: shape {tuple(t.shape)}, min {t.min():.3g}, max {t.max():.3g}, "
        f"mean {t.mean():.3g}, zeros {100 * float((t == 0).mean()):.0f} %"
    )


#: Colours of :func:`render_proposal` (BGR): anchor, RPN proposal, box refined for a class.
ANCHOR_COLOR, PROPOSAL_COLOR, REFINED_COLOR = (255, 0, 255), (0, 255, 255), (0, 220, 0)


def dotted_rectangle(
    image: np.ndarray, corners: Sequence[int], color: tuple[int, int, int], gap: int = 6
) -> None:
    """Draw a dotted rectangle (a dot every ``gap`` pixels) on ``image`` in place."""
    x1, y1, x2, y2 = (int(v) for v in corners)
    points = [(x, y) for x in range(x1, x2 + 1, gap) for y in (y1, y2)]
    points += [(x, y) for y in range(y1, y2 + 1, gap) for x in (x1, x2)]
    for x, y in points:
        cv2.circle(image, (x, y), 1, color, -1, cv2.LINE_AA)


def render_proposal(
    image: np.ndarray, trace: ProposalTrace, crop: np.ndarray, labels: Sequence[str] = ()
) -> np.ndarray:
    """The image with one proposal's anchor (magenta, dotted, drawn on top so it shows even
    where the proposal covers it), proposal box (yellow) and the box refined for its best class
    (green), a legend naming the three underneath, and its CropAndResize features (channel
    mean, heat map) beside it."""
    out = to_bgr8(image).copy()
    height, width = out.shape[:2]
    best = int(np.argmax(trace.class_scores))
    corners = [in_pixels(b, (height, width)).round().astype(int)
               for b in (trace.anchor, trace.proposal, trace.refined[best])]  # fmt: skip
    cv2.rectangle(out, corners[1][:2], corners[1][2:], PROPOSAL_COLOR, 2)
    cv2.rectangle(out, corners[2][:2], corners[2][2:], REFINED_COLOR, 2)
    dotted_rectangle(out, corners[0], ANCHOR_COLOR)
    best_name = label_of(labels, best) if labels else str(best)
    entries = [("anchor (dotted)", ANCHOR_COLOR), ("RPN proposal", PROPOSAL_COLOR),
               (f"refined as {best_name}", REFINED_COLOR)]  # fmt: skip
    legend = np.full((22 * len(entries) + 6, width, 3), 40, np.uint8)
    for k, (text, color) in enumerate(entries):
        y = 6 + 22 * k
        cv2.rectangle(legend, (6, y + 2), (26, y + 14), color, -1)
        cv2.putText(legend, text, (34, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    out = np.vstack([out, legend])
    mean = np.asarray(crop, np.float32).mean(axis=0)
    low, high = float(mean.min()), float(mean.max())
    norm = (mean - low) / (high - low) if high > low else np.zeros_like(mean)
    side = max(1, height // mean.shape[0])
    tile = heatmap(norm, side)
    pad = np.zeros((out.shape[0], tile.shape[1] + 8, 3), np.uint8)
    pad[: min(tile.shape[0], out.shape[0]), 8:] = tile[: out.shape[0]]
    return np.hstack([out, pad])
