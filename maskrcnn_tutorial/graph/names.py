"""The graph's layer and weight names: the one table every module and test reads them from.

The names are the real TensorFlow Mask R-CNN graph's (Object Detection API): the ``shapes``
model's graph (written by :mod:`maskrcnn_tutorial.training.graph`) uses them too, so both
models read alike. ``tests/test_names.py`` checks that every name here is in both text graphs
(except the ``shapes`` graph's own, listed last) and that no other module spells one of them as
a string literal.
"""

from __future__ import annotations

# --- name scopes (prefixes of many layers) ----------------------------------------------------
PREPROCESSOR = "Preprocessor"
BACKBONE = "FirstStageFeatureExtractor"
RPN_PREDICTOR = "FirstStageBoxPredictor"
BOX_POOL = "MaxPool2D"
SECOND_STAGE = "SecondStageFeatureExtractor"
BOX_PREDICTOR = "SecondStageBoxPredictor"
MASK_POOL = f"{BOX_POOL}_1"
MASK_SECOND_STAGE = f"{SECOND_STAGE}_1"
"""The mask branch runs the second stage again, under this scope, with the same weights."""
MASK_PREDICTOR = f"{BOX_PREDICTOR}_1"
SCOPES = (
    PREPROCESSOR, BACKBONE, RPN_PREDICTOR, BOX_POOL, SECOND_STAGE, BOX_PREDICTOR, MASK_POOL,
    MASK_SECOND_STAGE, MASK_PREDICTOR,
)  # fmt: skip

# --- weights (Const prefixes: ``<prefix>/weights`` and ``<prefix>/biases``) -------------------
RPN_CONV = "Conv"
RPN_BOX = f"{RPN_PREDICTOR}/BoxEncodingPredictor"
RPN_CLASS = f"{RPN_PREDICTOR}/ClassPredictor"
BOX_FC = f"{BOX_PREDICTOR}/BoxEncodingPredictor"
CLASS_FC = f"{BOX_PREDICTOR}/ClassPredictor"
MASK_CONV = f"{BOX_PREDICTOR}/Conv"
MASK_OUT = f"{BOX_PREDICTOR}/Conv_1"
WEIGHTS = (RPN_CONV, RPN_BOX, RPN_CLASS, BOX_FC, CLASS_FC, MASK_CONV, MASK_OUT)

# --- layers, in data-flow order ---------------------------------------------------------------
INPUT = "image_tensor"
RPN_CONV_OUT = f"{RPN_CONV}/Conv2D"
RPN_FEATURES = f"{RPN_CONV}/Relu6"
RPN_CLASS_LOGITS = f"{RPN_CLASS}/Conv2D"
RPN_BOX_FLAT = f"{RPN_BOX}/flatten"
RPN_SCORES_FLAT = f"{RPN_CLASS}/softmax/flatten"
PROPOSALS = "proposals"
"""The PriorBox layer: the anchors (and their variances), despite its name."""
DETECTION_OUT = "detection_out"
"""Stage 1's DetectionOutput: the RPN proposals."""
CROP = "CropAndResize"
CROP_POOL = f"{BOX_POOL}/MaxPool"
ROI_FEATURES = f"{BOX_PREDICTOR}/AvgPool"
ROI_FLAT = f"{BOX_PREDICTOR}/Flatten/flatten/Reshape"
CLASS_LOGITS = f"{CLASS_FC}/MatMul"
CLASS_PROBABILITIES = f"{BOX_PREDICTOR}/Reshape_1/softmax"
CLASS_SCORES = f"{BOX_PREDICTOR}/Reshape_1/Reshape"
BOX_DELTAS_RAW = f"{BOX_PREDICTOR}/Reshape"
VARIANCE_ENCODED = "variance_encoded"
BOX_DELTAS = f"{VARIANCE_ENCODED}/flatten"
DETECTION_OUT_FINAL = "detection_out_final"
"""Stage 2's DetectionOutput: the detections."""
MASK_CROP = f"{CROP}_1"
MASK_CROP_POOL = f"{MASK_POOL}/MaxPool"
MASK_RESIZED = f"{MASK_PREDICTOR}/ResizeBilinear"
MASK_CONV_OUT = f"{MASK_PREDICTOR}/Conv/Conv2D"
MASK_FEATURES = f"{MASK_PREDICTOR}/Conv/Relu"
MASK_LOGITS = f"{MASK_PREDICTOR}/Conv_1/Conv2D"
DETECTION_MASKS = "detection_masks"
LAYERS = (
    INPUT, RPN_CONV_OUT, RPN_FEATURES, RPN_CLASS_LOGITS, RPN_BOX_FLAT, RPN_SCORES_FLAT, PROPOSALS,
    DETECTION_OUT, CROP, CROP_POOL, ROI_FEATURES, ROI_FLAT, CLASS_LOGITS, CLASS_PROBABILITIES,
    CLASS_SCORES, BOX_DELTAS_RAW, VARIANCE_ENCODED, BOX_DELTAS, DETECTION_OUT_FINAL, MASK_CROP,
    MASK_CROP_POOL, MASK_RESIZED, MASK_CONV_OUT, MASK_FEATURES, MASK_LOGITS, DETECTION_MASKS,
)  # fmt: skip
"""Layers both graphs have."""

OUTPUTS = (DETECTION_OUT_FINAL, DETECTION_MASKS, DETECTION_OUT)
"""The three outputs every Mask R-CNN graph here provides."""

# --- the shapes graph's own names (the real graph's backbone is Inception v2) ------------------
FEATURES = f"{BACKBONE}/Relu"
"""The shapes backbone's last activation: the feature map both crops read."""


def backbone_conv(i: int) -> str:
    """Prefix of the shapes backbone's i-th convolution."""
    return f"{BACKBONE}/Conv2d_{i}"


def second_stage_conv(i: int) -> str:
    """Prefix of the shapes second stage's i-th convolution (shared by the box and mask
    branches)."""
    return f"{SECOND_STAGE}/Conv2d_{i}"


# --- layers whose outputs the shapes mirror reproduces ----------------------------------------
FIRST_STAGE = (RPN_BOX_FLAT, RPN_SCORES_FLAT, PROPOSALS)
"""Stage-1 outputs, compared element by element."""
PER_PROPOSAL = (CLASS_SCORES, BOX_DELTAS)
"""Second-stage outputs with one row per stage-1 proposal (rows follow ``detection_out``)."""
PER_DETECTION = (DETECTION_MASKS,)
"""Outputs with one entry per final detection (rows follow ``detection_out_final``)."""
PARITY_STAGES = (*FIRST_STAGE, DETECTION_OUT, *PER_PROPOSAL, DETECTION_OUT_FINAL, *PER_DETECTION)
"""Graph layers whose outputs ``parity.npz`` holds and the parity test compares.

``CropAndResize`` (100 x 48 x 14 x 14 floats per input) is left out to keep the shipped file
small; the layers that consume it are compared, and ``tests/test_training_mirror.py`` checks
the crop itself where torch is installed.
"""
