"""Both stages' boxes decoded by hand from intermediate tensors, without OpenCV's DetectionOutput.

Stage 1 turns the RPN's outputs into proposals: every anchor (from the PriorBox layer's own
output) is moved by its box deltas, scored by its objectness, and greedy non-maximum
suppression (NMS) keeps the best boxes that do not overlap a better one too much. Stage 2 does
the same per class with the box head's class probabilities and class-specific deltas, on the
stage-1 proposals.

Every parameter (NMS thresholds, ``top_k``, score threshold, variances) is read from the model's
text graph. The arithmetic follows OpenCV's CPU implementation step by step (float32, ``expf``,
clipping to [0, 1], a stable sort by score), so the rows come out identical to ``detection_out``
and ``detection_out_final``; :func:`agreement` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskrcnn_tutorial.boxes import box_iou
from maskrcnn_tutorial.explain.anatomy import tap
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.textgraph import Node, read_text_graph
from maskrcnn_tutorial.inference import Model, RawOutputs

F32 = np.float32


@dataclass(frozen=True)
class DetectionParams:
    """One DetectionOutput layer's attributes (OpenCV's defaults where the graph sets none)."""

    num_classes: int
    background: int
    """``background_label_id``; outside [0, num_classes) means no class is skipped."""
    nms_threshold: float
    score_threshold: float
    """``confidence_threshold``: a box must score strictly above it."""
    top_k: int
    """Candidates per class going into NMS (-1: all)."""
    keep_top_k: int
    """Rows kept in the end, across classes."""
    clip: bool
    variance_encoded_in_target: bool
    share_location: bool

    @classmethod
    def from_node(cls, node: Node) -> DetectionParams:
        return cls(
            num_classes=int(node.attr("num_classes")),
            background=int(node.attr("background_label_id")),
            nms_threshold=float(F32(node.attr("nms_threshold"))),
            score_threshold=float(F32(node.attr("confidence_threshold", 0.0))),
            top_k=int(node.attr("top_k", -1)),
            keep_top_k=int(node.attr("keep_top_k")),
            clip=bool(node.attr("clip", False)),
            variance_encoded_in_target=bool(node.attr("variance_encoded_in_target", False)),
            share_location=bool(node.attr("share_location", True)),
        )

    @property
    def limit(self) -> int | None:
        """With a single target class, OpenCV stops NMS once ``keep_top_k`` boxes are kept."""
        targets = self.num_classes - (1 if 0 <= self.background < self.num_classes else 0)
        return self.keep_top_k if targets == 1 else None


def detection_params(model: Model) -> dict[str, DetectionParams]:
    """Both DetectionOutput layers' parameters, read from ``model``'s text graph, by stage:
    ``{"stage 1": ..., "stage 2": ...}``."""
    graph = read_text_graph(model.spec.config)
    return {
        "stage 1": DetectionParams.from_node(graph[names.DETECTION_OUT]),
        "stage 2": DetectionParams.from_node(graph[names.DETECTION_OUT_FINAL]),
    }


# --- the tensors ------------------------------------------------------------------------------


def anchors_from_priorbox(priorbox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The PriorBox output [1, 2, P x 4] as (anchors, variances), each (P, 4) float32.

    Anchors are normalised ``[x1, y1, x2, y2]`` (already clipped to the image by the layer),
    ordered by feature-map row, column, then anchor shape.
    """
    rows = np.asarray(priorbox, F32).reshape(2, -1, 4)
    return rows[0], rows[1]


def anchor_shapes(prior: Node) -> tuple[np.ndarray, np.ndarray]:
    """The anchor shapes of a PriorBox node, in the order the layer lays them out at each cell:
    (sizes, ratios), each (A,), with size ``sqrt(width * height)`` in input-blob pixels and
    ratio ``width / height``.

    The order is the graph's own: the shapes model lists its 12 anchors size-major (3 ratios
    of the smallest size first), the real COCO graph ratio-major (4 sizes of ratio 0.5 first),
    so a picture that groups anchors must read the grouping from here, not from ``k // 3``.
    """
    widths = np.asarray(prior.attr("width"), np.float64).ravel()
    heights = np.asarray(prior.attr("height"), np.float64).ravel()
    return np.sqrt(widths * heights), widths / heights


def objectness(tensor: np.ndarray) -> np.ndarray:
    """The RPN's 2-way softmax [1, P x 2] as (P,) object probabilities (column 1)."""
    return np.asarray(tensor, F32).reshape(-1, 2)[:, 1]


def exp_f32(x: np.ndarray) -> np.ndarray:
    """``expf`` as C computes it: the exact exponential rounded to float32 (numpy's float32
    ``exp`` is sometimes one unit in the last place off)."""
    return np.exp(np.asarray(x, np.float64)).astype(F32)


def decode_boxes(
    deltas: np.ndarray,
    priors: np.ndarray,
    variances: np.ndarray | None = None,
    clip: bool = True,
) -> np.ndarray:
    """Move ``priors`` (..., 4) by ``deltas`` (..., 4) = (dx, dy, dw, dh): CENTER_SIZE coding.

    ``cx = dx * w + prior_cx``, ``w = exp(dw) * prior_w`` (same for y and h), after multiplying
    the deltas by ``variances`` (``None``: already applied). Boxes are normalised corners,
    clipped to [0, 1] when ``clip``.
    """
    d = np.asarray(deltas, F32)
    if variances is not None:
        d = d * np.asarray(variances, F32)
    priors = np.asarray(priors, F32)
    pw = priors[..., 2] - priors[..., 0]
    ph = priors[..., 3] - priors[..., 1]
    pcx = priors[..., 0] + pw * F32(0.5)
    pcy = priors[..., 1] + ph * F32(0.5)
    cx = d[..., 0] * pw + pcx
    cy = d[..., 1] * ph + pcy
    half_w = exp_f32(d[..., 2]) * pw * F32(0.5)
    half_h = exp_f32(d[..., 3]) * ph * F32(0.5)
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], -1)
    return np.clip(boxes, F32(0), F32(1)) if clip else boxes


# --- non-maximum suppression ------------------------------------------------------------------


@dataclass(frozen=True)
class NmsStep:
    """One candidate of greedy NMS, visited in score order."""

    index: int
    score: float
    kept: bool
    suppressed_by: int | None
    """The kept box it overlaps too much (the first one found), if suppressed."""
    iou: float
    """Its highest IoU with the boxes kept before it (0 for the first)."""


def greedy_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    score_threshold: float = 0.0,
    top_k: int = -1,
    limit: int | None = None,
) -> list[NmsStep]:
    """Greedy NMS, one step per candidate (OpenCV's ``NMSFast_``).

    Candidates scoring strictly above ``score_threshold`` are sorted by falling score (ties keep
    their index order) and cut to ``top_k``; each is kept if its IoU with every box kept so far
    is at most ``iou_threshold``. Stops once ``limit`` boxes are kept.
    """
    scores = np.asarray(scores, F32)
    threshold = F32(iou_threshold)
    candidates = np.flatnonzero(scores > F32(score_threshold))
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    if top_k > 0:
        order = order[:top_k]
    steps: list[NmsStep] = []
    kept: list[int] = []
    for index in order:
        ious = box_iou(boxes[index], boxes[kept], dtype=F32)[0] if kept else np.zeros(0, F32)
        over = np.flatnonzero(ious > threshold)
        keep = len(over) == 0
        steps.append(
            NmsStep(
                index=int(index),
                score=float(scores[index]),
                kept=keep,
                suppressed_by=None if keep else kept[int(over[0])],
                iou=float(ious.max()) if len(ious) else 0.0,
            )
        )
        if keep:
            kept.append(int(index))
            if limit is not None and len(kept) >= limit:
                break
    return steps


def kept(steps: list[NmsStep]) -> list[int]:
    """The indices :func:`greedy_nms` kept, best first."""
    return [step.index for step in steps if step.kept]


# --- DetectionOutput --------------------------------------------------------------------------


def detection_output(boxes: np.ndarray, scores: np.ndarray, params: DetectionParams) -> np.ndarray:
    """What a DetectionOutput layer returns, from already decoded boxes.

    ``boxes`` is (P, 4) shared by all classes or (P, C, 4) per class; ``scores`` is (P, C).
    Per class (but background): :func:`greedy_nms`; then the best ``keep_top_k`` across classes,
    sorted by score. Returns (keep_top_k, 7) rows ``[0, class, score, x1, y1, x2, y2]``,
    zero-padded.
    """
    found: list[tuple[float, int, int]] = []
    for c in range(params.num_classes):
        if c == params.background:
            continue
        class_boxes = boxes if boxes.ndim == 2 else boxes[:, c]
        steps = greedy_nms(
            class_boxes,
            scores[:, c],
            params.nms_threshold,
            params.score_threshold,
            params.top_k,
            params.limit,
        )
        found.extend((float(scores[i, c]), c, i) for i in kept(steps))
    found.sort(key=lambda item: -item[0])  # stable: ties stay in class, then NMS order
    rows = np.zeros((params.keep_top_k, 7), F32)
    for row, (score, c, i) in enumerate(found[: params.keep_top_k]):
        box = boxes[i] if boxes.ndim == 2 else boxes[i, c]
        rows[row] = [0, c, score, *box]
    return rows


@dataclass
class Stage1:
    """Stage 1 decoded by hand: every anchor's box and score, and the proposals."""

    anchors: np.ndarray
    """(P, 4) normalised anchors from the PriorBox output."""
    boxes: np.ndarray
    """(P, 4) every anchor moved by its deltas (before NMS)."""
    scores: np.ndarray
    """(P,) objectness."""
    rows: np.ndarray
    """(keep_top_k, 7) the proposals, as ``detection_out`` lays them out."""


@dataclass
class Stage2:
    """Stage 2 decoded by hand: every proposal's box per class, class scores, detections."""

    proposals: np.ndarray
    """(N, 4) the stage-1 proposals it refines (zero rows included)."""
    boxes: np.ndarray
    """(N, C, 4) every proposal moved by each class's deltas."""
    scores: np.ndarray
    """(N, C) class probabilities (background column sliced off)."""
    rows: np.ndarray
    """(keep_top_k, 7) the detections, as ``detection_out_final`` lays them out."""


#: The taps :func:`decode_stage1` and :func:`decode_stage2` read.
STAGE1_TAPS = (tap("anchors"), tap("rpn_deltas"), tap("objectness"))
STAGE2_TAPS = (tap("box_deltas_scaled"), tap("class_scores"))


def decode_stage1(raw: RawOutputs, params: DetectionParams) -> Stage1:
    """Proposals from the PriorBox output, the RPN's box deltas and objectness
    (``raw`` must hold :data:`STAGE1_TAPS`)."""
    anchors, variances = anchors_from_priorbox(raw.taps[tap("anchors")])
    deltas = np.asarray(raw.taps[tap("rpn_deltas")], F32).reshape(-1, 4)
    variances = None if params.variance_encoded_in_target else variances
    boxes = decode_boxes(deltas, anchors, variances, params.clip)
    scores = np.asarray(raw.taps[tap("objectness")], F32).reshape(-1, params.num_classes)
    rows = detection_output(boxes, scores, params)
    return Stage1(anchors, boxes, scores[:, 1], rows)


def decode_stage2(raw: RawOutputs, params: DetectionParams) -> Stage2:
    """Detections from the stage-1 proposals (``detection_out``), the box head's class
    probabilities and its class-specific deltas (``raw`` must hold :data:`STAGE2_TAPS`).

    The graph's own ``variance_encoded`` layer has multiplied the deltas by the variances
    already (``variance_encoded_in_target``).
    """
    proposals = np.asarray(raw.detection_out, F32).reshape(-1, 7)[:, 3:7]
    n, c = len(proposals), params.num_classes
    deltas = np.asarray(raw.taps[tap("box_deltas_scaled")], F32).reshape(n, c, 4)
    boxes = decode_boxes(deltas, proposals[:, None, :], None, params.clip)
    scores = np.asarray(raw.taps[tap("class_scores")], F32).reshape(n, c)
    return Stage2(proposals, boxes, scores, detection_output(boxes, scores, params))


# --- checking against OpenCV ------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """How our rows compare with OpenCV's, padding left out."""

    rows: int
    """Rows with a positive score in OpenCV's output."""
    ours: int
    """Rows with a positive score in ours."""
    matching: int
    """Rows equal to OpenCV's within ``tolerance`` in all 7 columns."""
    max_abs_diff: float
    """Largest difference over all compared values (inf if the row counts differ)."""
    tolerance: float

    @property
    def exact(self) -> bool:
        return self.rows == self.ours == self.matching


def canonical_rows(rows: np.ndarray) -> np.ndarray:
    """Non-padding rows sorted by falling score, then class and corners: OpenCV's final sort is
    not stable, so rows with equal scores may come in either order."""
    rows = np.asarray(rows, F32).reshape(-1, 7)
    rows = rows[rows[:, 2] > 0]
    keys = (rows[:, 6], rows[:, 5], rows[:, 4], rows[:, 3], rows[:, 1], -rows[:, 2])
    return rows[np.lexsort(keys)]


def agreement(ours: np.ndarray, opencv: np.ndarray, tolerance: float = 0.0) -> Agreement:
    """Compare two DetectionOutput tables row by row (see :func:`canonical_rows`)."""
    a, b = canonical_rows(ours), canonical_rows(opencv)
    if len(a) != len(b):
        return Agreement(len(b), len(a), 0, float("inf"), tolerance)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    matching = int((diff.max(axis=1, initial=0.0) <= tolerance).sum())
    return Agreement(len(b), len(a), matching, float(diff.max(initial=0.0)), tolerance)


# --- one proposal through the stages ----------------------------------------------------------


@dataclass
class ProposalTrace:
    """One stage-1 proposal followed from its anchor to the detections refined from it."""

    index: int
    """Its row in ``detection_out`` (and in every stage-2 tensor)."""
    anchor: np.ndarray
    """(4,) the anchor it grew from (normalised corners)."""
    objectness: float
    proposal: np.ndarray
    """(4,) its box after the RPN's deltas."""
    class_scores: np.ndarray
    """(C,) the box head's class probabilities (background left out)."""
    refined: np.ndarray
    """(C, 4) its box moved by each class's own deltas."""
    detection_rows: list[int]
    """Rows of ``detection_out_final`` that came from it (empty if NMS or the score threshold
    removed every class)."""


def anchor_index(stage1: Stage1, proposal: np.ndarray) -> int:
    """The anchor a proposal grew from: the best-scoring anchor whose decoded box is exactly
    ``proposal`` (-1 if none is)."""
    matches = np.flatnonzero((stage1.boxes == np.asarray(proposal, F32)).all(axis=1))
    return int(matches[np.argmax(stage1.scores[matches])]) if len(matches) else -1


def proposal_anchors(stage1: Stage1, proposals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each proposal (normalised (K, 4) rows of ``detection_out``): the anchor it grew
    from (K, 4) and the index of that anchor (K,); a proposal without one raises ValueError."""
    indices = np.array([anchor_index(stage1, p) for p in np.asarray(proposals).reshape(-1, 4)])
    if (indices < 0).any():
        raise ValueError(f"proposals {np.flatnonzero(indices < 0).tolist()} match no anchor")
    return stage1.anchors[indices], indices


def trace_proposal(stage1: Stage1, stage2: Stage2, final: np.ndarray, index: int) -> ProposalTrace:
    """Follow ``detection_out`` row ``index`` through both stages (``final`` is
    ``detection_out_final``)."""
    proposal = stage2.proposals[index]
    anchor_index_ = anchor_index(stage1, proposal)
    rows = np.asarray(final, F32).reshape(-1, 7)
    refined = stage2.boxes[index]
    detections = [
        r
        for r in range(len(rows))
        if rows[r, 2] > 0 and np.array_equal(rows[r, 3:7], refined[int(rows[r, 1])])
    ]
    return ProposalTrace(
        index=index,
        anchor=stage1.anchors[anchor_index_] if anchor_index_ >= 0 else np.zeros(4, F32),
        objectness=float(stage1.scores[anchor_index_]) if anchor_index_ >= 0 else 0.0,
        proposal=proposal,
        class_scores=stage2.scores[index],
        refined=refined,
        detection_rows=detections,
    )
