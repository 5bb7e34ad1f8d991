"""The ``coco`` path end to end, on the stand-in of the real network installed as ``coco``.

The real weights cannot be downloaded here, so the stand-in (the real text graph with generated
weights of the real names and shapes) goes through the same install command a user runs,
``fetch coco --from TARBALL --config PBTXT``, with a checksum table made for it, and then
everything a user does on ``coco`` runs on it: the command line, the app, input sizes.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.apps import app as classroom
from maskrcnn_tutorial.apps.cli import main
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.models.fetch import fetch_coco, sha1_file
from maskrcnn_tutorial.models.standin import GRAPH_NAME, WEIGHTS_NAME
from maskrcnn_tutorial.synthetic import samples


@pytest.fixture
def on_coco(coco_cache, monkeypatch) -> Path:
    monkeypatch.setenv(models.CACHE_ENV, str(coco_cache))
    return coco_cache


def test_fetch_from_tarball_installs_the_standin_as_coco(standin, on_coco):
    spec = models.coco_spec()
    assert spec.available and models.default_model_name() == "coco"
    assert sha1_file(spec.weights) == sha1_file(standin / WEIGHTS_NAME)
    assert spec.config.read_bytes() == (standin / GRAPH_NAME).read_bytes()
    assert sorted(p.name for p in spec.weights.parent.iterdir()) == sorted(
        [WEIGHTS_NAME, GRAPH_NAME]
    )


def test_the_shipped_checksums_refuse_the_standin(standin, tarball, tmp_path):
    with pytest.raises(UserError, match="checksum|sha1"):
        fetch_coco(tmp_path, tarball=tarball, config=standin / GRAPH_NAME, progress=False)
    assert not models.coco_spec(tmp_path).available
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "fruits.png"
    cv2.imwrite(str(path), cv2.resize(samples.PHOTOS["fruits"](), (480, 360)))
    return path


def test_segment_image_on_coco_writes_picture_json_and_raw(on_coco, photo, tmp_path, capsys):
    out_png, out_json, out_raw = tmp_path / "a.png", tmp_path / "a.json", tmp_path / "a.npz"
    args = ["--quiet", "segment", photo, "--out", out_png, "--json", out_json, "--raw", out_raw]
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    assert "shapes" not in capsys.readouterr().err  # no "using the embedded model" notice
    record = json.loads(out_json.read_text())
    assert record["model"] == "coco"
    detections = record["detections"]
    assert len(detections) >= 20
    labels = {d["label"] for d in detections}
    assert labels <= set(models.coco_spec().labels) and len(labels) >= 2
    raw = np.load(out_raw)
    assert raw[names.DETECTION_OUT_FINAL].shape == (1, 1, 100, 7)
    assert raw[names.DETECTION_MASKS].shape == (100, 90, 15, 15)
    assert cv2.imread(str(out_png)) is not None


def test_segment_video_on_coco(on_coco, tmp_path, capsys):
    clip = tmp_path / "clip.avi"
    source = cv2.VideoCapture(str(samples.PEDESTRIAN_CLIP))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (192, 144))
    for _ in range(3):
        ok, frame = source.read()
        assert ok
        writer.write(cv2.resize(frame, (192, 144)))
    writer.release()
    out_avi, out_json = tmp_path / "o.avi", tmp_path / "o.json"
    args = ["--quiet", "segment", clip, "--out", out_avi, "--json", out_json]
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    assert "3 frames" in capsys.readouterr().out
    assert int(cv2.VideoCapture(str(out_avi)).get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    record = json.loads(out_json.read_text())
    assert record["model"] == "coco" and len(record["frames"]) == 3
    assert all(frame["detections"] for frame in record["frames"])


def test_app_on_coco_segments_the_first_sample(on_coco):
    app = classroom.build_app()
    assert app.model.name == "coco"
    assert bytes(app.explorer.view.value).startswith(b"\x89PNG")
    assert len(app.browser.detection.options) >= 10
    header = app.widget.children[0].value
    assert "not the published file" in header  # the stand-in never passes for the real model


@pytest.mark.parametrize(
    ("size", "expected"),
    [(None, (360, 480)), ("asis", (360, 480)), (600, (600, 800)), ((800, 800), (800, 800))],
)
def test_input_size_choices_on_coco(on_coco, photo, size, expected):
    model = models.load_model("coco", input_size=size)
    image = cv2.imread(str(photo))
    raw = model.forward(image)
    assert raw.blob_shape == (1, 3, *expected)
    assert raw.image_shape == image.shape[:2]  # boxes stay normalised to the photo
    assert raw.detection_out_final.shape == (1, 1, 100, 7)


def test_the_standin_is_never_taken_for_the_real_model(on_coco, capsys, photo, tmp_path):
    model = models.load_model("coco")
    assert models.UNPUBLISHED_COCO in model.notices
    assert main(["--quiet", "segment", str(photo), "--json", str(tmp_path / "a.json")]) == 0
    assert "not the published file" in capsys.readouterr().err
    assert models.load_model("shapes").notices == []
