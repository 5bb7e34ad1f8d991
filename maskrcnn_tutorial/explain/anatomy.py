"""The network as OpenCV loaded it: its layers, grouped into Mask R-CNN's stages.

Both models use the TensorFlow Object Detection API's node names (:mod:`.graph.names`), so one
table of name prefixes maps every layer of either graph to the stage it belongs to.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.inference import Model, RawOutputs
from maskrcnn_tutorial.io.images import to_bgr8
from maskrcnn_tutorial.postprocess import pixel_box

#: (name prefix, stage), most specific first. A layer belongs to the first prefix it starts with.
STAGE_PREFIXES: tuple[tuple[str, str], ...] = (
    (names.INPUT, "input"),
    (names.PREPROCESSOR, "input"),
    (names.BACKBONE, "backbone"),
    (names.RPN_CONV, "RPN"),
    (names.RPN_PREDICTOR, "RPN"),
    (names.PROPOSALS, "anchors"),
    (names.DETECTION_OUT_FINAL, "box head"),
    (f"{names.DETECTION_OUT}/", "box head"),
    (names.DETECTION_OUT, "RPN proposals"),
    (names.VARIANCE_ENCODED, "box head"),
    (names.MASK_CROP, "mask head"),
    (names.MASK_POOL, "mask head"),
    (names.MASK_SECOND_STAGE, "mask head"),
    (names.MASK_PREDICTOR, "mask head"),
    (names.DETECTION_MASKS, "mask head"),
    (names.CROP, "box head"),
    (names.BOX_POOL, "box head"),
    (names.SECOND_STAGE, "box head"),
    (names.BOX_PREDICTOR, "box head"),
)

#: The stages in the order data flows through them.
STAGES: tuple[str, ...] = (
    "input", "backbone", "RPN", "anchors", "RPN proposals", "box head", "mask head", "other",
)  # fmt: skip

#: Intermediate outputs worth looking at, by stage, then by what they hold: the layer names for
#: ``Model.forward(image, taps=[...])``. Both graphs use these TF Object Detection API names; the
#: backbone's own layers differ between models, so :func:`backbone_taps` finds those. Layouts:
#: ``objectness`` [1, positions x anchors x 2] (background, object); ``rpn_deltas``
#: [1, positions x anchors x 4] (dx, dy, dw, dh); ``anchors`` [1, 2, positions x anchors x 4]
#: (corners, then variances); ``class_scores`` [1, proposals x classes] (background column
#: sliced off); ``box_deltas`` [1, proposals x classes, 4]; ``box_deltas_scaled`` the same times
#: the variances, flattened.
TAPS: dict[str, dict[str, str]] = {
    "RPN": {
        "rpn_conv": names.RPN_CONV_OUT,
        "rpn_features": names.RPN_FEATURES,
        "objectness_logits": names.RPN_CLASS_LOGITS,
        "objectness": names.RPN_SCORES_FLAT,
        "rpn_deltas": names.RPN_BOX_FLAT,
    },
    "anchors": {"anchors": names.PROPOSALS},
    "RPN proposals": {"proposals": names.DETECTION_OUT},
    "box head": {
        "crops": names.CROP,
        "pooled_crops": names.CROP_POOL,
        "roi_features": names.ROI_FEATURES,
        "class_logits": names.CLASS_LOGITS,
        "class_probabilities": names.CLASS_PROBABILITIES,
        "class_scores": names.CLASS_SCORES,
        "box_deltas": names.BOX_DELTAS_RAW,
        "box_deltas_scaled": names.BOX_DELTAS,
        "detections": names.DETECTION_OUT_FINAL,
    },
    "mask head": {
        "mask_crops": names.MASK_CROP,
        "mask_pooled": names.MASK_CROP_POOL,
        "mask_resized": names.MASK_RESIZED,
        "mask_conv": names.MASK_CONV_OUT,
        "mask_logits": names.MASK_LOGITS,
        "masks": names.DETECTION_MASKS,
    },
}


def tap(role: str) -> str:
    """The layer name behind a role of :data:`TAPS` (``tap("objectness")``)."""
    for roles in TAPS.values():
        if role in roles:
            return roles[role]
    known = ", ".join(r for roles in TAPS.values() for r in roles)
    raise KeyError(f"no tap called {role!r}; known: {known}")


def layers_of(model: Model, stage: str, layer_type: str | None = None) -> list[str]:
    """Names of ``model``'s layers in ``stage`` (and of ``layer_type``, e.g. "Convolution"),
    in graph order."""
    names = [name for name in model.net.getLayerNames() if stage_of(name) == stage]
    if layer_type is None:
        return names
    return [name for name in names if model.net.getLayer(name).type == layer_type]


def backbone_taps(model: Model) -> tuple[str, str]:
    """Two backbone layers at different depths: its first ReLU and its last layer (the feature
    map the RPN and both crops read)."""
    return layers_of(model, "backbone", "ReLU")[0], layers_of(model, "backbone")[-1]


def mask_feature_tap(model: Model) -> str:
    """The last layer of the mask head's copy of the second-stage feature extractor
    (``SecondStageFeatureExtractor_1``): what ``ResizeBilinear`` enlarges to the mask size.
    Its name differs between models (``Conv2d_1/Relu`` on shapes, Inception's
    ``Mixed_5c/concat`` on COCO)."""
    return [n for n in layers_of(model, "mask head") if n.startswith(MASK_FEATURES_PREFIX)][-1]


#: The name prefix of the mask head's copy of the second-stage feature layers.
MASK_FEATURES_PREFIX = "SecondStageFeatureExtractor_1/"


def stage_of(layer_name: str) -> str:
    """The stage a layer belongs to, by its name (``other`` if no prefix matches)."""
    for prefix, stage in STAGE_PREFIXES:
        if layer_name.startswith(prefix):
            return stage
    return "other"


@dataclass(frozen=True)
class Layer:
    """One layer of the loaded network."""

    name: str
    type: str
    stage: str
    shape: tuple[int, ...]
    """Its (first) output's shape for the image it was measured on."""


def layers(model: Model, image: np.ndarray) -> list[Layer]:
    """Every layer of ``model`` in graph order, with its output shape for ``image``.

    Asks for one stage's outputs per forward pass and keeps only their shapes: OpenCV holds
    every requested output in memory until the pass ends, so asking for all of them at once
    costs gigabytes on the real network (2.8 GB peak at 512 x 512, against 1.5 GB stage by
    stage). Each stage costs one forward pass of time. (Arbitrary groups of layers can trip an
    OpenCV assertion about in-place convolutions; whole stages do not.)
    """
    net = model.net
    names = list(net.getLayerNames())
    net.setInput(model.blob(image))
    shapes = []
    for _, group in itertools.groupby(names, stage_of):
        outputs = net.forward(list(group))
        shapes += [tuple(int(d) for d in out.shape) for out in outputs]
        del outputs
    return [
        Layer(name, net.getLayer(name).type, stage_of(name), shape)
        for name, shape in zip(names, shapes, strict=True)
    ]


def stage_summary(layer_list: list[Layer]) -> list[tuple[str, int, tuple[int, ...]]]:
    """(stage, number of layers, output shape of its last layer), in data-flow order."""
    rows = []
    for stage in STAGES:
        members = [layer for layer in layer_list if layer.stage == stage]
        if members:
            rows.append((stage, len(members), members[-1].shape))
    return rows


def stage_times(profile: list[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """Milliseconds per stage from :meth:`Model.layer_profile` rows, in data-flow order.

    Stages with no layer in the profile are left out.
    """
    totals: dict[str, float] = {}
    for name, _, ms in profile:
        stage = stage_of(name)
        totals[stage] = totals.get(stage, 0.0) + ms
    return [(stage, totals[stage]) for stage in STAGES if stage in totals]


def proposals(
    raw: RawOutputs, image_shape: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The stage-1 RPN proposals (``detection_out``) as pixel boxes and objectness scores.

    Returns ``boxes`` (K, 4) inclusive ``[left, top, right, bottom]`` and ``scores`` (K,) for
    the K rows with a positive score (the rest are DetectionOutput's zero padding), in the
    network's order (best first). ``image_shape`` (height, width) defaults to the image run.
    """
    height, width = image_shape or raw.image_shape
    rows = raw.detection_out.reshape(-1, 7)
    rows = rows[rows[:, 2] > 0]
    boxes = np.array([pixel_box(row, width, height) for row in rows], np.int64).reshape(-1, 4)
    return boxes, rows[:, 2].astype(np.float32)


def draw_proposals(
    image: np.ndarray,
    boxes: np.ndarray,
    color: tuple[int, int, int] = (255, 255, 255),
    thickness: int = 1,
) -> np.ndarray:
    """A copy of ``image`` with every box of ``boxes`` (from :func:`proposals`) outlined."""
    out = to_bgr8(image).copy()
    for left, top, right, bottom in boxes:
        cv2.rectangle(out, (int(left), int(top)), (int(right), int(bottom)), color, thickness)
    return out
