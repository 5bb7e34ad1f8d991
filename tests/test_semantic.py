import numpy as np
import pytest

from maskrcnn_tutorial import draw
from maskrcnn_tutorial.explain import semantic
from maskrcnn_tutorial.postprocess import Detections
from maskrcnn_tutorial.synthetic.scenes import EVAL_SEED_START, make_scene

LABELS = ["circle", "square"]


def masks_of(*boxes, shape=(40, 60)):
    out = np.zeros((len(boxes), *shape), bool)
    for k, (top, bottom, left, right) in enumerate(boxes):
        out[k, top:bottom, left:right] = True
    return out


@pytest.fixture
def two_touching_one_apart():
    # instances 0 and 1 (class 0) share an edge; instance 2 (class 1) stands alone
    masks = masks_of((5, 35, 5, 15), (5, 35, 15, 25), (25, 35, 40, 50))
    return Detections.from_masks([0, 0, 1], masks, LABELS)


def test_merging_by_class_makes_one_blob_of_touching_instances(two_touching_one_apart):
    dets = two_touching_one_apart
    merged = semantic.merge_by_class(dets, LABELS)
    assert merged.labels == ["circle", "square"]
    assert merged.mask_areas.tolist() == [600, 100]
    assert semantic.count_components(merged.full_mask(0)) == 1
    assert [semantic.count_components(dets.full_mask(i)) for i in range(3)] == [1, 1, 1]
    assert semantic.merge_by_class(dets.select([]), LABELS).masks.shape == (0, 40, 60)


def test_touching_needs_contact_and_the_same_class(two_touching_one_apart):
    assert semantic.touching_pairs(two_touching_one_apart) == [(0, 1)]
    apart = masks_of((5, 15, 5, 15), (5, 15, 16, 25))  # one empty column between them
    assert not semantic.touching(apart[0], apart[1])
    diagonal = masks_of((0, 5, 0, 5), (5, 10, 5, 10))  # corners meet: 8-connected
    assert semantic.touching(diagonal[0], diagonal[1])
    other_class = Detections.from_masks([0, 1], masks_of((5, 15, 5, 15), (5, 15, 15, 25)))
    assert semantic.touching_pairs(other_class) == []


def test_count_components():
    assert semantic.count_components(np.zeros((5, 5), bool)) == 0
    assert semantic.count_components(masks_of((0, 2, 0, 2), (3, 5, 3, 5)).any(axis=0)) == 2


def test_find_touching_scene_returns_a_held_out_scene_with_a_merging_pair():
    seed, scene, (i, j) = semantic.find_touching_scene()
    assert seed >= EVAL_SEED_START
    np.testing.assert_array_equal(scene.image, make_scene(seed).image)
    assert scene.class_ids[i] == scene.class_ids[j]
    assert semantic.count_components(scene.masks[i] | scene.masks[j]) == 1
    with pytest.raises(ValueError):
        semantic.find_touching_scene(start=seed + 1, tries=0)


def test_task_pictures_draw_four_different_pictures(two_touching_one_apart):
    image = np.full((40, 60, 3), 100, np.uint8)
    pictures = semantic.task_pictures(image, two_touching_one_apart, LABELS)
    assert list(pictures) == list(semantic.TASKS)
    big = draw.upscale(image, 9)  # drawn at least 512 pixels wide
    for picture in pictures.values():
        assert picture.shape == big.shape and (picture != big).any()
    # semantic colors both circles alike; instance colors them apart
    sem, inst = pictures["semantic"][4::9, 4::9], pictures["instance"][4::9, 4::9]
    assert (sem[30, 10] == sem[30, 20]).all() and not (inst[30, 10] == inst[30, 20]).all()


def test_semantic_picture_paints_each_class_opaque(two_touching_one_apart):
    image = np.tile(np.linspace(0, 250, 60, dtype=np.uint8)[None, :, None], (40, 1, 3))
    semantic_picture = semantic.task_pictures(image, two_touching_one_apart, LABELS)["semantic"]
    merged = semantic.merge_by_class(two_touching_one_apart, LABELS)
    for k in range(len(merged)):
        inside = np.kron(merged.full_mask(k), np.ones((9, 9), bool))
        # every pixel of a class is the one class colour, whatever the picture beneath it
        assert len(np.unique(semantic_picture[inside], axis=0)) == 1
