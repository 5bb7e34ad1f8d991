"""Independent scalar re-implementations of the two crops, written from their sources' rules one
sample at a time, for the tests of :mod:`maskrcnn_tutorial.explain.roi` and the PyTorch mirror.

- :func:`tf_crop_and_resize`: TensorFlow's ``CropAndResize`` kernel (crop_and_resize_op.cc):
  a sample outside ``[0, H-1]`` gets the extrapolation value 0.
- :func:`torchvision_roi_align`: torchvision's ``roi_align`` (aligned=True, fixed sampling
  ratio), the rule Detectron2 uses: a sample outside ``[-1, H]`` is 0, else clamped to the map.
"""

from __future__ import annotations

import math

import numpy as np


def tf_crop_and_resize(image: np.ndarray, box, size: int) -> np.ndarray:
    """TensorFlow's CropAndResize for one (H, W, C) image and one normalised x1, y1, x2, y2 box."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    out = np.zeros((size, size, image.shape[2]), np.float64)
    for i in range(size):
        y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (size - 1)
        if y < 0 or y > h - 1:
            continue  # extrapolation value 0
        top, bottom = math.floor(y), math.ceil(y)
        for j in range(size):
            x = x1 * (w - 1) + j * (x2 - x1) * (w - 1) / (size - 1)
            if x < 0 or x > w - 1:
                continue
            left, right = math.floor(x), math.ceil(x)
            t = image[top, left] + (image[top, right] - image[top, left]) * (x - left)
            b = image[bottom, left] + (image[bottom, right] - image[bottom, left]) * (x - left)
            out[i, j] = t + (b - t) * (y - top)
    return out


def _torchvision_bilinear(channel: np.ndarray, y: float, x: float) -> float:
    """torchvision's ``bilinear_interpolate`` (roi_align_kernel.cpp), line by line."""
    height, width = channel.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return (
        hy * hx * channel[y_low, x_low]
        + hy * lx * channel[y_low, x_high]
        + ly * hx * channel[y_high, x_low]
        + ly * lx * channel[y_high, x_high]
    )


def torchvision_roi_align(features: np.ndarray, box, size: int, samples: int) -> np.ndarray:
    """torchvision ``roi_align(aligned=True, sampling_ratio=samples, spatial_scale=W or H)`` of
    one normalised box on (C, H, W) features: (C, size, size)."""
    channels, height, width = features.shape
    x1, y1, x2, y2 = (float(v) for v in box)
    start_w, start_h = x1 * width - 0.5, y1 * height - 0.5
    bin_w, bin_h = (x2 - x1) * width / size, (y2 - y1) * height / size
    out = np.zeros((channels, size, size), np.float64)
    for c in range(channels):
        for ph in range(size):
            for pw in range(size):
                total = 0.0
                for iy in range(samples):
                    y = start_h + ph * bin_h + (iy + 0.5) * bin_h / samples
                    for ix in range(samples):
                        x = start_w + pw * bin_w + (ix + 0.5) * bin_w / samples
                        total += _torchvision_bilinear(features[c], y, x)
                out[c, ph, pw] = total / (samples * samples)
    return out
