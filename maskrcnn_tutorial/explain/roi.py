"""Cutting a region's features out of the feature map: TF's CropAndResize and RoIAlign.

The graph OpenCV runs uses ``CropAndResize`` (then a 2x2 max-pool): for every cell of a fixed
grid, ONE bilinear sample at an evenly spaced point of the box, corners included. Mask R-CNN's
paper uses RoIAlign: the box is split into equal bins and each bin AVERAGES several bilinear
samples taken inside it. Both avoid rounding the box to the feature grid (RoI pooling's flaw).
"""

from __future__ import annotations

import numpy as np


def bilinear(features: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``features`` (C, H, W) sampled at the points (y, x) (arrays of one shape S), as ``(C, *S)``.

    Points outside [0, H-1] x [0, W-1] give 0 (CropAndResize's extrapolation value).
    """
    _, height, width = features.shape
    inside = (y >= 0) & (y <= height - 1) & (x >= 0) & (x <= width - 1)
    y0 = np.clip(np.floor(y), 0, height - 1).astype(int)
    x0 = np.clip(np.floor(x), 0, width - 1).astype(int)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    dy, dx = y - y0, x - x0
    top = features[:, y0, x0] * (1 - dx) + features[:, y0, x1] * dx
    bottom = features[:, y1, x0] * (1 - dx) + features[:, y1, x1] * dx
    return np.where(inside, top * (1 - dy) + bottom * dy, 0.0).astype(np.float32)


def crop_and_resize(features: np.ndarray, box: np.ndarray, size: int = 14) -> np.ndarray:
    """TF ``CropAndResize`` of one normalised box ``[x1, y1, x2, y2]``: (C, size, size).

    Sample ``i`` of ``size`` lies at ``y1 * (H - 1) + i * (y2 - y1) * (H - 1) / (size - 1)``
    (the same for x): the first and last samples sit exactly on the box's edges.
    """
    _, height, width = features.shape
    x1, y1, x2, y2 = (float(v) for v in box)
    steps = np.arange(size) / (size - 1)
    ys = (y1 + steps * (y2 - y1)) * (height - 1)
    xs = (x1 + steps * (x2 - x1)) * (width - 1)
    return bilinear(features, *np.meshgrid(ys, xs, indexing="ij"))


def roi_align(features: np.ndarray, box: np.ndarray, size: int = 7, samples: int = 2) -> np.ndarray:
    """RoIAlign of one normalised box: ``size`` x ``size`` bins, each the mean of ``samples`` x
    ``samples`` bilinear samples at the centres of its sub-cells; (C, size, size).

    Feature cell ``j`` covers ``[j, j + 1)`` in feature units, so its centre is ``j + 0.5``
    (the "aligned" convention).
    """
    _, height, width = features.shape
    x1, y1, x2, y2 = (float(v) for v in box)
    n = size * samples
    offsets = (np.arange(n) + 0.5) / n
    ys = (y1 + offsets * (y2 - y1)) * height - 0.5
    xs = (x1 + offsets * (x2 - x1)) * width - 0.5
    values = bilinear(features, *np.meshgrid(ys, xs, indexing="ij"))
    c = values.shape[0]
    return values.reshape(c, size, samples, size, samples).mean(axis=(2, 4))
