"""Boxes: one convention and one IoU, shared by metrics, evaluation and the training targets.

A box is ``[x1, y1, x2, y2]`` with ``x2``/``y2`` one past the last pixel (*exclusive*, COCO's
convention): its area is ``(x2 - x1) * (y2 - y1)``. Normalised boxes (corners in [0, 1], as the
network outputs them) follow the same formula. :class:`.Detections` keep the tutorial's
*inclusive* pixel corners (``right``/``bottom`` are the last pixel); :func:`exclusive` converts
them, the one place the ``+ 1`` is written.
"""

from __future__ import annotations

import numpy as np


def exclusive(inclusive_boxes: np.ndarray) -> np.ndarray:
    """Inclusive pixel corners ``[left, top, right, bottom]`` as ``[x1, y1, x2 + 1, y2 + 1]``."""
    return np.asarray(inclusive_boxes, np.float64).reshape(-1, 4) + np.array([0, 0, 1, 1])


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
