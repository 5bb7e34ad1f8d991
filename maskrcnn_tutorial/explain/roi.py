"""Cutting a region's features out of the feature map: TF's CropAndResize and RoIAlign.

The graph OpenCV runs uses ``CropAndResize`` (then a 2x2 max-pool): for every cell of a fixed
grid, ONE bilinear sample at an evenly spaced point of the box, corners included. Mask R-CNN's
paper uses RoIAlign: the box is split into equal bins and each bin AVERAGES several bilinear
samples taken inside it. Both avoid rounding the box to the feature grid (RoI pooling's flaw).

The two differ also at the border of the feature map, and :func:`bilinear` names both rules:
TF's CropAndResize gives 0 (its extrapolation value) for a sample outside ``[0, H-1]``;
Detectron's and torchvision's RoIAlign clamp a sample in ``[-1, H]`` onto the map and give 0
only beyond that. This module is the package's one CropAndResize in numpy; the PyTorch mirror
that training differentiates (:func:`maskrcnn_tutorial.training.mirror.crop_and_resize`) is
held to it by the tests.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from maskrcnn_tutorial.errors import UserError

#: How :func:`bilinear` treats samples near or past the border of the feature map.
Border = Literal["zero", "clamp"]


def bilinear(
    features: np.ndarray, y: np.ndarray, x: np.ndarray, border: Border = "zero"
) -> np.ndarray:
    """``features`` (C, H, W) sampled at the points (y, x) (arrays of one shape S), as ``(C, *S)``.

    ``border="zero"`` (TF CropAndResize): a point outside [0, H-1] x [0, W-1] gives 0.
    ``border="clamp"`` (Detectron/torchvision RoIAlign): a point outside [-1, H] x [-1, W]
    gives 0; any other point is clamped into [0, H-1] x [0, W-1] first, so samples just past
    the last row or column read the border cells instead of going black.
    """
    _, height, width = features.shape
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    if border == "zero":
        inside = (y >= 0) & (y <= height - 1) & (x >= 0) & (x <= width - 1)
    elif border == "clamp":
        inside = (y >= -1) & (y <= height) & (x >= -1) & (x <= width)
        y, x = np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)
    else:
        raise ValueError(f"border must be 'zero' or 'clamp', not {border!r}")
    y0 = np.clip(np.floor(y), 0, height - 1).astype(int)
    x0 = np.clip(np.floor(x), 0, width - 1).astype(int)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    dy, dx = y - y0, x - x0
    top = features[:, y0, x0] * (1 - dx) + features[:, y0, x1] * dx
    bottom = features[:, y1, x0] * (1 - dx) + features[:, y1, x1] * dx
    return np.where(inside, top * (1 - dy) + bottom * dy, 0.0).astype(np.float32)


def crop_points(box: np.ndarray, size: int, height: int, width: int) -> tuple[np.ndarray, ...]:
    """Where CropAndResize samples a normalised box ``[x1, y1, x2, y2]``: (ys, xs), each
    ``size`` feature coordinates. Sample ``i`` lies at ``y1 * (H - 1) + i * (y2 - y1) * (H - 1)
    / (size - 1)`` (the same for x): the first and last samples sit exactly on the box's edges."""
    x1, y1, x2, y2 = (float(v) for v in box)
    steps = np.arange(size) / (size - 1)
    return (y1 + steps * (y2 - y1)) * (height - 1), (x1 + steps * (x2 - x1)) * (width - 1)


def _check(
    features: np.ndarray, box: np.ndarray, size: int, least: int, samples: int = 1
) -> tuple[float, float, float, float]:
    """The box's four corners, after checking the arguments of a crop: a :class:`UserError`
    names a feature map that is not (C, H, W), a box that is not 4 finite numbers, a ``size``
    below ``least`` or ``samples`` below 1."""
    if np.ndim(features) != 3 or 0 in np.shape(features):
        raise UserError(f"features must be a (C, H, W) feature map, got shape {np.shape(features)}")
    corners = np.asarray(box, np.float64).ravel()
    if corners.shape != (4,) or not np.isfinite(corners).all():
        raise UserError(
            f"box must be 4 finite normalised corners [x1, y1, x2, y2], got {np.asarray(box)}"
        )
    for name, value, low in (("size", size, least), ("samples", samples, 1)):
        if not isinstance(value, int | np.integer) or value < low:
            raise UserError(f"{name} must be a whole number of at least {low}, got {value!r}")
    x1, y1, x2, y2 = (float(v) for v in corners)
    return x1, y1, x2, y2


def crop_and_resize(features: np.ndarray, box: np.ndarray, size: int = 14) -> np.ndarray:
    """TF ``CropAndResize`` of one normalised box ``[x1, y1, x2, y2]``: (C, size, size).

    One bilinear sample at each of :func:`crop_points`; samples outside the map give 0.
    """
    _check(features, box, size, least=2)  # a sample on each edge: 2 at least
    _, height, width = features.shape
    ys, xs = crop_points(box, size, height, width)
    return bilinear(features, *np.meshgrid(ys, xs, indexing="ij"), border="zero")


def roi_align(features: np.ndarray, box: np.ndarray, size: int = 7, samples: int = 2) -> np.ndarray:
    """RoIAlign of one normalised box: ``size`` x ``size`` bins, each the mean of ``samples`` x
    ``samples`` bilinear samples at the centres of its sub-cells; (C, size, size).

    Feature cell ``j`` covers ``[j, j + 1)`` in feature units, so its centre is ``j + 0.5``
    (the "aligned" convention). Samples are clamped at the border as Detectron and torchvision
    do (``border="clamp"`` of :func:`bilinear`): a box reaching the picture's edge reads the
    edge cells, it does not fade to black.
    """
    x1, y1, x2, y2 = _check(features, box, size, least=1, samples=samples)
    _, height, width = features.shape
    n = size * samples
    offsets = (np.arange(n) + 0.5) / n
    ys = (y1 + offsets * (y2 - y1)) * height - 0.5
    xs = (x1 + offsets * (x2 - x1)) * width - 0.5
    values = bilinear(features, *np.meshgrid(ys, xs, indexing="ij"), border="clamp")
    c = values.shape[0]
    return values.reshape(c, size, samples, size, samples).mean(axis=(2, 4))
