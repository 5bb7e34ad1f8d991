import numpy as np
import pytest

from maskrcnn_tutorial import pipeline
from maskrcnn_tutorial.draw import annotate, upscale
from maskrcnn_tutorial.models import load_model
from maskrcnn_tutorial.pipeline import segment, segment_frames
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic.scenes import make_clip

from .conftest import make_raw


@pytest.fixture(scope="module")
def shapes(shapes_model):
    return shapes_model


def test_segment_matches_its_parts_and_times_them(shapes):
    scene = make_clip(1_000_321, 1)[0]
    frame = scene.image
    result = segment(shapes, frame, conf_threshold=0.3, colors="instance")
    # the scene's four objects are found, each once, with their true classes
    assert sorted(result.detections.class_ids) == sorted(scene.class_ids), scene.labels
    again = postprocess(result.raw, labels=shapes.labels, conf_threshold=0.3)
    np.testing.assert_array_equal(result.detections.boxes, again.boxes)
    np.testing.assert_array_equal(result.detections.class_ids, again.class_ids)
    for got, want in zip(result.detections.box_masks, again.box_masks, strict=True):
        np.testing.assert_array_equal(got, want)
    drawn = annotate(frame, again, colors="instance")
    np.testing.assert_array_equal(result.annotated, drawn)
    assert result.annotated.shape == (512, 512, 3) == (frame.shape[0] * 2, frame.shape[1] * 2, 3)
    assert (result.annotated != upscale(frame, 2)).any(axis=2).mean() > 0.05  # objects drawn
    assert result.timing_ms["forward"] == result.raw.time_ms


def test_segment_times_each_stage_between_its_clock_readings(monkeypatch):
    model = load_model("shapes")  # its own: forward is replaced below
    frame = make_clip(1_000_321, 1)[0].image
    clock = iter([10.0, 10.25, 10.75])  # after the forward pass, after postprocess, after draw
    monkeypatch.setattr(pipeline.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(
        model, "forward", lambda image, **_: make_raw([], image_shape=image.shape[:2])
    )
    result = pipeline.segment(model, frame)
    assert result.timing_ms == {"forward": 1.0, "postprocess": 250.0, "draw": 500.0}


def test_segment_frames_yields_one_result_per_frame(shapes):
    scenes = make_clip(1_000_322, 3)
    results = list(segment_frames(shapes, [s.image for s in scenes], total=3, progress=False))
    assert len(results) == 3
    for scene, result in zip(scenes, results, strict=True):
        alone = segment(shapes, scene.image)
        assert len(result.detections) >= 3  # (one of five overlapping objects may be missed)
        assert set(result.detections.class_ids) <= set(scene.class_ids)
        np.testing.assert_array_equal(result.detections.boxes, alone.detections.boxes)
        np.testing.assert_array_equal(result.annotated, alone.annotated)
    assert [r.annotated.shape[:2] for r in results] == [(512, 512)] * 3  # upscaled to read
