"""The synthetic scene generator: determinism, layout of the ground truth, lesson-relevant cases."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.synthetic.scenes import (
    DEFAULT_HW,
    EVAL_SEED_START,
    LABELS,
    is_training_seed,
    make_clip,
    make_scene,
    scene_truth,
)

SEEDS = range(60)


def test_same_seed_same_scene():
    a, b = make_scene(123), make_scene(123)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.class_ids, b.class_ids)
    assert np.array_equal(a.boxes, b.boxes)
    assert np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.image, make_scene(124).image)


@pytest.mark.parametrize("size", [DEFAULT_HW, (200, 320)])
def test_shapes_and_dtypes(size):
    scene = make_scene(7, size_hw=size)
    n = len(scene.class_ids)
    assert scene.image.shape == (*size, 3) and scene.image.dtype == np.uint8
    assert scene.class_ids.dtype == np.int64 and scene.class_ids.shape == (n,)
    assert scene.boxes.dtype == np.float32 and scene.boxes.shape == (n, 4)
    assert scene.masks.dtype == bool and scene.masks.shape == (n, *size)
    assert scene.labels == [LABELS[c] for c in scene.class_ids]
    assert 4 <= len(LABELS) <= 6


def test_boxes_are_tight_around_masks():
    for seed in SEEDS:
        scene = make_scene(seed)
        assert len(scene.class_ids) >= 1
        for box, mask in zip(scene.boxes, scene.masks, strict=True):
            x1, y1, x2, y2 = box.astype(int)
            assert mask.any()
            assert mask[y1:y2, x1:x2].sum() == mask.sum()  # mask inside its box
            assert mask[y1, x1:x2].any() and mask[y2 - 1, x1:x2].any()  # and touches every edge
            assert mask[y1:y2, x1].any() and mask[y1:y2, x2 - 1].any()


def test_visible_masks_do_not_overlap():
    for seed in SEEDS:
        masks = make_scene(seed).masks
        assert masks.sum(axis=0).max() <= 1


def _has_hole(mask: np.ndarray) -> bool:
    hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[-1]
    return bool((hierarchy[0][:, 3] >= 0).any())


def _solidity(mask: np.ndarray) -> float:
    contour = max(
        cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[-2],
        key=cv2.contourArea,
    )
    return cv2.contourArea(contour) / max(cv2.contourArea(cv2.convexHull(contour)), 1.0)


def _masks_of(label: str) -> list[np.ndarray]:
    cid = LABELS.index(label)
    return [
        m
        for seed in SEEDS
        for c, m in zip(make_scene(seed).class_ids, make_scene(seed).masks, strict=True)
        if c == cid
    ]


def test_rings_have_holes():
    """Rings keep their hole unless an occluder cuts it open."""
    rings = _masks_of("ring")
    assert len(rings) >= 5
    assert sum(_has_hole(m) for m in rings) >= 0.7 * len(rings)
    assert not any(_has_hole(m) for m in _masks_of("circle"))


def test_stars_are_not_convex():
    stars = _masks_of("star")
    assert len(stars) >= 5
    assert sum(_solidity(m) < 0.85 for m in stars) >= 0.7 * len(stars)


def test_same_class_instances_touch_or_overlap():
    """Instance and semantic segmentation differ: same-class masks share a border somewhere."""
    kernel = np.ones((3, 3), np.uint8)
    touching = 0
    for seed in SEEDS:
        scene = make_scene(seed)
        for i in range(len(scene.class_ids)):
            for j in range(i + 1, len(scene.class_ids)):
                if scene.class_ids[i] != scene.class_ids[j]:
                    continue
                grown = cv2.dilate(scene.masks[i].astype(np.uint8), kernel).astype(bool)
                touching += bool((grown & scene.masks[j]).any())
    assert touching >= 5


def test_train_and_eval_seeds_are_disjoint():
    assert EVAL_SEED_START == 1_000_000
    assert is_training_seed(0) and is_training_seed(999_999)
    assert not is_training_seed(1_000_000) and not is_training_seed(1_234_567)
    assert "1,000,000" in (make_scene.__doc__ or "")


def test_scene_truth_round_trips_through_json():
    scene = make_scene(3)
    truth = json.loads(json.dumps(scene_truth(scene)))
    h, w = scene.image.shape[:2]
    assert (truth["width"], truth["height"]) == (w, h)
    assert len(truth["objects"]) == len(scene.class_ids)
    for obj, cid, box, mask in zip(
        truth["objects"], scene.class_ids, scene.boxes, scene.masks, strict=True
    ):
        assert obj["class_id"] == cid and obj["label"] == LABELS[cid]
        assert obj["box"] == pytest.approx(box.tolist())
        assert np.array_equal(rle.decode(obj["mask"]), mask)


def test_clip_moves_the_same_objects_smoothly():
    frames = make_clip(11, 6)
    assert len(frames) == 6
    first = frames[0]
    for frame in frames[1:]:
        assert frame.image.shape == first.image.shape
    centres = []
    for frame in frames:
        if not np.array_equal(frame.class_ids, first.class_ids):
            continue
        centres.append((frame.boxes[:, :2] + frame.boxes[:, 2:]) / 2)
    assert len(centres) >= 3
    steps = np.abs(np.diff(np.stack(centres), axis=0))
    assert steps.max() < 12  # a few pixels per frame


def test_scene_generation_is_fast():
    import time

    start = time.perf_counter()
    for seed in range(20):
        make_scene(seed)
    assert (time.perf_counter() - start) / 20 < 0.1


def test_default_scenes_stay_the_ones_the_stored_notebooks_show():
    """Adding shapes to the generator must not move a single pixel of the default scenes (the
    digest was taken before the hexagon was added)."""
    import hashlib

    digest = hashlib.sha256()
    for seed in [*range(20), 1_000_000, 1_000_172, 1_900_000]:
        scene = make_scene(seed)
        for array in (scene.image, scene.masks, scene.class_ids):
            digest.update(array.tobytes())
    for frame in make_clip(5, 3):
        digest.update(frame.image.tobytes())
    assert digest.hexdigest() == "e299e560d32ab5dec66112ce23443902ec5b2b912378fbc1a4b968c56b3bb7fb"


def test_a_new_shape_is_drawn_only_when_asked_for():
    from maskrcnn_tutorial.synthetic.scenes import ALL_SHAPES, NEW_SHAPES

    default = [label for seed in range(50) for label in make_scene(seed).labels]
    chosen = [label for seed in range(50) for label in make_scene(seed, classes=ALL_SHAPES).labels]
    assert set(default) <= set(LABELS) and "hexagon" in NEW_SHAPES
    assert "hexagon" in chosen and set(chosen) <= set(ALL_SHAPES)
    only = make_scene(7, classes=("hexagon",))
    assert only.labels == ["hexagon"] * len(only.labels) and len(only.labels) >= 1
    with pytest.raises(ValueError, match="classes must be names from"):
        make_scene(7, classes=("heart",))
