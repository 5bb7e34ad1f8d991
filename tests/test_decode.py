"""Both stages decoded by hand (explain.decode) against OpenCV's DetectionOutput."""

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.explain import anatomy, decode
from maskrcnn_tutorial.explain.metrics import box_iou
from maskrcnn_tutorial.graph.textgraph import read_text_graph
from maskrcnn_tutorial.synthetic.scenes import make_scene
from tests.reference import coco_text_graph

SEEDS = (1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005)


@pytest.fixture(scope="module")
def model(shapes_model):
    return shapes_model


@pytest.fixture(scope="module")
def params(model):
    return decode.detection_params(model)


def test_parameters_come_from_the_text_graph(params):
    one, two = params["stage 1"], params["stage 2"]
    assert (one.num_classes, one.background, one.top_k, one.keep_top_k) == (2, 0, 6000, 100)
    assert one.nms_threshold == pytest.approx(0.7) and one.score_threshold == 0.0
    assert not one.variance_encoded_in_target and one.limit == 100
    assert (two.num_classes, two.keep_top_k, two.top_k) == (5, 100, -1)
    assert two.nms_threshold == pytest.approx(0.6) and two.score_threshold == pytest.approx(0.05)
    assert two.variance_encoded_in_target and not two.share_location and two.limit is None


@pytest.mark.parametrize("seed", SEEDS)
def test_hand_decoding_reproduces_both_detection_outputs_exactly(model, params, seed):
    """Tolerance 0: every row with a positive score agrees bit for bit, on six scenes."""
    raw = model.forward(make_scene(seed).image, taps=decode.STAGE1_TAPS + decode.STAGE2_TAPS)
    one = decode.agreement(decode.decode_stage1(raw, params["stage 1"]).rows, raw.detection_out)
    assert one.rows == 100 and one.exact, one
    two = decode.agreement(
        decode.decode_stage2(raw, params["stage 2"]).rows, raw.detection_out_final
    )
    assert two.rows > 0 and two.exact, two


def test_stage1_decoding_needs_clipping_and_the_variances(model, params):
    """The same tensors decoded without the variances give other proposals: the check can fail."""
    raw = model.forward(make_scene(SEEDS[0]).image, taps=decode.STAGE1_TAPS)
    anchors, _ = decode.anchors_from_priorbox(raw.taps[anatomy.tap("anchors")])
    deltas = raw.taps[anatomy.tap("rpn_deltas")].reshape(-1, 4)
    scores = raw.taps[anatomy.tap("objectness")].reshape(-1, 2)
    rows = decode.detection_output(decode.decode_boxes(deltas, anchors), scores, params["stage 1"])
    assert not decode.agreement(rows, raw.detection_out).exact


def test_decode_boxes_moves_the_centre_and_scales_the_size():
    prior = np.array([[0.2, 0.2, 0.4, 0.6]], np.float32)  # centre (0.3, 0.4), size 0.2 x 0.4
    same = decode.decode_boxes(np.zeros((1, 4)), prior)
    np.testing.assert_allclose(same, prior, atol=1e-7)  # float32 rounding of the centre
    moved = decode.decode_boxes(np.array([[1.0, 0.0, np.log(2), 0.0]]), prior)
    np.testing.assert_allclose(moved, [[0.3, 0.2, 0.7, 0.6]], atol=1e-6)  # +1 width, twice wide
    scaled = decode.decode_boxes(np.array([[10.0, 0, 0, 0]]), prior, np.array([0.1, 0.1, 0.2, 0.2]))
    np.testing.assert_allclose(scaled, [[0.4, 0.2, 0.6, 0.6]], atol=1e-6)  # 10 x 0.1
    clipped = decode.decode_boxes(np.array([[0, 0, np.log(10), 0]]), prior)
    assert clipped[0, 0] == 0.0 and clipped[0, 2] == 1.0


def test_greedy_nms_steps():
    boxes = np.array(
        [[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 5], [21, 20, 31, 30]],
        np.float32,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.05], np.float32)
    steps = decode.greedy_nms(boxes, scores, iou_threshold=0.5, score_threshold=0.1)
    assert [s.index for s in steps] == [0, 1, 2, 3]  # 4 scores below the threshold
    assert decode.kept(steps) == [0, 2, 3]  # box 3 overlaps box 0 with IoU 0.5: kept (<=)
    assert steps[1].suppressed_by == 0
    assert steps[1].iou == pytest.approx(float(box_iou(boxes[1], boxes[0])[0, 0]))
    assert steps[3].iou == pytest.approx(0.5)
    assert decode.kept(decode.greedy_nms(boxes, scores, 0.5, limit=2)) == [0, 2]
    assert decode.kept(decode.greedy_nms(boxes, scores, 0.5, top_k=1)) == [0]


@pytest.mark.parametrize("seed", range(40))
def test_greedy_nms_keeps_what_opencvs_nms_boxes_keeps(seed):
    """Random boxes (whole pixels, so both sides compute the IoU exactly enough), distinct
    scores (ties excluded: their order is where implementations may differ)."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 60))
    corners = rng.integers(0, 100, (count, 2))
    sizes = rng.integers(1, 40, (count, 2))
    boxes = np.concatenate([corners, corners + sizes], 1).astype(np.float32)
    scores = rng.permutation(np.linspace(0.01, 1.0, count)).astype(np.float32)
    iou_threshold = float(rng.choice([0.3, 0.5, 0.7]))
    score_threshold = float(rng.choice([0.0, 0.4]))
    top_k = int(rng.choice([0, 10]))
    ours = decode.kept(decode.greedy_nms(boxes, scores, iou_threshold, score_threshold, top_k))
    rects = [(int(x1), int(y1), int(x2 - x1), int(y2 - y1)) for x1, y1, x2, y2 in boxes]
    theirs = cv2.dnn.NMSBoxes(rects, scores.tolist(), score_threshold, iou_threshold, top_k=top_k)
    assert ours == np.asarray(theirs, int).reshape(-1).tolist()


def test_equal_scores_keep_index_order():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    steps = decode.greedy_nms(boxes, np.ones(2, np.float32), 0.5)
    assert decode.kept(steps) == [0] and steps[1].suppressed_by == 0


def test_agreement_ignores_the_order_of_tied_rows_but_not_values():
    rows = np.zeros((4, 7), np.float32)
    rows[0] = [0, 1, 0.9, 0.1, 0.1, 0.2, 0.2]
    rows[1] = [0, 1, 0.9, 0.5, 0.5, 0.6, 0.6]
    swapped = rows[[1, 0, 2, 3]]
    assert decode.agreement(swapped, rows).exact
    changed = rows.copy()
    changed[1, 3] += 1e-6
    result = decode.agreement(changed, rows)
    assert (result.rows, result.matching) == (2, 1) and result.max_abs_diff > 0
    assert decode.agreement(changed, rows, tolerance=1e-5).exact
    assert decode.agreement(rows[:1], rows).max_abs_diff == float("inf")


def test_anchor_shapes_keep_the_graphs_order(model):
    graph = read_text_graph(model.spec.config)
    sizes, ratios = decode.anchor_shapes(graph[anatomy.tap("anchors")])
    # shapes: size-major (3 ratios per size)
    np.testing.assert_allclose(sizes, np.repeat([28, 44, 68, 104], 3), rtol=1e-4)
    np.testing.assert_allclose(ratios, np.tile([2, 1, 0.5], 4), rtol=1e-4)


def test_anchor_shapes_of_the_real_graph_are_ratio_major():
    graph = read_text_graph(coco_text_graph())
    sizes, ratios = decode.anchor_shapes(graph[anatomy.tap("anchors")])
    np.testing.assert_allclose(sizes, np.tile([64, 128, 256, 512], 3), rtol=1e-4)
    np.testing.assert_allclose(ratios, np.repeat([0.5, 1, 2], 4), rtol=1e-4)


def test_proposal_anchors_are_the_anchors_the_proposals_grew_from(model, params):
    raw = model.forward(make_scene(SEEDS[0]).image, taps=decode.STAGE1_TAPS)
    stage1 = decode.decode_stage1(raw, params["stage 1"])
    proposals = raw.detection_out.reshape(-1, 7)[:20, 3:7]
    anchors, indices = decode.proposal_anchors(stage1, proposals)
    np.testing.assert_array_equal(stage1.anchors[indices], anchors)
    np.testing.assert_array_equal(stage1.boxes[indices], proposals)  # decoding gives them back
    assert (stage1.scores[indices] == raw.detection_out.reshape(-1, 7)[:20, 2]).all()
    with pytest.raises(ValueError, match=r"proposals \[0\] match no anchor"):
        decode.proposal_anchors(stage1, [[0.1, 0.1, 0.2, 0.2]])
