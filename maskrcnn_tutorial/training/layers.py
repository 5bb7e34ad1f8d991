"""Numpy re-implementations of OpenCV's PriorBox and DetectionOutput layers (float32, exact).

These follow ``modules/dnn/src/layers/prior_box_layer.cpp`` and ``detection_output_layer.cpp``
for the attributes the text graph uses: explicit anchor widths/heights, ``offset`` 0, ``clip``
(priors clamped to [0, 1] before decoding), CENTER_SIZE decoding of normalised boxes, per-class
greedy NMS that keeps a box while its IoU with every kept box is <= the threshold, and a final
score sort. The mirror uses them for its non-differentiable stages.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def prior_boxes(
    feature_hw: tuple[int, int],
    image_hw: tuple[int, int],
    step: float,
    anchors: tuple[tuple[float, float], ...],
    clip: bool = True,
) -> np.ndarray:
    """PriorBox output boxes, (P, 4) float32 normalised x1, y1, x2, y2, ordered (h, w, anchor)."""
    fh, fw = feature_hw
    ih, iw = image_hw
    cy, cx = np.meshgrid(
        np.arange(fh, dtype=F32) * F32(step), np.arange(fw, dtype=F32) * F32(step), indexing="ij"
    )
    sizes = np.asarray(anchors, F32)
    bw, bh = sizes[:, 0] * F32(0.5), sizes[:, 1] * F32(0.5)
    cx, cy = cx[..., None], cy[..., None]
    boxes = np.stack(
        [(cx - bw) / F32(iw), (cy - bh) / F32(ih), (cx + bw) / F32(iw), (cy + bh) / F32(ih)], -1
    ).reshape(-1, 4)
    if clip:
        boxes = np.clip(boxes, F32(0), F32(1))
    return boxes.astype(F32)


def decode_center_size(
    deltas: np.ndarray, priors: np.ndarray, variances: tuple[float, ...] | None, clip: bool = True
) -> np.ndarray:
    """Decode (dx, dy, dw, dh) against normalised priors like DetectionOutput's DecodeBBox.

    ``variances`` None means the variances are already applied (variance_encoded_in_target).
    """
    d = deltas.astype(F32)
    if variances is not None:
        d = d * np.asarray(variances, F32)
    pw = priors[:, 2] - priors[:, 0]
    ph = priors[:, 3] - priors[:, 1]
    pcx = priors[:, 0] + pw * F32(0.5)
    pcy = priors[:, 1] + ph * F32(0.5)
    cx = d[:, 0] * pw + pcx
    cy = d[:, 1] * ph + pcy
    w = np.exp(d[:, 2]).astype(F32) * pw
    h = np.exp(d[:, 3]).astype(F32) * ph
    out = np.stack([cx - w * F32(0.5), cy - h * F32(0.5), cx + w * F32(0.5), cy + h * F32(0.5)], 1)
    if clip:
        out = np.clip(out, F32(0), F32(1))
    return out.astype(F32)


def _box_size(b: np.ndarray) -> np.ndarray:
    w = b[..., 2] - b[..., 0]
    h = b[..., 3] - b[..., 1]
    return np.where((w < 0) | (h < 0), F32(0), w * h).astype(F32)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """JaccardOverlap of normalised boxes (no +1), 0 where the intersection is empty."""
    inter = np.stack(
        [
            np.maximum(box[0], boxes[:, 0]),
            np.maximum(box[1], boxes[:, 1]),
            np.minimum(box[2], boxes[:, 2]),
            np.minimum(box[3], boxes[:, 3]),
        ],
        1,
    )
    isize = _box_size(inter)
    union = _box_size(box[None])[0] + _box_size(boxes) - isize
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(isize > 0, isize / union, F32(0))
    return iou.astype(F32)


def nms_fast(
    boxes: np.ndarray,
    scores: np.ndarray,
    score_threshold: float,
    nms_threshold: float,
    top_k: int,
    limit: int,
) -> list[int]:
    """OpenCV's NMSFast_: score > threshold, stable sort, top_k, greedy NMS, stop at ``limit``."""
    idx = np.flatnonzero(scores > F32(score_threshold))
    order = idx[np.argsort(-scores[idx], kind="stable")]
    if top_k > -1:
        order = order[:top_k]
    keep: list[int] = []
    thr = F32(nms_threshold)
    for i in order:
        if keep and np.any(iou_one_to_many(boxes[i], boxes[np.asarray(keep)]) > thr):
            continue
        keep.append(int(i))
        if len(keep) >= limit:
            break
    return keep


def detection_output(
    boxes_per_class: np.ndarray,
    scores: np.ndarray,
    *,
    background: int,
    score_threshold: float,
    nms_threshold: float,
    top_k: int,
    keep_top_k: int,
) -> np.ndarray:
    """DetectionOutput for one image from decoded boxes.

    Args:
        boxes_per_class: (P, 4) shared boxes or (P, C, 4) class-specific boxes, decoded.
        scores: (P, C) confidences, C = num_classes.
        background: background_label_id (may lie outside [0, C)).
    Returns:
        (keep_top_k, 7) rows ``[0, label, score, x1, y1, x2, y2]`` sorted by score, zero-padded.
    """
    num_classes = scores.shape[1]
    targets = num_classes - (1 if 0 <= background < num_classes else 0)
    limit = keep_top_k if targets == 1 else np.iinfo(np.int64).max
    found: list[tuple[float, int, int]] = []
    for c in range(num_classes):
        if c == background:
            continue
        cls_boxes = boxes_per_class if boxes_per_class.ndim == 2 else boxes_per_class[:, c]
        for i in nms_fast(cls_boxes, scores[:, c], score_threshold, nms_threshold, top_k, limit):
            found.append((float(scores[i, c]), c, i))
    found.sort(key=lambda t: -t[0])
    found = found[:keep_top_k]
    out = np.zeros((keep_top_k, 7), F32)
    for row, (score, c, i) in enumerate(found):
        box = boxes_per_class[i] if boxes_per_class.ndim == 2 else boxes_per_class[i, c]
        out[row] = [0, c, score, *box]
    return out
