"""Drawing detections. Every function takes an image and returns a new one; nothing displays.

Colors come from a fixed palette, either one per class (the same class always has the same
color, which shows *semantic* segmentation) or one per instance (each object its own color,
which shows *instance* segmentation).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .errors import UserError
from .images import to_bgr8
from .postprocess import Detections

Color = tuple[int, int, int]

#: Twenty well-separated colors (BGR), after matplotlib's tab20 ordering of strong hues first.
PALETTE: tuple[Color, ...] = (
    (180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148),
    (75, 86, 140), (194, 119, 227), (127, 127, 127), (34, 189, 188), (207, 190, 23),
    (232, 199, 174), (120, 187, 255), (138, 223, 152), (150, 152, 255), (213, 176, 197),
    (148, 156, 196), (210, 182, 247), (199, 199, 199), (141, 219, 219), (229, 218, 158),
)  # fmt: skip

COLOR_MODES = ("class", "instance")
FONT = cv2.FONT_HERSHEY_SIMPLEX


def detection_colors(dets: Detections, mode: str = "class") -> list[Color]:
    """One color per detection: by class id (``class``) or by position (``instance``)."""
    if mode not in COLOR_MODES:
        raise ValueError(f"color mode must be one of {COLOR_MODES}, got {mode!r}")
    keys = dets.class_ids if mode == "class" else range(len(dets))
    return [PALETTE[int(k) % len(PALETTE)] for k in keys]


def _colors(dets: Detections, colors: Sequence[Color] | str) -> Sequence[Color]:
    return detection_colors(dets, colors) if isinstance(colors, str) else colors


def canvas(image: np.ndarray, dets: Detections) -> np.ndarray:
    """A BGR copy of ``image`` to draw ``dets`` on; a :class:`UserError` when the detections
    belong to an image of another size."""
    out = to_bgr8(image).copy()
    if out.shape[:2] != tuple(dets.image_shape):
        (h, w), (dh, dw) = out.shape[:2], dets.image_shape
        raise UserError(
            f"the detections belong to a {dw}x{dh} image, not to this {w}x{h} one; draw them "
            "on the image they were found in, or post-process with image_shape=image.shape[:2]"
        )
    return out


def draw_masks(
    image: np.ndarray, dets: Detections, colors: Sequence[Color] | str = "class", alpha: float = 0.5
) -> np.ndarray:
    """Blend each mask's color into the image: ``alpha * color + (1 - alpha) * pixel``."""
    out = canvas(image, dets)
    for (left, top, right, bottom), mask, color in zip(
        dets.boxes, dets.box_masks, _colors(dets, colors), strict=True
    ):
        roi = out[top : bottom + 1, left : right + 1]
        tinted = cv2.addWeighted(roi, 1.0 - alpha, np.full_like(roi, color), alpha, 0.0)
        cv2.copyTo(tinted, mask.view(np.uint8), roi)  # writes into the view: 2x np.copyto
    return out


def draw_contours(
    image: np.ndarray, dets: Detections, colors: Sequence[Color] | str = "class", thickness: int = 2
) -> np.ndarray:
    """Outline each mask (holes included) in its color."""
    out = canvas(image, dets)
    for (left, top, _, _), mask, color in zip(
        dets.boxes, dets.box_masks, _colors(dets, colors), strict=True
    ):
        # [-2] picks the contours whether findContours returns 2 values (4.x) or 3 (3.x).
        contours = cv2.findContours(
            mask.view(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE, offset=(left, top)
        )[-2]
        cv2.drawContours(out, contours, -1, color, thickness, cv2.LINE_8)
    return out


def draw_boxes(
    image: np.ndarray, dets: Detections, colors: Sequence[Color] | str = "class", thickness: int = 2
) -> np.ndarray:
    """Draw each detection's box."""
    out = canvas(image, dets)
    for (left, top, right, bottom), color in zip(dets.boxes, _colors(dets, colors), strict=True):
        cv2.rectangle(out, (int(left), int(top)), (int(right), int(bottom)), color, thickness)
    return out


def text_color(background: Color) -> Color:
    """Black or white, whichever reads better on ``background`` (BGR)."""
    blue, green, red = background
    return (0, 0, 0) if 0.114 * blue + 0.587 * green + 0.299 * red > 140 else (255, 255, 255)


def put_tag(
    image: np.ndarray, text: str, anchor: tuple[int, int], color: Color, scale: float = 0.5
) -> np.ndarray:
    """Draw ``text`` on a filled tag above ``anchor`` (x, y), kept inside the frame (in place)."""
    height, width = image.shape[:2]
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    tag_h = th + base + 4
    x = min(max(int(anchor[0]), 0), max(width - tw - 4, 0))
    y = int(anchor[1]) - tag_h if int(anchor[1]) - tag_h >= 0 else int(anchor[1])
    y = min(max(y, 0), max(height - tag_h, 0))
    cv2.rectangle(image, (x, y), (x + tw + 4, y + tag_h), color, cv2.FILLED)
    cv2.putText(image, text, (x + 2, y + th + 2), FONT, scale, text_color(color), 1, cv2.LINE_AA)
    return image


def draw_labels(
    image: np.ndarray,
    dets: Detections,
    colors: Sequence[Color] | str = "class",
    scale: float = 0.5,
) -> np.ndarray:
    """Write a ``label: score`` tag at each box's top-left corner, inside the frame."""
    out = canvas(image, dets)
    for (left, top, _, _), label, score, color in zip(
        dets.boxes, dets.labels, dets.scores, _colors(dets, colors), strict=True
    ):
        put_tag(out, f"{label}: {score:.2f}", (int(left), int(top)), color, scale)
    return out


def draw_legend(
    image: np.ndarray, entries: Sequence[tuple[str, Color]], scale: float = 0.5
) -> np.ndarray:
    """A list of color swatches with their names in the top-right corner."""
    out = to_bgr8(image).copy()
    if not entries:
        return out
    sizes = [cv2.getTextSize(name, FONT, scale, 1) for name, _ in entries]
    line = max(h + b for (_, h), b in sizes) + 6
    box_w = max(w for (w, _), _ in sizes) + line + 12
    x0 = max(out.shape[1] - box_w - 4, 0)
    panel = out[4 : 4 + line * len(entries) + 6, x0 : x0 + box_w]
    panel[:] = (panel * 0.35 + 255 * 0.65).astype(np.uint8)
    for k, (name, color) in enumerate(entries):
        y = 4 + 3 + k * line
        cv2.rectangle(out, (x0 + 4, y + 2), (x0 + line - 2, y + line - 4), color, cv2.FILLED)
        cv2.putText(
            out, name, (x0 + line + 4, y + line - 7), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA
        )
    return out


def legend_entries(
    dets: Detections, colors: Sequence[Color] | str = "class"
) -> list[tuple[str, Color]]:
    """(label, color) of each distinct label, in order of first appearance."""
    seen: dict[str, Color] = {}
    for label, color in zip(dets.labels, _colors(dets, colors), strict=True):
        seen.setdefault(label, color)
    return list(seen.items())


def annotate(
    image: np.ndarray,
    dets: Detections,
    colors: Sequence[Color] | str = "class",
    alpha: float = 0.5,
    masks: bool = True,
    contours: bool = True,
    boxes: bool = True,
    labels: bool = True,
    legend: bool = False,
) -> np.ndarray:
    """Everything at once: blended masks, contours, boxes, tags and an optional legend."""
    palette = _colors(dets, colors)
    out = canvas(image, dets)
    if masks:
        out = draw_masks(out, dets, palette, alpha)
    if contours:
        out = draw_contours(out, dets, palette)
    if boxes:
        out = draw_boxes(out, dets, palette)
    if labels:
        out = draw_labels(out, dets, palette)
    if legend:
        out = draw_legend(out, legend_entries(dets, palette))
    return out
