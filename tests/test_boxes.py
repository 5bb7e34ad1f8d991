"""The one box convention and IoU shared by metrics, evaluation and training targets."""

from __future__ import annotations

import numpy as np
import pytest

from maskrcnn_tutorial import boxes
from maskrcnn_tutorial.explain import metrics


def test_inclusive_corners_become_exclusive():
    np.testing.assert_array_equal(boxes.exclusive([[2, 3, 2, 3], [0, 0, 9, 4]]), [
        [2, 3, 3, 4], [0, 0, 10, 5]
    ])  # fmt: skip
    assert boxes.area(boxes.exclusive([[2, 3, 2, 3]])).tolist() == [1.0]  # one pixel


def random_inclusive_boxes(rng, count, height=40, width=50):
    x = np.sort(rng.integers(0, width, (count, 2)), axis=1)
    y = np.sort(rng.integers(0, height, (count, 2)), axis=1)
    return np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)


def pixels_of(box, height=40, width=50):
    """The reference: the pixels (row, col) an inclusive box covers, by a plain loop."""
    left, top, right, bottom = box
    image = np.zeros((height, width), bool)
    for row in range(height):
        for col in range(width):
            image[row, col] = left <= col <= right and top <= row <= bottom
    return image


def test_inclusive_box_helpers_against_the_pixels_they_cover():
    rng = np.random.default_rng(17)
    for box in random_inclusive_boxes(rng, 60):
        covered = pixels_of(box)
        rows, cols = np.nonzero(covered)
        assert boxes.box_hw(box) == (len(set(rows)), len(set(cols)))
        image = np.zeros_like(covered)
        image[boxes.box_slices(box)] = True
        np.testing.assert_array_equal(image, covered)
        assert boxes.mask_box(covered) == tuple(int(v) for v in box)
        assert boxes.area(boxes.exclusive(box))[0] == covered.sum()
        np.testing.assert_array_equal(boxes.inclusive(boxes.exclusive(box))[0], box)
    assert boxes.mask_box(np.zeros((4, 5), bool)) == (0, 0, 0, 0)


def test_normalized_and_in_pixels_are_inverse_scalings():
    pixels = np.array([[0.0, 0.0, 50.0, 40.0], [10.0, 4.0, 25.0, 20.0]])
    fractions = boxes.normalized(pixels, (40, 50))
    np.testing.assert_allclose(fractions, [[0, 0, 1, 1], [0.2, 0.1, 0.5, 0.5]], rtol=1e-6)
    assert fractions.dtype == np.float32
    np.testing.assert_allclose(boxes.in_pixels(fractions, (40, 50)), pixels, rtol=1e-6)


def test_clip_box_moves_every_corner_into_the_frame():
    rng = np.random.default_rng(5)
    for corners in rng.uniform(-30, 80, (200, 4)):
        left, top, right, bottom = boxes.clip_box(corners, (40, 50))
        assert 0 <= left <= right < 50 and 0 <= top <= bottom < 40
        # a corner already inside (after truncation) stays where it is
        for got, value, low, high in zip((left, top), corners[:2], (0, 0), (49, 39), strict=True):
            if low <= int(value) <= high:
                assert got == int(value)
    assert boxes.clip_box([10.7, 5.2, 3.0, 2.0], (40, 50)) == (10, 5, 10, 5)  # one pixel


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),  # touching edges share no pixel
        ([0, 0, 10, 10], [2, 2, 4, 4], 4 / 100),  # inside
        ([0, 0, 0, 10], [0, 0, 0, 10], 0.0),  # no area
        ([5, 5, 0, 0], [0, 0, 10, 10], 0.0),  # inverted: no area, not a negative one
    ],
)
def test_box_iou(a, b, expected):
    assert boxes.box_iou([a], [b])[0, 0] == pytest.approx(expected)
    assert boxes.box_iou([b], [a])[0, 0] == pytest.approx(expected)


def test_box_iou_shapes_and_dtype():
    some = np.array([[0, 0, 1, 1], [0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
    assert boxes.box_iou(some, some[:2]).shape == (3, 2)
    assert boxes.box_iou(np.zeros((0, 4)), some).shape == (0, 3)
    assert boxes.box_iou(some, some, np.float32).dtype == np.float32


def _jaccard_overlap(a, b):
    """OpenCV's JaccardOverlap (detection_output_layer.cpp), scalar float32, for reference."""
    f = np.float32
    if b[0] > a[2] or b[2] < a[0] or b[1] > a[3] or b[3] < a[1]:
        return f(0)
    iw = f(min(a[2], b[2]) - max(a[0], b[0]))
    ih = f(min(a[3], b[3]) - max(a[1], b[1]))
    inter = f(iw * ih)
    size_a, size_b = f((a[2] - a[0]) * (a[3] - a[1])), f((b[2] - b[0]) * (b[3] - b[1]))
    return f(inter / f(f(size_a + size_b) - inter)) if inter > 0 else f(0)


def test_float32_iou_is_opencvs_arithmetic():
    rng = np.random.default_rng(0)
    corner = rng.uniform(0, 1, (200, 2)).astype(np.float32)
    some = np.concatenate([corner, corner + rng.uniform(0.01, 0.5, (200, 2))], 1)
    some = some.astype(np.float32)
    ours = boxes.box_iou(some[:20], some, np.float32)
    reference = [[_jaccard_overlap(a, b) for b in some] for a in some[:20]]
    np.testing.assert_array_equal(ours, np.asarray(reference, np.float32))


def test_metrics_use_the_shared_iou():
    assert metrics.box_iou is boxes.box_iou
