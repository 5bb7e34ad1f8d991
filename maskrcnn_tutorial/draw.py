"""Drawing detections. Every function takes an image and returns a new one; nothing displays.

Colors come from a fixed palette, either one per class (the same class always has the same
color, which shows *semantic* segmentation) or one per instance (each object its own color,
which shows *instance* segmentation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from maskrcnn_tutorial.boxes import box_slices, exclusive
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.images import to_bgr8
from maskrcnn_tutorial.postprocess import Detections, check_threshold

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
        raise UserError(f"color mode must be one of {', '.join(COLOR_MODES)}, got {mode!r}")
    keys = dets.class_ids if mode == "class" else range(len(dets))
    return [PALETTE[int(k) % len(PALETTE)] for k in keys]


def _colors(dets: Detections, colors: Sequence[Color] | str) -> Sequence[Color]:
    """A color mode's palette, or a given color list checked where it enters: one BGR color
    (three numbers from 0 to 255) per detection, else a :class:`UserError` saying so."""
    if isinstance(colors, str):
        return detection_colors(dets, colors)
    palette = []
    for color in colors:
        try:
            values = np.asarray(color, np.float64)
        except (TypeError, ValueError):
            values = np.zeros(0)
        if values.shape != (3,) or not (np.isfinite(values).all() and 0 <= values.min()):
            values = np.zeros(0)
        if values.size != 3 or values.max() > 255:
            raise UserError(
                f"color {color!r} is not a BGR color; give three numbers from 0 to 255, "
                "e.g. (255, 0, 0) for blue"
            )
        palette.append((int(values[0]), int(values[1]), int(values[2])))
    if len(palette) != len(dets):
        raise UserError(
            f"{len(palette)} colors for {len(dets)} detections; give one color per detection, "
            f"or a color mode: {', '.join(COLOR_MODES)}"
        )
    return palette


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
    check_threshold("alpha", alpha)
    out = canvas(image, dets)
    for box, mask, color in zip(dets.boxes, dets.box_masks, _colors(dets, colors), strict=True):
        roi = out[box_slices(box)]
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


# --- tags: where they go, then drawing them ----------------------------------------------------

Rect = tuple[int, int, int, int]
"""(x, y, width, height) in pixels; covers columns x .. x+width-1 and rows y .. y+height-1."""

#: Font scales a tag tries, largest first, before it is moved away with a leader line.
TAG_SCALES = (0.5, 0.42, 0.35)

#: Small images are drawn upscaled until their long side is at least this many pixels.
MIN_SIDE = 512


@dataclass(frozen=True)
class Tag:
    """One ``label: score`` tag as drawn: its text, rectangle, font scale and color.

    ``leader`` is the point on the box a line is drawn to when the tag had to be moved away
    from its box (None when the tag sits at its box).
    """

    text: str
    rect: Rect
    scale: float
    color: Color
    leader: tuple[int, int] | None = None


def tag_hw(text: str, scale: float) -> tuple[int, int]:
    """(height, width) of the filled tag around ``text`` at font ``scale``."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)  # OpenCV's (width, height)
    return th + base + 4, tw + 4


def overlaps(a: Rect, b: Rect) -> bool | np.ndarray:
    """True when two rectangles share at least one pixel. ``a``'s x and y may be arrays (a grid
    of candidate places): the answer is then an array, one per place."""
    return (a[0] < b[0] + b[2]) & (b[0] < a[0] + a[2]) & (a[1] < b[1] + b[3]) & (b[1] < a[1] + a[3])


def _inside(x: int, y: int, size_hw: tuple[int, int], frame_hw: tuple[int, int]) -> Rect:
    """The rectangle of ``size_hw`` at (x, y), moved the least needed to lie inside a frame of
    ``frame_hw``."""
    h, w = size_hw
    height, width = frame_hw
    return (min(max(x, 0), max(width - w, 0)), min(max(y, 0), max(height - h, 0)), w, h)


def _fits(rect: Rect, frame_hw: tuple[int, int], taken: Sequence[Rect]) -> bool:
    x, y, w, h = rect
    inside = x >= 0 and y >= 0 and x + w <= frame_hw[1] and y + h <= frame_hw[0]
    return inside and not any(overlaps(rect, t) for t in taken)


def _beside(box: Sequence[int], size_hw: tuple[int, int], frame_hw: tuple[int, int]) -> list[Rect]:
    """Places next to a box, best first: above its top-left corner, inside it, below it..."""
    left, top, end_x, end_y = (int(v) for v in exclusive(box)[0])  # end: one past the box
    h, w = size_hw
    spots = [
        (left, top - h), (left, top), (left, end_y), (end_x - w, top - h),
        (left, end_y - h), (end_x - w, end_y), (end_x, top), (left - w, top),
    ]  # fmt: skip
    return [_inside(x, y, size_hw, frame_hw) for x, y in spots]


def _nearest_free(
    anchor: tuple[int, int],
    size_hw: tuple[int, int],
    frame_hw: tuple[int, int],
    taken: Sequence[Rect],
) -> Rect | None:
    """The free place for a tag of ``size_hw`` nearest to the point ``anchor`` (x, y), on a
    2-pixel search grid."""
    h, w = size_hw
    height, width = frame_hw
    if w > width or h > height:
        return None
    xs, ys = np.meshgrid(np.arange(0, width - w + 1, 2), np.arange(0, height - h + 1, 2))
    free = np.ones(xs.shape, bool)
    for rect in taken:
        free &= ~overlaps((xs, ys, w, h), rect)
    if not free.any():
        return None
    distance = np.hypot(xs + w / 2 - anchor[0], ys + h / 2 - anchor[1])
    k = np.argmin(np.where(free, distance, np.inf))
    return int(xs.flat[k]), int(ys.flat[k]), w, h


def layout_tags(
    boxes: Sequence[Sequence[int]],
    texts: Sequence[str],
    colors: Sequence[Color],
    frame_hw: tuple[int, int],
    avoid: Sequence[Rect] = (),
    scales: Sequence[float] = TAG_SCALES,
) -> list[Tag]:
    """Places for the tags of ``boxes`` (in order, so give the best detections first) such that
    no two tags overlap, none covers ``avoid`` (e.g. the legend) and all lie inside a frame of
    ``frame_hw`` (height, width).

    Each tag tries the places beside its box at every font scale, largest first; if none is
    free it goes to the nearest free place at the smallest scale, with a leader line to its
    box. A tag with no free place anywhere is left out (only on absurdly crowded pictures).
    """
    taken = list(avoid)
    tags: list[Tag] = []
    for box, text, color in zip(boxes, texts, colors, strict=True):
        tag = None
        for scale in scales:
            size_hw = tag_hw(text, scale)
            spot = next(
                (r for r in _beside(box, size_hw, frame_hw) if _fits(r, frame_hw, taken)), None
            )
            if spot is not None:
                tag = Tag(text, spot, scale, color)
                break
        if tag is None:
            anchor = (int(box[0]), int(box[1]))
            spot = _nearest_free(anchor, tag_hw(text, scales[-1]), frame_hw, taken)
            if spot is not None:
                tag = Tag(text, spot, scales[-1], color, leader=anchor)
        if tag is not None:
            taken.append(tag.rect)
            tags.append(tag)
    return tags


def draw_tag(image: np.ndarray, tag: Tag) -> np.ndarray:
    """Draw one laid-out tag (and its leader line) into ``image`` (in place)."""
    x, y, w, h = tag.rect
    if tag.leader is not None:
        end = (min(max(tag.leader[0], x), x + w - 1), min(max(tag.leader[1], y), y + h - 1))
        cv2.line(image, end, tag.leader, tag.color, 1, cv2.LINE_AA)
        cv2.circle(image, tag.leader, 2, tag.color, cv2.FILLED)
    cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), tag.color, cv2.FILLED)
    (_, th), _ = cv2.getTextSize(tag.text, FONT, tag.scale, 1)
    cv2.putText(
        image, tag.text, (x + 2, y + th + 2), FONT, tag.scale, text_color(tag.color), 1, cv2.LINE_AA
    )
    return image


def put_tag(
    image: np.ndarray, text: str, anchor: tuple[int, int], color: Color, scale: float = 0.5
) -> np.ndarray:
    """Draw ``text`` on a filled tag above ``anchor`` (x, y), kept inside the frame (in place)."""
    size_hw = tag_hw(text, scale)
    x, y = int(anchor[0]), int(anchor[1])
    rect = _inside(x, y - size_hw[0] if y - size_hw[0] >= 0 else y, size_hw, image.shape[:2])
    return draw_tag(image, Tag(text, rect, scale, color))


def tag_texts(dets: Detections) -> list[str]:
    """The ``label: score`` text of each detection."""
    return [f"{label}: {score:.2f}" for label, score in zip(dets.labels, dets.scores, strict=True)]


def draw_labels(
    image: np.ndarray,
    dets: Detections,
    colors: Sequence[Color] | str = "class",
    avoid: Sequence[Rect] = (),
) -> np.ndarray:
    """Write a ``label: score`` tag beside each box (see :func:`layout_tags`): tags never
    overlap each other or ``avoid`` and never leave the frame."""
    out = canvas(image, dets)
    for tag in layout_tags(
        dets.boxes, tag_texts(dets), _colors(dets, colors), out.shape[:2], avoid
    ):
        draw_tag(out, tag)
    return out


def _legend_geometry(
    shape: tuple[int, ...], entries: Sequence[tuple[str, Color]], scale: float
) -> tuple[Rect, int]:
    sizes = [cv2.getTextSize(name, FONT, scale, 1) for name, _ in entries]
    line = max(h + b for (_, h), b in sizes) + 6
    box_w = min(max(w for (w, _), _ in sizes) + line + 12, shape[1])
    x0 = max(shape[1] - box_w - 4, 0)
    height = min(line * len(entries) + 6, max(shape[0] - 4, 0))
    return (x0, 4, box_w, height), line


def legend_rect(
    shape: tuple[int, ...], entries: Sequence[tuple[str, Color]], scale: float = 0.5
) -> Rect:
    """Where :func:`draw_legend` puts its panel on an image of ``shape``."""
    return _legend_geometry(shape, entries, scale)[0] if entries else (0, 0, 0, 0)


def draw_legend(
    image: np.ndarray, entries: Sequence[tuple[str, Color]], scale: float = 0.5
) -> np.ndarray:
    """A list of color swatches with their names in the top-right corner."""
    out = to_bgr8(image).copy()
    if not entries:
        return out
    (x0, y0, box_w, box_h), line = _legend_geometry(out.shape, entries, scale)
    panel = out[y0 : y0 + box_h, x0 : x0 + box_w]
    panel[:] = (panel * 0.35 + 255 * 0.65).astype(np.uint8)
    for k, (name, color) in enumerate(entries):
        y = y0 + 3 + k * line
        if y + line > y0 + box_h:
            break
        cv2.rectangle(out, (x0 + 4, y + 2), (x0 + line - 2, y + line - 4), color, cv2.FILLED)
        cv2.putText(
            out, name, (x0 + line + 4, y + line - 7), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA
        )
    return out


def legend_entries(
    dets: Detections, colors: Sequence[Color] | str = "class"
) -> list[tuple[str, Color]]:
    """What the legend lists, matching the color mode: with ``"instance"`` colors one entry
    per detection (its tag text), otherwise one per distinct label, in order of appearance."""
    palette = _colors(dets, colors)
    if colors == "instance":
        return list(zip(tag_texts(dets), palette, strict=True))
    seen: dict[str, Color] = {}
    for label, color in zip(dets.labels, palette, strict=True):
        seen.setdefault(label, color)
    return list(seen.items())


def upscale_factor(shape: tuple[int, ...], min_side: int = MIN_SIDE) -> int:
    """The smallest whole factor that brings the long side of ``shape`` to ``min_side``."""
    longest = max(int(shape[0]), int(shape[1]), 1)
    return max(1, -(-int(min_side) // longest))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` (any supported format) as 8-bit BGR, ``factor`` times larger (nearest pixel)."""
    out = to_bgr8(image)
    if factor == 1:
        return out.copy()
    return cv2.resize(out, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


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
    min_side: int = MIN_SIDE,
) -> np.ndarray:
    """Everything at once: blended masks, contours, boxes, tags and an optional legend.

    An image whose long side is below ``min_side`` is drawn upscaled by a whole factor (see
    :func:`upscale_factor`) so the tags stay legible; ``min_side=0`` keeps the size.
    """
    check_threshold("alpha", alpha)
    palette = _colors(dets, colors)
    factor = upscale_factor(image.shape, min_side) if min_side else 1
    out = upscale(canvas(image, dets), factor)
    dets = dets.scaled(factor)
    if masks:
        out = draw_masks(out, dets, palette, alpha)
    if contours:
        out = draw_contours(out, dets, palette)
    if boxes:
        out = draw_boxes(out, dets, palette)
    entries = legend_entries(dets, colors if isinstance(colors, str) else palette)
    avoid = [legend_rect(out.shape, entries)] if legend and entries else []
    if labels:
        out = draw_labels(out, dets, palette, avoid)
    if legend:
        out = draw_legend(out, entries)
    return out
