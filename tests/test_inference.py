import cv2
import numpy as np
import pytest

from maskrcnn_tutorial import inference
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.models import get_spec, load_model
from maskrcnn_tutorial.synthetic.scenes import make_scene


@pytest.fixture(scope="module")
def model(shapes_model):
    return shapes_model


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
    raw = model.forward(image)
    profile = model.layer_profile()
    assert [name for name, _, _ in profile] == list(model.net.getLayerNames())  # graph order
    kinds = {name: kind for name, kind, _ in profile}
    assert kinds[names.DETECTION_OUT_FINAL] == "DetectionOutput"
    assert kinds[names.DETECTION_MASKS] == "Sigmoid"
    assert "Convolution" in kinds.values()
    # milliseconds of this pass: together, most of the pass's wall time and never more
    total = sum(ms for _, _, ms in profile)
    assert 0.5 * raw.time_ms < total <= raw.time_ms, (total, raw.time_ms)
    assert min(ms for _, _, ms in profile) >= 0
    convolutions = sum(ms for _, kind, ms in profile if kind == "Convolution")
    assert convolutions > 0.5 * total  # where a forward pass spends its time


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


@pytest.mark.parametrize(
    ("image_shape", "size", "expected_hw"),
    [
        ((4, 2000), 4096, (8, 4096)),  # was 4096 x 2048000: OpenCV asked for 25 GB
        ((4, 2000), 256, (8, 4096)),  # was 256 x 128000: 3.1 GB and 45 s
        ((3, 1024), 800, (12, 4096)),  # the app at --input-size 800 (5.7 GB per page before)
        ((6000, 8000), "asis", (3072, 4096)),  # a large photo taken as it is
        ((6000, 8000), None, (3072, 4096)),  # coco's native: as it is
        ((720, 1280), 800, (800, 1422)),  # within the bound: unchanged
    ],
)
def test_the_blob_long_side_is_bounded_whatever_the_input_size(image_shape, size, expected_hw):
    size_hw = inference.blob_hw(image_shape, size)
    assert size_hw == expected_hw and max(size_hw) <= inference.MAX_BLOB_SIDE


def test_a_thin_picture_runs_with_a_bounded_blob():
    raw = load_model("shapes", input_size=4096).forward(np.full((4, 2000, 3), 90, np.uint8))
    assert raw.blob_shape == (1, 3, 8, 4096) and raw.image_shape == (4, 2000)


#: Python API misuse (issue 20): a UserError in words, never a crash or a silent wrong answer.
BAD_IMAGES = {
    "None": (None, "is None"),
    "float 0..1": (np.full((32, 32, 3), 0.5, np.float32), "float32 values"),
    "2 channels": (np.zeros((32, 32, 2), np.uint8), "shape (32, 32, 2)"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_forward_names_what_is_wrong_with_the_image(case):
    image, words = BAD_IMAGES[case]
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_model("shapes").forward(image)


def test_grey_and_bgra_pictures_run_as_bgr():
    model, scene = load_model("shapes"), make_scene(1_000_123).image
    expected = model.forward(cv2.cvtColor(cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY), 8))
    grey = model.forward(cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY))
    np.testing.assert_array_equal(grey.detection_out_final, expected.detection_out_final)
    bgra = model.forward(cv2.cvtColor(scene, cv2.COLOR_BGR2BGRA))
    np.testing.assert_array_equal(
        bgra.detection_out_final, model.forward(scene).detection_out_final
    )


BAD_BOXES = {
    "NaN": ([[0, 0, float("nan"), 10]], "NaN or infinite"),  # killed the process before
    "infinite": ([[0, float("-inf"), 10, 10]], "NaN or infinite"),
    "3 numbers": ([[0, 0, 10]], "rows of 4 pixel coordinates"),
    "none": (np.zeros((0, 4)), "no boxes given"),
    "words": ([["a", "b", "c", "d"]], "rows of 4 pixel coordinates"),
}


@pytest.mark.parametrize("case", sorted(BAD_BOXES))
def test_box_masks_checks_boxes_where_they_enter(case):
    model = load_model("shapes")
    raw = model.forward(make_scene(1_000_123).image, mask_branch="kept")
    boxes, words = BAD_BOXES[case]
    with pytest.raises(UserError, match=words):
        model.box_masks(raw, boxes)
    assert model.box_masks(raw, [[0, 0, 100, 100]]).shape[0] == 1  # still usable


def raw_outputs(**changes):
    fields = {
        names.DETECTION_OUT_FINAL: np.zeros((1, 1, 100, 7), np.float32),
        names.DETECTION_MASKS: np.zeros((100, 3, 15, 15), np.float32),
        names.DETECTION_OUT: np.zeros((1, 1, 100, 7), np.float32),
        "blob_shape": (1, 3, 64, 64),
        "image_shape": (64, 64),
        "time_ms": 1.0,
    }
    return inference.RawOutputs(**{**fields, **changes})


BAD_RAW = {
    "6 columns": ({names.DETECTION_OUT_FINAL: np.zeros((1, 1, 100, 6))}, "end in 7 columns"),
    "NaN score": (
        {names.DETECTION_OUT_FINAL: np.full((1, 1, 100, 7), np.nan)},
        "NaN or infinite",
    ),
    "masks 3-d": ({names.DETECTION_MASKS: np.zeros((100, 15, 15))}, "one row per detection"),
    "masks for 50": ({names.DETECTION_MASKS: np.zeros((50, 3, 15, 15))}, "one row per detection"),
    "image 3 numbers": ({"image_shape": (64, 64, 3)}, "image_shape must be"),
    "image 0 high": ({"image_shape": (0, 64)}, "image_shape must be"),
    "image floats": ({"image_shape": (64.5, 64)}, "image_shape must be"),
}


@pytest.mark.parametrize("case", sorted(BAD_RAW))
def test_raw_outputs_are_checked_where_they_enter(case):
    changes, words = BAD_RAW[case]
    with pytest.raises(UserError, match=words):
        raw_outputs(**changes)
    assert raw_outputs().image_shape == (64, 64)


BAD_ROI = {
    "size 1": (lambda roi, f, b: roi.crop_and_resize(f, b, size=1), "size must be"),
    "size 0": (lambda roi, f, b: roi.roi_align(f, b, size=0), "size must be"),
    "samples 0": (lambda roi, f, b: roi.roi_align(f, b, samples=0), "samples must be"),
    "samples 1.5": (lambda roi, f, b: roi.roi_align(f, b, samples=1.5), "samples must be"),
    "NaN box": (lambda roi, f, b: roi.roi_align(f, [0, 0, np.nan, 1]), "4 finite"),
    "3-number box": (lambda roi, f, b: roi.crop_and_resize(f, [0, 0, 1]), "4 finite"),
    "2-d features": (lambda roi, f, b: roi.roi_align(f[0], b), "(C, H, W)"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROI))
def test_roi_functions_name_their_bad_arguments(case):
    from maskrcnn_tutorial.explain import roi

    features = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    box = np.array([0.1, 0.1, 0.9, 0.9])
    call, words = BAD_ROI[case]
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")):
        call(roi, features, box)
    assert not np.isnan(roi.roi_align(features, box, samples=1)).any()
