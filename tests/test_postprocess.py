import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.postprocess import Detections, paste_mask, pixel_box, postprocess

from .conftest import make_raw


def test_confidence_threshold_is_strict(raw_two):
    assert len(postprocess(raw_two, conf_threshold=0.5)) == 2
    assert len(postprocess(raw_two, conf_threshold=0.6)) == 1  # score > conf, as the tutorial
    assert len(postprocess(raw_two, conf_threshold=0.95)) == 0


def test_boxes_are_scaled_like_the_tutorial(raw_two):
    dets = postprocess(raw_two)
    # int(W * x1) etc. on a 100x200 (h x w) image
    assert dets.boxes.tolist() == [[10, 10, 90, 80], [100, 20, 190, 90]]
    assert dets.rows.tolist() == [0, 1]
    assert dets.class_ids.tolist() == [1, 2]


def test_boxes_are_clamped_to_the_frame():
    assert pixel_box(np.array([0, 0, 0, -0.2, -0.1, 1.3, 1.5]), 200, 100) == (0, 0, 199, 99)


def test_the_detected_class_slice_is_used(raw_two):
    dets = postprocess(raw_two)
    np.testing.assert_array_equal(dets.small_masks[0], raw_two.detection_masks[0, 1])
    # slice 2 of detection 0 is all ones; slice 1 is a square, so the pasted mask has a border
    assert not dets.box_masks[0].all()
    assert dets.box_masks[0].any()


def test_mask_is_resized_to_the_box_plus_one(raw_two):
    dets = postprocess(raw_two)
    left, top, right, bottom = dets.boxes[0]
    assert dets.box_masks[0].shape == (bottom - top + 1, right - left + 1)
    expected = cv2.resize(raw_two.detection_masks[0, 1], (right - left + 1, bottom - top + 1)) > 0.3
    np.testing.assert_array_equal(dets.box_masks[0], expected)


def test_mask_threshold_moves_the_edge(raw_two):
    low = postprocess(raw_two, mask_threshold=0.2).box_masks[1]
    high = postprocess(raw_two, mask_threshold=0.8).box_masks[1]
    assert high.sum() < low.sum()
    assert not (high & ~low).any()  # a higher threshold only removes pixels


def test_full_masks_sit_inside_their_boxes(raw_two):
    dets = postprocess(raw_two)
    full = dets.masks
    assert full.shape == (2, 100, 200)
    for mask, (left, top, right, bottom) in zip(full, dets.boxes, strict=True):
        outside = mask.copy()
        outside[top : bottom + 1, left : right + 1] = False
        assert not outside.any()
    assert dets.mask_areas.tolist() == [int(m.sum()) for m in full]


def test_labels_fall_back_to_the_number(raw_two):
    dets = postprocess(raw_two, labels=["a", "b"])
    assert dets.labels == ["b", "2"]


def test_zero_detections_is_a_normal_result():
    dets = postprocess(make_raw([]))
    assert len(dets) == 0
    assert dets.masks.shape == (0, 100, 200)
    assert dets.small_masks.shape == (0, 15, 15)


def test_select_keeps_order_and_fields(raw_two):
    dets = postprocess(raw_two, labels=["a", "b", "c"])
    picked = dets.select(dets.scores > 0.7)
    assert picked.labels == ["b"]
    assert picked.rows.tolist() == [0]
    assert dets.select([1]).labels == ["c"]


def test_image_shape_can_differ_from_the_blob(raw_two):
    dets = postprocess(raw_two, image_shape=(50, 100))
    assert dets.boxes.tolist()[0] == [5, 5, 45, 40]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_thresholds_outside_unit_interval_are_refused(raw_two, bad):
    with pytest.raises(UserError, match="between 0 and 1"):
        postprocess(raw_two, conf_threshold=bad)
    with pytest.raises(UserError, match="between 0 and 1"):
        postprocess(raw_two, mask_threshold=bad)


def test_class_ids_beyond_the_mask_tensor_are_refused():
    with pytest.raises(UserError, match="do not belong together"):
        postprocess(make_raw([[7, 0.9, 0.1, 0.1, 0.5, 0.5]]))


def test_paste_mask_uses_the_interpolation():
    small = np.zeros((15, 15), np.float32)
    small[5:10, 5:10] = 1.0
    nearest = paste_mask(small, (0, 0, 59, 59), 0.3, cv2.INTER_NEAREST)
    linear = paste_mask(small, (0, 0, 59, 59), 0.3, cv2.INTER_LINEAR)
    assert nearest.sum() != linear.sum()


def test_from_masks_round_trips_ground_truth():
    masks = np.zeros((2, 40, 50), bool)
    masks[0, 5:15, 10:30] = True
    masks[1, 20:39, 0:7] = True
    masks[1, 25:30, 2:5] = False  # a hole
    dets = Detections.from_masks([3, 1], masks, labels=["a", "b", "c", "d"])
    assert dets.boxes.tolist() == [[10, 5, 29, 14], [0, 20, 6, 38]]
    np.testing.assert_array_equal(dets.masks, masks)
    assert dets.labels == ["d", "b"]
    assert dets.scores.tolist() == [1.0, 1.0]
    assert dets.small_masks.shape == (2, 15, 15)
    assert dets.small_masks[1].min() < 1.0  # the hole survives the squeeze, partly


def test_empty_detections_have_every_field_empty():
    none = Detections.empty((30, 40))
    assert len(none) == 0 and none.image_shape == (30, 40)
    assert none.boxes.shape == (0, 4) and none.small_masks.shape == (0, 15, 15)
    assert none.masks.shape == (0, 30, 40) and none.labels == []


def _fields(dets: Detections) -> dict:
    return {name: getattr(dets, name) for name in Detections.__dataclass_fields__}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": np.ones(3, np.float32)}, "3 detections"),
        ({"labels": ["only one"]}, "labels has 1 entries for 2 detections"),
        ({"rows": np.arange(5)}, "rows has 5 entries"),
        ({"boxes": np.zeros((2, 3), np.int64)}, r"boxes must be \(2, 4\)"),
        ({"boxes": np.array([[5, 10, 200, 80], [100, 20, 190, 90]])}, "not inside the 200x100"),
        ({"boxes": np.array([[50, 10, 40, 80], [100, 20, 190, 90]])}, "box 0"),
        ({"box_masks": [np.ones((2, 2), bool)] * 2}, r"box_masks\[0\] is \(2, 2\)"),
        ({"image_shape": (0, 200)}, "image_shape"),
    ],
)
def test_inconsistent_detections_are_refused_at_construction(raw_two, change, message):
    fields = {**_fields(postprocess(raw_two)), **change}
    with pytest.raises(ValueError, match=message):
        Detections(**fields)


def test_postprocess_options_are_keyword_only(raw_two):
    with pytest.raises(TypeError):
        postprocess(raw_two, (100, 200))  # type: ignore[misc]
