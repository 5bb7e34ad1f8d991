import cv2
import numpy as np
import pytest

from maskrcnn_tutorial import inference
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.models import get_spec, load_model
from maskrcnn_tutorial.synthetic.scenes import make_scene


@pytest.fixture(scope="module")
def model():
    return load_model("shapes")


@pytest.fixture(scope="module")
def image():
    return make_scene(1_000_050).image


def test_blob_is_nchw_rgb_float(image):
    blob = inference.make_blob(image)
    assert blob.shape == (1, 3, *image.shape[:2]) and blob.dtype == np.float32
    np.testing.assert_array_equal(blob[0, 0], image[..., 2])  # swapRB: R first
    small = inference.make_blob(image, (32, 64))  # (height, width)
    assert small.shape == (1, 3, 32, 64)


def test_forward_returns_the_three_named_outputs(model, image):
    raw = model.forward(image)
    classes = len(model.labels)
    assert raw.detection_out_final.shape == (1, 1, 100, 7)
    assert raw.detection_masks.shape == (100, classes, 15, 15)
    assert raw.detection_out.shape[-1] == 7
    assert raw.blob_shape == (1, 3, *model.spec.input_hw)
    assert raw.image_shape == image.shape[:2]
    assert raw.time_ms > 0
    masks = raw.detection_masks
    assert masks.min() >= 0 and masks.max() <= 1  # sigmoid probabilities
    rows = raw.detection_out_final[0, 0]
    assert (np.diff(rows[:, 2]) <= 1e-6).all()  # sorted by score, zero rows last
    assert set(raw.as_arrays()) == set(inference.OUTPUT_NAMES)


def test_forward_is_deterministic(model, image):
    a, b = model.forward(image), model.forward(image)
    np.testing.assert_array_equal(a.detection_out_final, b.detection_out_final)


def test_taps_return_intermediate_outputs_of_the_same_pass(model, image):
    taps = [names.PROPOSALS, names.RPN_SCORES_FLAT, names.DETECTION_OUT]
    raw = model.forward(image, taps=taps)
    plain = model.forward(image)
    assert list(raw.taps) == taps and plain.taps == {}
    np.testing.assert_array_equal(raw.taps[names.DETECTION_OUT], plain.detection_out)
    np.testing.assert_array_equal(raw.detection_out_final, plain.detection_out_final)
    anchors = raw.taps[names.PROPOSALS]
    assert anchors.shape[:2] == (1, 2) and anchors.shape[2] % 4 == 0
    scores = raw.taps[names.RPN_SCORES_FLAT].reshape(-1, 2)
    np.testing.assert_allclose(scores.sum(1), 1, atol=1e-5)  # a 2-way softmax per anchor
    assert len(scores) * 4 == anchors.shape[2]


def test_an_unknown_tap_is_a_user_error(model, image):
    with pytest.raises(UserError, match="no layer 'nope'.*anatomy.TAPS"):
        model.forward(image, taps=["nope"])


def test_classic_engine_is_requested_on_opencv_5(monkeypatch):
    calls = []
    real = cv2.dnn.readNetFromTensorflow

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(cv2.dnn, "readNetFromTensorflow", spy)
    spec = get_spec("shapes")
    inference.read_net(str(spec.weights), str(spec.config))
    if hasattr(cv2.dnn, "ENGINE_CLASSIC"):
        assert calls == [{"engine": cv2.dnn.ENGINE_CLASSIC}]
    else:
        assert calls == [{}]


def test_layer_profile_covers_the_graph(model, image):
    model.forward(image)
    profile = model.layer_profile()
    layers = [name for name, _, _ in profile]
    assert names.DETECTION_MASKS in layers and names.DETECTION_OUT_FINAL in layers
    assert all(ms >= 0 for _, _, ms in profile)


def test_opencl_falls_back_with_a_notice(monkeypatch):
    monkeypatch.setattr(cv2.ocl, "haveOpenCL", lambda: False)
    model = load_model("shapes", target="opencl")
    assert model.target == "cpu"
    assert model.notices == ["OpenCL is not available here; running on the CPU instead"]


def test_unknown_target_is_refused():
    with pytest.raises(UserError, match="unknown target"):
        load_model("shapes", target="tpu")


def test_corrupt_files_are_a_user_error(tmp_path):
    weights, config = tmp_path / "w.pb", tmp_path / "g.pbtxt"
    weights.write_bytes(b"\x00garbage")
    config.write_text("node {")
    with pytest.raises(UserError, match="missing or corrupt"):
        inference.read_net(str(weights), str(config))


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        ("native", None),
        ("asis", "asis"),
        ("800", 800),
        (600, 600),
        ("800x600", (600, 800)),  # written width first, held as (height, width)
        ((480, 640), (480, 640)),
    ],
)
def test_parse_input_size(choice, expected):
    assert inference.parse_input_size(choice) == expected
    text = inference.format_input_size(expected) if expected != "asis" else "asis"
    assert inference.parse_input_size(text) == expected


@pytest.mark.parametrize("bad", ["big", "0", "-5", "8x", "10x10", "5000", "1x2x3", "x"])
def test_bad_input_sizes_name_the_choices(bad):
    with pytest.raises(UserError, match="native, asis, N"):
        inference.parse_input_size(bad)


def test_blob_hw_keeps_the_aspect_ratio_for_a_smaller_side():
    assert inference.blob_hw((720, 1280, 3), 800) == (800, 1422)
    assert inference.blob_hw((720, 1280, 3), "asis", native_hw=(256, 256)) is None
    assert inference.blob_hw((720, 1280, 3), None, native_hw=(256, 256)) == (256, 256)
    assert inference.blob_hw((720, 1280, 3), (600, 800)) == (600, 800)
    assert inference.blob_hw((720, 1280, 3), "800x600") == (600, 800)  # text: width first


def test_with_input_size_shares_the_network_and_sizes_the_blob():
    model = load_model("shapes")
    image = np.zeros((100, 300, 3), np.uint8)
    bigger = model.with_input_size(200)
    assert bigger.net is model.net and model.input_size is None
    assert model.forward(image).blob_shape == (1, 3, 256, 256)
    raw = bigger.forward(image)
    assert raw.blob_shape == (1, 3, 200, 600) and raw.image_shape == (100, 300)
