"""The text graph cut in two (detector + mask head) gives the full graph's results.

The cut is checked on both text graphs (the real one read in place from ../shared/reference);
parity of the results on ``shapes`` and on the stand-in of the real COCO network (its real text
graph with generated weights, :mod:`maskrcnn_tutorial.models.standin`), over several pictures and
thresholds.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names, split
from maskrcnn_tutorial.graph.textgraph import external_inputs, node_blocks, parse_text_graph
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.models import get_spec
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic.samples import sample_image
from maskrcnn_tutorial.synthetic.scenes import make_scene

from .reference import coco_text_graph

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def shapes(shapes_model):
    return shapes_model


@pytest.fixture(scope="module")
def coco(coco_standin_model):
    """The stand-in of the real COCO network, loaded as the fetched model would be."""
    return coco_standin_model


def check_cut(config) -> split.SplitGraph:
    """What every cut must satisfy, whatever the graph."""
    text = config.read_text()
    original = parse_text_graph(text)
    cut = split.split_graph(text)
    detector, head = parse_text_graph(cut.detector), parse_text_graph(cut.mask_head)
    # every layer of the graph is in exactly one half (constants may be in both)
    inputs = {split.FEATURES_INPUT, split.BOXES_INPUT}
    assert set(original) == set(detector) | (set(head) - inputs)
    assert all(original[name].op == "Const" for name in set(detector) & set(head))
    # the detector stops at detection_out_final; the head starts from the two placeholders
    assert split.MASKS not in detector and cut.crop not in detector
    assert {split.DETECTIONS, split.PROPOSALS, cut.features} <= set(detector)
    assert split.DETECTIONS not in head and cut.features not in head
    assert head[split.FEATURES_INPUT].op == head[split.BOXES_INPUT].op == "Placeholder"
    crop = head[cut.crop]
    assert crop.inputs[:2] == (split.FEATURES_INPUT, split.BOXES_INPUT)
    assert crop.inputs[2:] == original[cut.crop].inputs[2:]
    # every other node's text is carried over exactly as written
    blocks = {block.text for block in node_blocks(text)}
    changed = [
        block
        for block in node_blocks(cut.detector) + node_blocks(cut.mask_head)
        if block.text not in blocks
    ]
    assert len(changed) == 3  # the two placeholders and the crop
    # the detector reads no weight the full graph does not, nor does the head
    both = set(external_inputs(detector)) | set(external_inputs(head))
    assert both == set(external_inputs(original))
    return cut


def test_cut_of_the_shapes_graph():
    cut = check_cut(get_spec("shapes").config)
    assert cut.num_classes == len(get_spec("shapes").labels)


def test_cut_of_the_real_coco_graph():
    cut = check_cut(coco_text_graph())
    assert cut.features == "FirstStageFeatureExtractor/InceptionV2/InceptionV2/Mixed_4e/concat"
    assert cut.crop == names.MASK_CROP and cut.num_classes == 90
    head = parse_text_graph(cut.mask_head)
    # the mask branch: the 19 reused Mixed_5a-5c convolutions and the mask head's two
    assert sum(node.op == "Conv2D" for node in head.values()) == 21
    weights = set(external_inputs(head))
    assert sum(name.startswith("SecondStageFeatureExtractor/") for name in weights) == 19 * 5
    mask_head = {"SecondStageBoxPredictor/Conv/weights", "SecondStageBoxPredictor/Conv_1/weights"}
    assert mask_head <= weights


def test_braces_in_strings_and_comments_do_not_confuse_the_cut():
    text = '# a { comment\nnode {\n  name: "a}"\n  op: "Const"\n}\nlibrary {\n}\n'
    assert [block.text for block in node_blocks(text)] == ['node {\n  name: "a}"\n  op: "Const"\n}']
    with pytest.raises(ValueError, match="unbalanced"):
        node_blocks('node { name: "a" op: "X" } }')
    with pytest.raises(ValueError, match="ends inside a block"):
        node_blocks('node { name: "a" op: "X" ')


def test_a_graph_without_a_mask_branch_is_refused(tmp_path):
    text = get_spec("shapes").config.read_text()
    blocks = [block.text for block in node_blocks(text) if f'"{split.MASKS}"' not in block.text]
    with pytest.raises(split.GraphFormatError, match=names.DETECTION_MASKS):
        split.split_graph("\n".join(blocks))
    broken = tmp_path / "graph.pbtxt"
    broken.write_text("\n".join(blocks))
    with pytest.raises(UserError, match="--mask-branch full"):
        split.SplitNet.load(get_spec("shapes").weights, broken)


def compare(model: Model, image: np.ndarray, thresholds: list[float]) -> int:
    """Full against kept forward passes: the same detections, the same masks for kept rows.

    Returns the number of kept rows compared."""
    full = model.forward(image)
    compared = 0
    for conf in thresholds:
        kept = model.forward(image, mask_branch="kept", conf_threshold=conf)
        np.testing.assert_array_equal(kept.detection_out_final, full.detection_out_final)
        np.testing.assert_array_equal(kept.detection_out, full.detection_out)
        rows = np.flatnonzero(full.detection_out_final[0, 0, :, 2] > conf)
        np.testing.assert_array_equal(kept.mask_rows, rows)
        assert kept.detection_masks.shape == full.detection_masks.shape
        diff = np.abs(kept.detection_masks[rows] - full.detection_masks[rows])
        assert diff.max(initial=0.0) <= TOLERANCE
        others = np.setdiff1d(np.arange(len(full.detection_masks)), rows)
        assert np.isnan(kept.detection_masks[others]).all()  # never computed, never zeros
        a = postprocess(full, labels=model.labels, conf_threshold=conf)
        b = postprocess(kept, labels=model.labels, conf_threshold=conf)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        assert all((x == y).all() for x, y in zip(a.box_masks, b.box_masks, strict=True))
        compared += len(rows)
    # all 100 rows, zero padding included, as the full graph crops them
    final = full.detection_out_final
    masks = model.split.masks(kept.features, final[0, 0])
    assert masks.shape == full.detection_masks.shape
    assert np.abs(masks - full.detection_masks).max() <= TOLERANCE
    return compared


@pytest.mark.parametrize("seed", [1_000_050, 1_000_051, 1_000_052])
def test_shapes_kept_masks_equal_the_full_pass(shapes, seed):
    image = make_scene(seed).image
    scores = shapes.forward(image).detection_out_final[0, 0, :, 2]
    # 0 (every row with a score), the tutorial's 0.5, between two kept scores, above all
    middle = float(np.sort(scores[scores > 0])[len(scores[scores > 0]) // 2]) - 1e-4
    assert compare(shapes, image, [0.0, 0.5, middle, 1.0]) > 0


@pytest.mark.parametrize("picture", ["photo 0", "photo 1", "scene"])
def test_coco_standin_kept_masks_equal_the_full_pass(coco, picture):
    if picture == "scene":  # distinct scores: thresholds between kept rows
        image = cv2.resize(make_scene(1_000_050).image, (320, 240))
        thresholds = [0.0, 0.5, 0.9, 1.0]
    else:  # photos: many scores tie at 1.0 on the stand-in, so every row or none
        image = cv2.resize(sample_image("coco", int(picture[-1]))[1], (320, 240))
        thresholds = [0.0, 1.0]
    assert compare(coco, image, thresholds) > 0


def test_no_kept_row_runs_no_mask_branch(shapes):
    image = make_scene(1_000_050).image
    raw = shapes.forward(image, mask_branch="kept", conf_threshold=1.0)
    assert len(raw.mask_rows) == 0 and np.isnan(raw.detection_masks).all()
    assert len(postprocess(raw, conf_threshold=1.0)) == 0
    assert shapes.split.masks(raw.features, np.zeros((0, 7))).shape == (0, 5, 15, 15)


def test_post_processing_below_the_forward_threshold_is_refused(shapes):
    raw = shapes.forward(make_scene(1_000_050).image, mask_branch="kept", conf_threshold=0.9)
    with pytest.raises(ValueError, match="no masks"):
        postprocess(raw, conf_threshold=0.1)


def test_a_detections_own_pixel_box_gives_its_mask(shapes):
    image = make_scene(1_000_051).image
    raw = shapes.forward(image, mask_branch="kept", conf_threshold=0.5)
    dets = postprocess(raw, conf_threshold=0.5)
    assert len(dets) > 0
    rows = split.box_rows(dets.boxes, raw.image_shape)
    masks = shapes.split.masks(raw.features, rows)
    # pixel boxes are the network's boxes rounded down to whole pixels: close, not equal
    for k, row in enumerate(dets.rows):
        own = raw.detection_masks[row, dets.class_ids[k]]
        assert np.abs(masks[k, dets.class_ids[k]] - own).mean() < 0.05


def test_unknown_mask_branch_is_a_user_error(shapes):
    with pytest.raises(UserError, match="full, kept"):
        shapes.forward(make_scene(1_000_050).image, mask_branch="some")


def test_the_pipeline_runs_the_mask_branch_for_the_kept_rows_by_default(shapes):
    from maskrcnn_tutorial.pipeline import segment

    image = make_scene(1_000_052).image
    kept, full = segment(shapes, image, 0.4), segment(shapes, image, 0.4, mask_branch="full")
    assert kept.raw.mask_rows is not None and full.raw.mask_rows is None
    np.testing.assert_array_equal(kept.detections.boxes, full.detections.boxes)
    np.testing.assert_array_equal(kept.annotated, full.annotated)
