"""Semantic versus instance segmentation: merging instances by class, and where that hurts.

Semantic segmentation gives every pixel a class; instance segmentation also says *which* object
of that class it belongs to. Merging instance masks by class (:func:`merge_by_class`) turns the
second into the first. Two objects of one class that touch then become one blob: counting the
blob's connected components (:func:`count_components`) no longer tells how many objects there
are. :func:`find_touching_scene` finds a held-out synthetic scene that shows exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from maskrcnn_tutorial.draw import (
    TAG_SCALES,
    Tag,
    annotate,
    draw_tag,
    tag_hw,
    upscale,
    upscale_factor,
)
from maskrcnn_tutorial.postprocess import Detections
from maskrcnn_tutorial.synthetic.scenes import DEFAULT_HW, EVAL_SEED_START, Scene, make_scene

#: The four tasks, from the least to the most a model has to say about a picture.
TASKS: tuple[str, ...] = ("classification", "detection", "semantic", "instance")


def merge_by_class(dets: Detections, labels: Sequence[str] = ()) -> Detections:
    """One "detection" per class whose mask is the union of that class's instance masks.

    This is semantic segmentation expressed as :class:`Detections`, so it draws like any other.
    Classes appear in order of their first instance; the score of a class is its best score.
    """
    classes = list(dict.fromkeys(int(c) for c in dets.class_ids))
    if not classes:
        return dets.select(np.zeros(0, int))
    full = dets.masks
    unions = np.stack([full[dets.class_ids == c].any(axis=0) for c in classes])
    scores = [float(dets.scores[dets.class_ids == c].max()) for c in classes]
    return Detections.from_masks(classes, unions, labels, scores)


def count_components(mask: np.ndarray) -> int:
    """Number of 8-connected blobs in a boolean mask (background not counted)."""
    count, _ = cv2.connectedComponents(np.asarray(mask, np.uint8), connectivity=8)
    return int(count) - 1


def touching(mask_a: np.ndarray, mask_b: np.ndarray) -> bool:
    """True when two full-size boolean masks overlap or share an 8-neighbour boundary."""
    grown = cv2.dilate(np.asarray(mask_a, np.uint8), np.ones((3, 3), np.uint8))
    return bool((grown.astype(bool) & np.asarray(mask_b, bool)).any())


def touching_pairs(dets: Detections) -> list[tuple[int, int]]:
    """Index pairs (i < j) of same-class detections whose masks touch or overlap."""
    full = dets.masks
    return [
        (i, j)
        for i in range(len(dets))
        for j in range(i + 1, len(dets))
        if dets.class_ids[i] == dets.class_ids[j] and touching(full[i], full[j])
    ]


def find_touching_scene(
    start: int = EVAL_SEED_START,
    tries: int = 500,
    size_hw: tuple[int, int] = DEFAULT_HW,
    max_objects: int = 6,
) -> tuple[int, Scene, tuple[int, int]]:
    """The first scene at seed ``start`` or later with two touching objects of one class.

    Returns (seed, scene, (i, j)) with i, j indices into the scene's instances; the scene is
    ``make_scene(seed, size_hw, max_objects)``. Seeds at or above 1,000,000 are held out from
    training. Raises ``ValueError`` after ``tries`` seeds.
    """
    for seed in range(start, start + tries):
        scene = make_scene(seed, size_hw, max_objects)
        pairs = touching_pairs(Detections.from_masks(scene.class_ids, scene.masks))
        if pairs:
            return seed, scene, pairs[0]
    last = start + tries - 1
    raise ValueError(f"no scene with touching same-class objects in seeds {start}..{last}")


def task_pictures(
    image: np.ndarray, dets: Detections, labels: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """The same detections drawn as each of the four tasks of :data:`TASKS`.

    classification: only the names of the classes present, written on the picture;
    detection: boxes and labels, colored by class; semantic: masks merged by class, painted
    opaque in one color per class (named in a legend), so nothing of the picture under a mask
    tells the objects apart; instance: every object's own mask in its own color.
    """
    named = upscale(image, upscale_factor(image.shape))  # the same size as the other three
    y = 4
    for name in dict.fromkeys(dets.labels):
        height, width = tag_hw(name, TAG_SCALES[0])
        draw_tag(named, Tag(name, (4, y, width, height), TAG_SCALES[0], (255, 255, 255)))
        y += height + 4
    semantic = merge_by_class(dets, labels)
    return {
        "classification": named,
        "detection": annotate(image, dets, masks=False, contours=False),
        "semantic": annotate(
            image, semantic, alpha=1.0, contours=False, boxes=False, labels=False, legend=True
        ),
        "instance": annotate(image, dets, colors="instance", boxes=False),
    }
