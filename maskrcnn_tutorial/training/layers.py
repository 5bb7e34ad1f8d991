"""Numpy re-implementations of OpenCV's PriorBox and DetectionOutput layers (float32, exact).

These follow ``modules/dnn/src/layers/prior_box_layer.cpp`` and ``detection_output_layer.cpp``
for the attributes the text graph uses: explicit anchor widths/heights, ``offset`` 0, ``clip``
(priors clamped to [0, 1] before decoding), CENTER_SIZE decoding of normalised boxes, per-class
greedy NMS that keeps a box while its IoU with every kept box is <= the threshold, and a final
score sort. The mirror uses them for its non-differentiable stages; box decoding and NMS are
:mod:`maskrcnn_tutorial.explain.decode`'s (one implementation for the mirror and the notebooks).
"""

from __future__ import annotations

import numpy as np

from maskrcnn_tutorial.explain import decode

F32 = np.float32


def prior_boxes(
    feature_hw: tuple[int, int],
    image_hw: tuple[int, int],
    step: float,
    anchors_hw: tuple[tuple[float, float], ...],
    clip: bool = True,
) -> np.ndarray:
    """PriorBox output boxes, (P, 4) float32 normalised x1, y1, x2, y2, ordered (h, w, anchor),
    for anchors of ``anchors_hw`` (height, width) pixels at every feature-map cell."""
    fh, fw = feature_hw
    ih, iw = image_hw
    cy, cx = np.meshgrid(
        np.arange(fh, dtype=F32) * F32(step), np.arange(fw, dtype=F32) * F32(step), indexing="ij"
    )
    sizes = np.asarray(anchors_hw, F32)
    bh, bw = sizes[:, 0] * F32(0.5), sizes[:, 1] * F32(0.5)
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
    return decode.decode_boxes(deltas, priors, variances, clip)


def nms_fast(
    boxes: np.ndarray,
    scores: np.ndarray,
    score_threshold: float,
    nms_threshold: float,
    top_k: int,
    limit: int,
) -> list[int]:
    """OpenCV's ``NMSFast_``: score > threshold, stable sort, top_k, greedy NMS, stop at
    ``limit``."""
    return decode.kept(
        decode.greedy_nms(boxes, scores, nms_threshold, score_threshold, top_k, limit)
    )


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
    """DetectionOutput for one image from decoded boxes (:func:`.decode.detection_output`).

    Args:
        boxes_per_class: (P, 4) shared boxes or (P, C, 4) class-specific boxes, decoded.
        scores: (P, C) confidences, C = num_classes.
        background: background_label_id (may lie outside [0, C)).
    Returns:
        (keep_top_k, 7) rows ``[0, label, score, x1, y1, x2, y2]`` sorted by score, zero-padded.
    """
    params = decode.DetectionParams(
        num_classes=scores.shape[1],
        background=background,
        nms_threshold=nms_threshold,
        score_threshold=score_threshold,
        top_k=top_k,
        keep_top_k=keep_top_k,
        clip=True,
        variance_encoded_in_target=False,
        share_location=boxes_per_class.ndim == 2,
    )
    return decode.detection_output(boxes_per_class, scores.astype(F32), params)
