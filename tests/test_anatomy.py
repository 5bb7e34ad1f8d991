from maskrcnn_tutorial import anatomy
from maskrcnn_tutorial.models import load_model
from maskrcnn_tutorial.scenes import make_scene


def test_stage_of_the_real_graphs_names():
    cases = {
        "Preprocessor/mul": "input",
        "FirstStageFeatureExtractor/InceptionV2/Conv2d_1a_7x7/Relu6": "backbone",
        "Conv/Relu6": "RPN",
        "FirstStageBoxPredictor/ClassPredictor/Conv2D": "RPN",
        "proposals": "anchors",
        "detection_out": "RPN proposals",
        "detection_out/slice": "box head",
        "CropAndResize": "box head",
        "SecondStageFeatureExtractor/InceptionV2/Mixed_5a/Branch_0/Conv2d_0a_1x1/Relu": "box head",
        "detection_out_final": "box head",
        "CropAndResize_1": "mask head",
        "SecondStageFeatureExtractor_1/InceptionV2/Mixed_5c/concat": "mask head",
        "SecondStageBoxPredictor_1/Conv_3/Conv2D": "mask head",
        "detection_masks": "mask head",
        "something_else": "other",
    }
    for name, stage in cases.items():
        assert anatomy.stage_of(name) == stage, name


def test_layers_of_the_shapes_model_flow_through_every_stage():
    model = load_model("shapes")
    layers = anatomy.layers(model, make_scene(1_000_001).image)
    summary = anatomy.stage_summary(layers)
    stages = [stage for stage, _, _ in summary]
    assert stages == [s for s in anatomy.STAGES if s in stages]
    assert {"backbone", "RPN", "anchors", "RPN proposals", "box head", "mask head"} <= set(stages)
    shapes = {layer.name: layer.shape for layer in layers}
    assert shapes["detection_out_final"] == (1, 1, 100, 7)
    assert shapes["detection_masks"] == (100, len(model.labels), 15, 15)
    assert sum(count for _, count, _ in summary) == len(layers)
