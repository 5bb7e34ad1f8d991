"""The command line end to end, on the embedded shapes model."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.apps.cli import main
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.synthetic.scenes import make_scene


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_models_lists_both_with_state(capsys, empty_model_cache):
    code, out, _ = run(["models"], capsys)
    assert code == 0
    assert str(empty_model_cache) in out
    assert "coco" in out and "missing" in out and "fetch coco" in out
    assert "* shapes" in out and "available" in out


def test_segment_image_writes_picture_json_and_raw(capsys, tmp_path, scene_file):
    out_png, out_json, out_raw = tmp_path / "a.png", tmp_path / "a.json", tmp_path / "a.npz"
    code, out, err = run(
        ["segment", scene_file, "--out", out_png, "--json", out_json, "--raw", out_raw], capsys
    )
    assert code == 0, err
    assert "embedded 'shapes' model" in err and "fetch coco" in err  # the default is announced
    report = json.loads(out_json.read_text())
    assert report["model"] == "shapes"
    assert (report["height"], report["width"]) == make_scene(1_000_123).image.shape[:2]
    assert report["detections"], "the shapes model finds objects in a held-out scene"
    assert set(report["timing_ms"]) == {"forward", "postprocess", "draw"}
    for det in report["detections"]:
        x1, y1, x2, y2 = det["box"]
        mask = rle.decode(det["mask"])
        assert (
            mask.shape == (report["height"], report["width"]) and mask.sum() == det["mask_area"] > 0
        )
        ys, xs = np.nonzero(mask)
        assert x1 <= xs.min() and xs.max() <= x2 and y1 <= ys.min() and ys.max() <= y2
        assert det["score"] > 0.5 and det["label"] in out
    picture = cv2.imread(str(out_png))
    height, width = cv2.imread(str(scene_file)).shape[:2]
    assert picture.shape == (2 * height, 2 * width, 3)  # a 256 px scene is drawn 2x to be read
    assert not np.array_equal(picture, cv2.imread(str(scene_file)))
    raw = np.load(out_raw)
    assert raw[names.DETECTION_OUT_FINAL].shape == (1, 1, 100, 7)
    assert raw[names.DETECTION_MASKS].shape[0] == 100 and raw[names.DETECTION_MASKS].shape[2:] == (
        15,
        15,
    )
    assert raw[names.DETECTION_OUT].shape[-1] == 7


def test_thresholds_change_the_result(capsys, tmp_path, scene_file):
    loose, strict = tmp_path / "loose.json", tmp_path / "strict.json"
    run(
        ["segment", scene_file, "--conf", "0.05", "--mask-threshold", "0.1", "--json", loose],
        capsys,
    )
    run(
        ["segment", scene_file, "--conf", "0.9", "--mask-threshold", "0.9", "--json", strict],
        capsys,
    )
    a, b = (json.loads(p.read_text())["detections"] for p in (loose, strict))
    assert len(a) >= len(b)
    assert sum(d["mask_area"] for d in a) > sum(d["mask_area"] for d in b)


def test_both_mask_branches_give_the_same_detections(capsys, tmp_path, scene_file):
    reports, raws = {}, {}
    for branch in ("full", "kept"):
        out_json, out_raw = tmp_path / f"{branch}.json", tmp_path / f"{branch}.npz"
        args = ["segment", scene_file, "--conf", "0.3", "--json", out_json, "--raw", out_raw]
        code, _, err = run([*args, "--mask-branch", branch], capsys)
        assert code == 0, err
        reports[branch] = json.loads(out_json.read_text())["detections"]
        raws[branch] = np.load(out_raw)
    assert reports["kept"] == reports["full"] and reports["kept"]
    scores = raws["full"][names.DETECTION_OUT_FINAL][0, 0, :, 2]
    masks = raws["kept"][names.DETECTION_MASKS]
    # kept: the rows above --conf have their masks, the others were never computed (NaN)
    assert not np.isnan(masks[scores > 0.3]).any() and np.isnan(masks[scores <= 0.3]).all()
    assert not np.isnan(raws["full"][names.DETECTION_MASKS]).any()


def test_segment_video_writes_video_and_frames(capsys, tmp_path, clip_file):
    out_avi, out_json = tmp_path / "o.avi", tmp_path / "o.json"
    code, out, err = run(
        [
            "--quiet",
            "segment",
            clip_file,
            "--out",
            out_avi,
            "--json",
            out_json,
            "--colors",
            "instance",
        ],
        capsys,
    )
    assert code == 0, err
    assert "4 frames" in out and "frames per second" in out
    capture = cv2.VideoCapture(str(out_avi))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    capture.release()
    report = json.loads(out_json.read_text())
    assert len(report["frames"]) == 4 and report["fps"] > 0


def test_webcam_is_read_through_the_same_path(capsys, tmp_path, clip_file, monkeypatch):
    from maskrcnn_tutorial.io import video

    real = cv2.VideoCapture
    monkeypatch.setattr(video.cv2, "VideoCapture", lambda index: real(str(clip_file)))
    code, out, err = run(["--quiet", "segment", "--webcam", 0, "--max-frames", 2], capsys)
    assert code == 0, err
    assert "2 frames" in out


def test_scene_command_writes_image_and_truth(capsys, tmp_path):
    image, truth = tmp_path / "s.png", tmp_path / "s.json"
    code, out, _ = run(["scene", "--seed", 5, "--out", image, "--truth", truth], capsys)
    assert code == 0
    scene = make_scene(5)
    np.testing.assert_array_equal(cv2.imread(str(image)), scene.image)
    objects = json.loads(truth.read_text())["objects"]
    assert len(objects) == len(scene.class_ids)


def write(path, data: bytes):
    path.write_bytes(data)
    return path


BAD_INPUTS = {
    "missing": (lambda d: d / "nope.png", ["does not exist"]),
    "directory": (lambda d: d, ["is a directory"]),
    "empty": (lambda d: write(d / "e.png", b""), ["empty"]),
    "garbage": (lambda d: write(d / "g.png", b"12345"), ["cannot decode"]),
    "video": (lambda d: write(d / "v.avi", b"RIFF" + bytes(64)), ["video"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_fail_cleanly(capsys, tmp_path, case):
    make, words = BAD_INPUTS[case]
    folder = tmp_path / "in"
    folder.mkdir()
    source = make(folder)
    out = tmp_path / "out.png"
    code, _, err = run(["segment", source, "--out", out], capsys)
    assert_clean_error(code, err, *words)
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--conf", "1.5"], ["--conf", "between 0 and 1"]),
        (["--mask-threshold", "-0.1"], ["--mask-threshold", "between 0 and 1"]),
        (["--conf", "abc"], ["not a number"]),
        (["--model", "yolo"], ["unknown model", "coco, shapes"]),
        (["--model", "coco"], ["not available", "fetch coco"]),
        (["--out", "/nonexistent-dir/a.png"], ["does not exist"]),
        (["--mask-branch", "fast"], ["--mask-branch", "invalid choice", "full", "kept"]),
        (["--mask-branch", "KEPT"], ["--mask-branch", "invalid choice"]),
        (["--mask-branch", ""], ["--mask-branch", "invalid choice"]),
        (["--mask-branch"], ["--mask-branch", "expected one argument"]),
    ],
)
def test_bad_options_fail_cleanly(capsys, tmp_path, scene_file, extra, words):
    code, _, err = run(["segment", scene_file, *extra], capsys)
    assert_clean_error(code, err, *words)


def test_unwritable_output_leaves_nothing(capsys, tmp_path, scene_file, monkeypatch):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # root ignores folder modes, so simulate a read-only folder where the check asks
    monkeypatch.setattr(os, "access", lambda p, mode: p != locked and real_access(p, mode))
    code, _, err = run(["segment", scene_file, "--json", locked / "a.json"], capsys)
    assert_clean_error(code, err, "not writable")
    assert list(locked.iterdir()) == []


def test_output_that_is_a_directory_is_refused(capsys, tmp_path, scene_file):
    code, _, err = run(["segment", scene_file, "--out", tmp_path], capsys)
    assert_clean_error(code, err, "is a directory")


def test_corrupt_model_files_fail_cleanly(capsys, scene_file, empty_model_cache):
    from maskrcnn_tutorial.models import coco_spec

    spec = coco_spec()
    spec.weights.parent.mkdir(parents=True)
    spec.weights.write_bytes(b"not a protobuf")
    spec.config.write_text("node { this is not a graph")
    code, _, err = run(["segment", scene_file, "--model", "coco"], capsys)
    assert_clean_error(code, err, "corrupt", "fetch")


def test_raw_is_refused_for_a_video(capsys, tmp_path, clip_file):
    code, _, err = run(["segment", clip_file, "--raw", tmp_path / "r.npz"], capsys)
    assert_clean_error(code, err, "--raw")
    assert not (tmp_path / "r.npz").exists()


def test_input_and_webcam_are_exclusive(capsys, scene_file):
    code, _, err = run(["segment"], capsys)
    assert_clean_error(code, err, "--webcam")
    code, _, err = run(["segment", scene_file, "--webcam", "0"], capsys)
    assert_clean_error(code, err, "--webcam")


def test_fetch_from_a_missing_tarball(capsys, tmp_path, empty_model_cache):
    code, _, err = run(["fetch", "coco", "--from", tmp_path / "nothere.tar.gz"], capsys)
    assert_clean_error(code, err)
    assert list(empty_model_cache.iterdir()) == []


def test_python_dash_m_has_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "maskrcnn_tutorial", "segment", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


@pytest.mark.parametrize("size", ["big", "10", "800x", "-1"])
def test_segment_refuses_a_bad_input_size_before_work(size, capsys, tmp_path, scene_file):
    out = tmp_path / "o.png"
    code, _, err = run(["segment", scene_file, "--input-size", size, "--out", out], capsys)
    assert_clean_error(code, err, "--input-size", "native, asis, N")
    assert not out.exists()


def test_segment_with_an_input_size_writes_the_picture(capsys, tmp_path, scene_file):
    out_json = tmp_path / "o.json"
    args = ["segment", scene_file, "--input-size", "asis", "--json", out_json]
    code, _, err = run(args, capsys)
    assert code == 0, err
    assert json.loads(out_json.read_text())["detections"]


@pytest.mark.parametrize("args", [["--help"], ["--steps", "1"]])
def test_the_training_command_without_torch_says_how_to_install_it(args, tmp_path):
    blocked = "import sys; sys.modules['torch'] = None; "  # as if torch were not installed
    run_main = "from maskrcnn_tutorial.training.__main__ import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", blocked + run_main, *args, "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in done.stderr
    if args == ["--help"]:
        assert done.returncode == 0 and "--replace-shipped" in done.stdout
    else:
        assert_clean_error(
            done.returncode, done.stderr, "needs PyTorch", "pip install -e '.[train]'"
        )
        assert not (tmp_path / "w").exists()


def test_models_does_not_call_junk_coco_files_available(capsys, empty_model_cache):
    from maskrcnn_tutorial.models import coco_spec

    spec = coco_spec()
    spec.weights.parent.mkdir(parents=True)
    spec.weights.write_bytes(b"junk")
    spec.config.write_text("junk")
    code, out, _ = run(["models"], capsys)
    coco = next(line for line in out.splitlines() if line[2:].startswith("coco"))
    assert code == 0 and "unverified" in coco and "available" not in coco
    assert "not the published file" in out
