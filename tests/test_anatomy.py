import pytest

from maskrcnn_tutorial.explain import anatomy
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.textgraph import read_text_graph
from maskrcnn_tutorial.synthetic.scenes import make_scene
from tests.reference import coco_text_graph


def test_stage_of_the_real_graphs_names():
    cases = {
        "Preprocessor/mul": "input",
        "FirstStageFeatureExtractor/InceptionV2/Conv2d_1a_7x7/Relu6": "backbone",
        names.RPN_FEATURES: "RPN",
        names.RPN_CLASS_LOGITS: "RPN",
        names.PROPOSALS: "anchors",
        names.DETECTION_OUT: "RPN proposals",
        "detection_out/slice": "box head",
        names.CROP: "box head",
        "SecondStageFeatureExtractor/InceptionV2/Mixed_5a/Branch_0/Conv2d_0a_1x1/Relu": "box head",
        names.DETECTION_OUT_FINAL: "box head",
        names.MASK_CROP: "mask head",
        "SecondStageFeatureExtractor_1/InceptionV2/Mixed_5c/concat": "mask head",
        "SecondStageBoxPredictor_1/Conv_3/Conv2D": "mask head",
        names.DETECTION_MASKS: "mask head",
        "something_else": "other",
    }
    for name, stage in cases.items():
        assert anatomy.stage_of(name) == stage, name


def test_layers_of_the_shapes_model_flow_through_every_stage(shapes_model):
    model = shapes_model
    layers = anatomy.layers(model, make_scene(1_000_001).image)
    summary = anatomy.stage_summary(layers)
    stages = [stage for stage, _, _ in summary]
    assert stages == [s for s in anatomy.STAGES if s in stages]
    assert {"backbone", "RPN", "anchors", "RPN proposals", "box head", "mask head"} <= set(stages)
    shapes = {layer.name: layer.shape for layer in layers}
    assert shapes[names.DETECTION_OUT_FINAL] == (1, 1, 100, 7)
    assert shapes[names.DETECTION_MASKS] == (100, len(model.labels), 15, 15)
    assert sum(count for _, count, _ in summary) == len(layers)


def test_every_tap_is_a_layer_of_the_shapes_model_and_a_node_of_its_graph(shapes_model):
    model = shapes_model
    graph = read_text_graph(model.spec.config)
    for roles in anatomy.TAPS.values():
        for name in roles.values():
            assert model.net.getLayerId(name) >= 0 and name in graph, name


def test_every_tap_is_a_node_of_the_real_graph():
    graph = read_text_graph(coco_text_graph())
    missing = [n for roles in anatomy.TAPS.values() for n in roles.values() if n not in graph]
    assert not missing
    assert graph[names.CROP].inputs[0].endswith("Mixed_4e/concat")  # the backbone's output


def test_taps_stages_agree_with_stage_of():
    for stage, roles in anatomy.TAPS.items():
        assert all(anatomy.stage_of(name) == stage for name in roles.values()), stage
    assert anatomy.tap("objectness").endswith("softmax/flatten")
    with pytest.raises(KeyError, match="no tap called"):
        anatomy.tap("nothing")


def test_backbone_taps_end_at_the_feature_map_both_crops_read(shapes_model):
    model = shapes_model
    early, last = anatomy.backbone_taps(model)
    graph = read_text_graph(model.spec.config)
    assert graph[names.CROP].inputs[0] == last == graph[names.MASK_CROP].inputs[0]
    raw = model.forward(make_scene(1_000_001).image, taps=[early, last])
    assert raw.taps[early].shape[2] > raw.taps[last].shape[2]  # the early one is finer


def test_every_tap_is_a_layer_opencv_builds_from_the_real_graph(coco_standin_model):
    net = coco_standin_model.net
    missing = [
        n for roles in anatomy.TAPS.values() for n in roles.values() if net.getLayerId(n) < 0
    ]
    assert not missing


def test_mask_feature_tap_is_what_resize_bilinear_reads(shapes_model):
    model = shapes_model
    graph = read_text_graph(model.spec.config)
    feature = anatomy.mask_feature_tap(model)
    assert feature == "SecondStageFeatureExtractor_1/Conv2d_1/Relu"
    assert graph[anatomy.tap("mask_resized")].inputs[0] == feature
    chain = ("mask_crops", "mask_pooled", "mask_resized", "mask_logits")
    raw = model.forward(make_scene(1_000_001).image, taps=[feature, *map(anatomy.tap, chain)])
    shapes = [raw.taps[anatomy.tap(role)].shape[2:] for role in chain]
    assert shapes == [(14, 14), (7, 7), (15, 15), (15, 15)]
    assert raw.taps[feature].shape[2:] == (7, 7)


def test_mask_feature_tap_of_the_real_graph_ends_inception():
    graph = read_text_graph(coco_text_graph())
    assert graph[anatomy.tap("mask_resized")].inputs[0] == (
        "SecondStageFeatureExtractor_1/InceptionV2/Mixed_5c/concat"
    )
