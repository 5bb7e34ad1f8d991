"""anatomy's per-stage time totals and the stage-1 proposals (used by notebooks 02 and 04)."""

import numpy as np

from maskrcnn_tutorial.explain import anatomy
from maskrcnn_tutorial.graph import names

from .conftest import make_raw


def test_stage_times_sum_the_profile_by_stage_in_data_flow_order():
    profile = [
        (names.DETECTION_MASKS, "Sigmoid", 1.0),
        ("FirstStageFeatureExtractor/Conv2d_0/Conv2D", "Convolution", 2.0),
        ("FirstStageFeatureExtractor/Conv2d_1/Conv2D", "Convolution", 3.0),
        ("mystery", "Identity", 0.5),
    ]
    assert anatomy.stage_times(profile) == [("backbone", 5.0), ("mask head", 1.0), ("other", 0.5)]
    assert anatomy.stage_times([]) == []


def test_proposals_skip_padding_and_scale_to_pixels():
    raw = make_raw([], image_shape=(100, 200))
    raw.detection_out[0, 0, 0] = [0, 0, 0.9, 0.1, 0.2, 0.5, 0.6]
    raw.detection_out[0, 0, 1] = [0, 0, 0.4, 0.0, 0.0, 1.0, 1.0]
    boxes, scores = anatomy.proposals(raw)
    assert boxes.tolist() == [[20, 20, 100, 60], [0, 0, 199, 99]]
    np.testing.assert_allclose(scores, [0.9, 0.4])
    assert anatomy.proposals(raw, (10, 20))[0][0].tolist() == [2, 2, 10, 6]
    empty, _ = anatomy.proposals(make_raw([]))
    assert empty.shape == (0, 4)


def test_draw_proposals_outlines_without_touching_the_input():
    image = np.zeros((100, 200, 3), np.uint8)
    out = anatomy.draw_proposals(image, np.array([[20, 20, 100, 60]]), (0, 255, 0))
    assert image.sum() == 0
    assert (out[20, 20:101] == (0, 255, 0)).all() and out[40, 50].sum() == 0
