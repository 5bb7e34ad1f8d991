"""Training targets: anchor matching, proposal sampling and box encoding (numpy).

Boxes are normalised x1, y1, x2, y2. Encodings are the inverse of the graph's decoding
(:func:`layers.decode_center_size`) and are returned in TF's (ty, tx, th, tw) order, the order the
mirror's box predictors emit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskrcnn_tutorial.boxes import box_iou
from maskrcnn_tutorial.training import layers


def encode(gt: np.ndarray, priors: np.ndarray, variances: tuple[float, ...]) -> np.ndarray:
    """Deltas that decode ``priors`` to ``gt``, divided by ``variances``, in TF order."""
    pw, ph = priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1]
    pcx, pcy = priors[:, 0] + pw / 2, priors[:, 1] + ph / 2
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gcx, gcy = gt[:, 0] + gw / 2, gt[:, 1] + gh / 2
    v = variances
    return np.stack(
        [
            (gcy - pcy) / ph / v[1],
            (gcx - pcx) / pw / v[0],
            np.log(gh / ph) / v[3],
            np.log(gw / pw) / v[2],
        ],
        1,
    ).astype(np.float32)


@dataclass
class RpnTargets:
    """Per-anchor RPN targets for one image."""

    labels: np.ndarray  # (P,) 1 object, 0 background, -1 ignored
    deltas: np.ndarray  # (P, 4) TF order, valid where labels == 1


def rpn_targets(
    anchors: np.ndarray,
    gt: np.ndarray,
    variances: tuple[float, ...],
    rng: np.random.Generator,
    batch: int = 256,
    pos_fraction: float = 0.5,
    pos_iou: float = 0.6,
    neg_iou: float = 0.3,
) -> RpnTargets:
    """Match clipped anchors to ground truth and sample ``batch`` of them."""
    labels = np.full(len(anchors), -1, np.int64)
    deltas = np.zeros((len(anchors), 4), np.float32)
    if len(gt) == 0:
        labels[rng.choice(len(anchors), batch, replace=False)] = 0
        return RpnTargets(labels, deltas)
    iou = box_iou(anchors, gt, np.float32)
    best_gt = iou.argmax(1)
    best = iou.max(1)
    labels[best < neg_iou] = 0
    labels[best >= pos_iou] = 1
    labels[iou.argmax(0)] = 1  # every object gets at least its best anchor
    pos = np.flatnonzero(labels == 1)
    if len(pos) > batch * pos_fraction:
        labels[rng.choice(pos, len(pos) - int(batch * pos_fraction), replace=False)] = -1
    n_pos = int((labels == 1).sum())
    neg = np.flatnonzero(labels == 0)
    if len(neg) > batch - n_pos:
        labels[rng.choice(neg, len(neg) - (batch - n_pos), replace=False)] = -1
    pos = labels == 1
    deltas[pos] = encode(gt[best_gt[pos]], anchors[pos], variances)
    return RpnTargets(labels, deltas)


def proposals_from_rpn(
    deltas_xy: np.ndarray,
    scores: np.ndarray,
    anchors: np.ndarray,
    variances: tuple[float, ...],
    pre_nms: int = 600,
    nms: float = 0.7,
    keep: int = 100,
) -> np.ndarray:
    """Decoded, NMS-filtered proposals (K, 4) like the graph's ``detection_out`` (faster)."""
    order = np.argsort(-scores)[:pre_nms]
    boxes = layers.decode_center_size(deltas_xy[order], anchors[order], variances)
    overlaps = box_iou(boxes, boxes, np.float32)
    suppressed = np.zeros(len(boxes), bool)
    kept: list[int] = []
    for i in range(len(boxes)):
        if suppressed[i]:
            continue
        kept.append(i)
        if len(kept) == keep:
            break
        suppressed |= overlaps[i] > nms
    return boxes[kept]


@dataclass
class RoiTargets:
    """Sampled second-stage regions of one image and their targets."""

    rois: np.ndarray  # (R, 4)
    labels: np.ndarray  # (R,) 0 background, 1 + class id for objects
    deltas: np.ndarray  # (R, 4) TF order, for the labelled class, valid where labels > 0
    gt_index: np.ndarray  # (R,) matched ground-truth instance, valid where labels > 0


def roi_targets(
    proposals: np.ndarray,
    gt: np.ndarray,
    gt_classes: np.ndarray,
    variances: tuple[float, ...],
    rng: np.random.Generator,
    count: int = 64,
    fg_fraction: float = 0.25,
    fg_iou: float = 0.5,
) -> RoiTargets:
    """Sample ``count`` regions (ground truth included), at most ``fg_fraction`` of them objects."""
    rois = np.concatenate([proposals, gt]).astype(np.float32) if len(gt) else proposals
    iou = box_iou(rois, gt, np.float32)
    best = iou.max(1) if len(gt) else np.zeros(len(rois), np.float32)
    match = iou.argmax(1) if len(gt) else np.zeros(len(rois), np.int64)
    fg = np.flatnonzero(best >= fg_iou)
    bg = np.flatnonzero(best < fg_iou)
    n_fg = min(len(fg), int(count * fg_fraction))
    fg = rng.choice(fg, n_fg, replace=False) if n_fg else fg[:0]
    n_bg = count - n_fg
    bg = rng.choice(bg, n_bg, replace=len(bg) < n_bg) if len(bg) else rng.choice(fg, n_bg)
    pick = np.concatenate([fg, bg])
    labels = np.zeros(count, np.int64)
    labels[:n_fg] = gt_classes[match[fg]] + 1
    deltas = np.zeros((count, 4), np.float32)
    if n_fg:
        deltas[:n_fg] = encode(gt[match[fg]], rois[fg], variances)
    return RoiTargets(rois[pick], labels, deltas, match[pick])


def mask_target(mask: np.ndarray, box: np.ndarray, size: int = 15) -> np.ndarray:
    """The mask head's training target for one region: ``mask`` (H, W) sampled bilinearly at
    the centres of a ``size`` x ``size`` grid laid over the normalised ``box`` (x1, y1, x2, y2),
    zero outside the picture. Values between 0 and 1 where the grid straddles an edge.

    The loss compares the head's ``size`` x ``size`` output for the region's class with this
    (``train.mask_targets`` computes the same for a batch of regions in torch).
    """
    h, w = mask.shape
    t = (np.arange(size) + 0.5) / size
    px = (box[0] + (box[2] - box[0]) * t) * w - 0.5  # pixel centres sit at half-integers
    py = (box[1] + (box[3] - box[1]) * t) * h - 0.5
    padded = np.pad(mask.astype(np.float32), 1)  # zeros outside, as grid_sample's padding
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = (px - x0)[None, :], (py - y0)[:, None]
    xi = np.clip(x0 + 1, 0, w + 1), np.clip(x0 + 2, 0, w + 1)
    yi = np.clip(y0 + 1, 0, h + 1), np.clip(y0 + 2, 0, h + 1)
    top = padded[yi[0]][:, xi[0]] * (1 - fx) + padded[yi[0]][:, xi[1]] * fx
    bottom = padded[yi[1]][:, xi[0]] * (1 - fx) + padded[yi[1]][:, xi[1]] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)
