"""The ``shapes`` model's architecture: every size and constant the graph and the mirror share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskrcnn_tutorial.synthetic.scenes import LABELS


def _anchor_sizes() -> tuple[tuple[float, float], ...]:
    """(height, width) of the anchors at each feature-map cell: 4 scales x 3 aspect ratios."""
    sizes = []
    for scale in (28.0, 44.0, 68.0, 104.0):
        for ratio in (0.5, 1.0, 2.0):  # height / width
            sizes.append((scale * np.sqrt(ratio), scale / np.sqrt(ratio)))
    return tuple(sizes)


@dataclass(frozen=True)
class Spec:
    """Architecture of the shapes Mask R-CNN, in the vocabulary of the real model's text graph."""

    labels: tuple[str, ...] = LABELS
    input_hw: tuple[int, int] = (256, 256)  # (height, width) the blob is resized to
    # Backbone: (output channels, stride) of each 3x3 conv; total stride = feature stride.
    backbone: tuple[tuple[int, int], ...] = ((24, 2), (48, 2), (64, 2), (64, 1), (48, 1))
    rpn_channels: int = 64
    anchors_hw: tuple[tuple[float, float], ...] = field(default_factory=_anchor_sizes)
    feature_stride: int = 8
    variances: tuple[float, float, float, float] = (0.1, 0.1, 0.2, 0.2)
    proposals: int = 100  # stage-1 keep_top_k
    rpn_top_k: int = 6000
    rpn_nms: float = 0.7
    crop_size: int = 14  # CropAndResize output, halved by the MaxPool that follows
    second_stage: tuple[int, ...] = (64, 64)  # 3x3 convs on the pooled 7x7 crops
    detections: int = 100  # stage-2 keep_top_k
    # The real graph keeps scores > 0.3; 0.05 lets COCO-style evaluation see low-scoring
    # detections too. The tutorial's own threshold (0.5) is applied in post-processing.
    score_threshold: float = 0.05
    final_nms: float = 0.6
    mask_size: int = 15
    # Mask head at 15x15: a 3x3 conv of ``mask_channels``, then a ``mask_out_kernel`` conv to
    # one mask per class (the real graph: 3x3 of 256, then 3x3 to 90). The first training stage
    # had 24 channels; the second widened the head to 96 (see the model card).
    mask_channels: int = 96
    mask_out_kernel: int = 1

    @property
    def num_classes(self) -> int:
        """Number of object classes (without background)."""
        return len(self.labels)

    @property
    def num_anchors(self) -> int:
        """Anchors per feature-map cell."""
        return len(self.anchors_hw)

    def feature_hw(self) -> tuple[int, int]:
        """(height, width) of the backbone's feature map for :attr:`input_hw`."""
        h, w = self.input_hw
        for _, stride in self.backbone:
            h, w = -(-h // stride), -(-w // stride)
        return h, w
