"""The graph's layer and weight names: one table for the graph writer (:mod:`.graph`), the
mirror (:mod:`.mirror`, whose outputs and weights are keyed by them), the export and the parity
test. The names are the real TensorFlow Mask R-CNN graph's, so both models read alike.
"""

from __future__ import annotations

INPUT = "image_tensor"
FEATURES = "FirstStageFeatureExtractor/Relu"
"""The backbone's last activation: the feature map both crops read."""

# --- weights (Const prefixes: ``<prefix>/weights`` and ``<prefix>/biases``) -------------------
RPN_CONV = "Conv"
RPN_BOX = "FirstStageBoxPredictor/BoxEncodingPredictor"
RPN_CLASS = "FirstStageBoxPredictor/ClassPredictor"
BOX_FC = "SecondStageBoxPredictor/BoxEncodingPredictor"
CLASS_FC = "SecondStageBoxPredictor/ClassPredictor"
MASK_CONV = "SecondStageBoxPredictor/Conv"
MASK_OUT = "SecondStageBoxPredictor/Conv_1"


def backbone_conv(i: int) -> str:
    """Prefix of the backbone's i-th convolution."""
    return f"FirstStageFeatureExtractor/Conv2d_{i}"


def second_stage_conv(i: int) -> str:
    """Prefix of the second stage's i-th convolution (shared by the box and mask branches)."""
    return f"SecondStageFeatureExtractor/Conv2d_{i}"


# --- layers whose outputs the mirror reproduces ----------------------------------------------
RPN_BOX_FLAT = f"{RPN_BOX}/flatten"
RPN_SCORES_FLAT = f"{RPN_CLASS}/softmax/flatten"
PROPOSALS = "proposals"
DETECTION_OUT = "detection_out"
CROP = "CropAndResize"
CLASS_SCORES = "SecondStageBoxPredictor/Reshape_1/Reshape"
BOX_DELTAS = "variance_encoded/flatten"
DETECTION_OUT_FINAL = "detection_out_final"
DETECTION_MASKS = "detection_masks"

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
