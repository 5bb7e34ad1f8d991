"""Boxes: one convention and one IoU, shared by metrics, evaluation and the training targets.

A box is ``[x1, y1, x2, y2]`` with ``x2``/``y2`` one past the last pixel (*exclusive*, COCO's
convention): its area is ``(x2 - x1) * (y2 - y1)``. Normalised boxes (corners in [0, 1], as the
network outputs them) follow the same formula. :class:`.Detections` keep the tutorial's
*inclusive* pixel corners ``[left, top, right, bottom]`` (``right``/``bottom`` are the last
pixel). The ``+ 1`` between the two is written only here, in named conversions (as
torchvision's ``box_convert``): :func:`exclusive` and :func:`inclusive` convert boxes,
:func:`box_hw` is an inclusive box's size, :func:`box_slices` its pixels in an array and
:func:`mask_box` the inclusive box around a mask. Sizes are (height, width), numpy's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def exclusive(inclusive_boxes: np.ndarray) -> np.ndarray:
    """Inclusive pixel corners ``[left, top, right, bottom]`` as ``[x1, y1, x2 + 1, y2 + 1]``."""
    return np.asarray(inclusive_boxes, np.float64).reshape(-1, 4) + np.array([0, 0, 1, 1])


def inclusive(exclusive_boxes: np.ndarray) -> np.ndarray:
    """Exclusive ``[x1, y1, x2, y2]`` as inclusive ``[left, top, x2 - 1, y2 - 1]``: the inverse
    of :func:`exclusive`."""
    return np.asarray(exclusive_boxes, np.float64).reshape(-1, 4) - np.array([0, 0, 1, 1])


def box_hw(box: Sequence[int] | np.ndarray) -> tuple[int, int]:
    """(height, width) in pixels of an inclusive box ``[left, top, right, bottom]``: both
    corners are pixels of the box, so a side is one more than its corners' difference."""
    left, top, right, bottom = (int(v) for v in box)
    return bottom - top + 1, right - left + 1


def box_slices(box: Sequence[int] | np.ndarray) -> tuple[slice, slice]:
    """(rows, columns) of an inclusive box as slices: ``image[box_slices(box)]`` is the box's
    pixels, of shape :func:`box_hw` (a box inside the image)."""
    left, top, right, bottom = (int(v) for v in box)
    return slice(top, bottom + 1), slice(left, right + 1)


def clip_box(
    box: Sequence[float] | np.ndarray, image_hw: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Pixel corners ``[left, top, right, bottom]`` (truncated to whole pixels) as an inclusive
    box inside an image of ``image_hw``: every corner moved into the frame, ``right``/``bottom``
    no less than ``left``/``top``, so the box holds at least one pixel."""
    height, width = image_hw
    left = min(max(int(box[0]), 0), width - 1)
    top = min(max(int(box[1]), 0), height - 1)
    right = min(max(int(box[2]), left), width - 1)
    bottom = min(max(int(box[3]), top), height - 1)
    return left, top, right, bottom


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The smallest inclusive box ``[left, top, right, bottom]`` holding every pixel of a
    boolean (H, W) mask; ``(0, 0, 0, 0)`` for an empty mask."""
    rows = np.flatnonzero(np.any(mask, axis=1))
    cols = np.flatnonzero(np.any(mask, axis=0))
    if len(rows) == 0:
        return 0, 0, 0, 0
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def normalized(
    boxes: np.ndarray, image_hw: tuple[int, int], dtype: type = np.float32
) -> np.ndarray:
    """Pixel corners (..., 4) ``[x1, y1, x2, y2]`` as fractions of an image of ``image_hw``
    (height, width), as the network's rows hold them; :func:`in_pixels` undoes it."""
    height, width = image_hw
    return np.asarray(boxes, dtype) / np.array([width, height, width, height], dtype)


def in_pixels(boxes: np.ndarray, image_hw: tuple[int, int], dtype: type = np.float64) -> np.ndarray:
    """Normalised corners (..., 4) in pixels of an image of ``image_hw`` (height, width), not
    rounded (:func:`.postprocess.pixel_box` rounds down the network's way)."""
    height, width = image_hw
    return np.asarray(boxes, dtype) * np.array([width, height, width, height], dtype)


def area(boxes: np.ndarray) -> np.ndarray:
    """The area of each box (N, 4); 0 for a box whose width or height is negative."""
    boxes = np.asarray(boxes)
    width, height = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
    return np.where((width < 0) | (height < 0), 0, width * height).astype(boxes.dtype)


def box_iou(a: np.ndarray, b: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4).

    Returns an (N, M) array of ``dtype``; boxes without area have IoU 0 with everything. With
    ``dtype=np.float32`` the arithmetic is that of OpenCV's ``JaccardOverlap`` (DetectionOutput's
    NMS), step for step.
    """
    a = np.asarray(a, dtype).reshape(-1, 4)
    b = np.asarray(b, dtype).reshape(-1, 4)
    corners = np.stack(
        [
            np.maximum(a[:, None, 0], b[None, :, 0]),
            np.maximum(a[:, None, 1], b[None, :, 1]),
            np.minimum(a[:, None, 2], b[None, :, 2]),
            np.minimum(a[:, None, 3], b[None, :, 3]),
        ],
        -1,
    )
    inter = area(corners)
    union = area(a)[:, None] + area(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, dtype(0)).astype(dtype)


def xywh(box: np.ndarray) -> list[float]:
    """An exclusive box as COCO's ``[x, y, width, height]``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]
