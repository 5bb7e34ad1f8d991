"""Evaluation metrics written out by hand, for teaching: IoU, matching, precision, recall, AP.

:mod:`.evaluate` gives the official COCO figures through pycocotools; this module shows what
those figures are made of, in a few lines each, on the same conventions:

- a box is ``[x1, y1, x2, y2]`` with ``x2``/``y2`` one past the last pixel (its area is
  ``(x2 - x1) * (y2 - y1)``, as in COCO), and its IoU is :func:`.boxes.box_iou` (the one
  convention and IoU of the package). :class:`.Detections` stores *inclusive* corners;
  :func:`match` converts them with :func:`.boxes.exclusive`.
- a prediction counts as a true positive when it overlaps a not-yet-matched ground-truth object
  of its own class with IoU >= the threshold; predictions are matched greedily, highest score
  first, each taking the free object it overlaps most (COCOeval's rule);
- AP is the area under the precision-recall curve by COCO's 101-point interpolation, averaged
  over the classes that have ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskrcnn_tutorial.boxes import box_iou, exclusive
from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.postprocess import Detections, postprocess

#: The recall levels COCO reads precision at: 0, 0.01, ..., 1.
RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


def mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every mask in ``a`` (N, H, W) with every mask in ``b``
    (M, H, W), as an (N, M) float array (empty masks have IoU 0 with everything)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    a = a.reshape(len(a), int(np.prod(a.shape[1:]))).astype(np.float64)
    b = b.reshape(len(b), int(np.prod(b.shape[1:]))).astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def greedy_match(
    ious: np.ndarray,
    scores: Sequence[float],
    pred_classes: Sequence[int],
    gt_classes: Sequence[int],
    iou_threshold: float = 0.5,
) -> np.ndarray:
    """For each prediction, the index of the ground-truth object it matches, or -1.

    ``ious`` is (predictions, objects). Predictions are visited by falling score (ties keep
    their order); each takes the unmatched object of its class with the highest IoU, if that
    IoU is at least ``iou_threshold``. An object is matched at most once, so a second
    prediction of the same object is a false positive (a duplicate).
    """
    ious = np.asarray(ious, np.float64).reshape(len(pred_classes), len(gt_classes))
    pred_classes = np.asarray(pred_classes)
    gt_classes = np.asarray(gt_classes)
    matched = np.full(len(pred_classes), -1, np.int64)
    taken = np.zeros(len(gt_classes), bool)
    for p in np.argsort(-np.asarray(scores, np.float64), kind="stable"):
        candidates = np.where((gt_classes == pred_classes[p]) & ~taken, ious[p], -1.0)
        if len(candidates) and candidates.max() >= iou_threshold:
            best = int(np.argmax(candidates))
            matched[p], taken[best] = best, True
    return matched


def precision_recall(is_tp: Sequence[bool], n_truth: int) -> tuple[float, float]:
    """(precision, recall) of a set of predictions: TP / predictions and TP / objects
    (each 0.0 when its denominator is 0)."""
    tp = int(np.sum(is_tp))
    precision = tp / len(is_tp) if len(is_tp) else 0.0
    recall = tp / n_truth if n_truth else 0.0
    return precision, recall


def pr_curve(
    scores: Sequence[float], is_tp: Sequence[bool], n_truth: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The precision-recall curve: (recall, precision, score) after each prediction, taking
    predictions by falling score (the curve a sliding confidence threshold traces)."""
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    tp = np.asarray(is_tp, bool)[order]
    tp_sum = np.cumsum(tp)
    precision = tp_sum / np.arange(1, len(tp) + 1)
    recall = tp_sum / n_truth if n_truth else np.zeros(len(tp))
    return recall, precision, np.asarray(scores, np.float64)[order]


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under a precision-recall curve by COCO's 101-point interpolation.

    Precision is first made non-increasing (at each point, the best precision reachable at
    that recall or higher); then it is read at recall 0, 0.01, ..., 1 (0 where the curve never
    reaches that recall) and averaged.
    """
    precision = np.maximum.accumulate(np.asarray(precision, np.float64)[::-1])[::-1]
    index = np.searchsorted(np.asarray(recall, np.float64), RECALL_LEVELS, side="left")
    padded = np.append(precision, 0.0)
    return float(padded[np.minimum(index, len(precision))].mean())


@dataclass
class Matches:
    """Predictions of one or more images after matching, ready for precision, recall and AP."""

    scores: np.ndarray
    class_ids: np.ndarray
    is_tp: np.ndarray
    gt_class_ids: np.ndarray
    """Class of every ground-truth object (the denominators of recall)."""

    @classmethod
    def concatenate(cls, parts: Sequence[Matches]) -> Matches:
        """Several images' matches as one set (in image order)."""

        def join(name: str, dtype: type) -> np.ndarray:
            arrays = [np.asarray(getattr(part, name), dtype) for part in parts]
            return np.concatenate(arrays) if arrays else np.zeros(0, dtype)

        return cls(
            join("scores", np.float64),
            join("class_ids", np.int64),
            join("is_tp", bool),
            join("gt_class_ids", np.int64),
        )

    def above(self, conf_threshold: float) -> Matches:
        """Only the predictions scoring above ``conf_threshold`` (ground truth unchanged)."""
        keep = self.scores > conf_threshold
        return Matches(self.scores[keep], self.class_ids[keep], self.is_tp[keep], self.gt_class_ids)

    def precision_recall(self) -> tuple[float, float]:
        """(precision, recall) over all classes together."""
        return precision_recall(self.is_tp, len(self.gt_class_ids))

    def pr_curve(self, class_id: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`pr_curve` of one class, or of all classes pooled (``None``)."""
        if class_id is None:
            return pr_curve(self.scores, self.is_tp, len(self.gt_class_ids))
        keep = self.class_ids == class_id
        n_truth = int((self.gt_class_ids == class_id).sum())
        return pr_curve(self.scores[keep], self.is_tp[keep], n_truth)

    def average_precision(self) -> float:
        """COCO-style AP at this matching's IoU threshold: the mean of every class's AP over
        the classes that have ground truth (0.0 when none has)."""
        classes = np.unique(self.gt_class_ids)
        if len(classes) == 0:
            return 0.0
        return float(np.mean([average_precision(*self.pr_curve(c)[:2]) for c in classes]))


def match(
    predictions: Detections, truth: Detections, iou_threshold: float = 0.5, kind: str = "mask"
) -> Matches:
    """Match one image's predictions to its ground truth by ``mask`` or ``box`` IoU.

    ``truth`` is typically ``Detections.from_masks(scene.class_ids, scene.masks)``.
    """
    if kind == "mask":
        ious = mask_iou(predictions.masks, truth.masks)
    elif kind == "box":
        ious = box_iou(exclusive(predictions.boxes), exclusive(truth.boxes))
    else:
        raise ValueError(f"kind must be 'mask' or 'box', got {kind!r}")
    matched = greedy_match(
        ious, predictions.scores, predictions.class_ids, truth.class_ids, iou_threshold
    )
    return Matches(
        scores=np.asarray(predictions.scores, np.float64),
        class_ids=np.asarray(predictions.class_ids, np.int64),
        is_tp=matched >= 0,
        gt_class_ids=np.asarray(truth.class_ids, np.int64),
    )


def match_outputs(
    raws: Sequence[RawOutputs],
    truths: Sequence[Detections],
    labels: Sequence[str] = (),
    conf_threshold: float = 0.05,
    mask_threshold: float = 0.5,
    iou_threshold: float = 0.5,
    kind: str = "mask",
) -> Matches:
    """Post-process stored raw outputs at the given thresholds and match every image to its
    ground truth: re-scoring a sweep of thresholds costs no forward pass.

    The defaults are those of :mod:`.evaluate` (keep low scores; masks at 0.5).
    """
    kept = (
        postprocess(
            raw, labels=labels, conf_threshold=conf_threshold, mask_threshold=mask_threshold
        )
        for raw in raws
    )
    return Matches.concatenate(
        [match(dets, truth, iou_threshold, kind) for dets, truth in zip(kept, truths, strict=True)]
    )


def recall_at_iou(truth: np.ndarray, candidates: np.ndarray, threshold: float = 0.7) -> float:
    """The fraction of ``truth`` boxes (N, 4) that some box of ``candidates`` (M, 4) overlaps
    with IoU at least ``threshold``: for RPN proposals, the share of objects stage 2 can
    still find (0.7 is the RPN's positive-anchor IoU in Faster R-CNN). Boxes share one
    convention (e.g. exclusive pixel corners); no truth gives 1.0."""
    truth = np.asarray(truth, np.float64).reshape(-1, 4)
    if not len(truth):
        return 1.0
    candidates = np.asarray(candidates, np.float64).reshape(-1, 4)
    if not len(candidates):
        return 0.0
    return float((box_iou(truth, candidates).max(axis=1) >= threshold).mean())
