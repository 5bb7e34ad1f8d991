import numpy as np

from maskrcnn_tutorial import pipeline
from maskrcnn_tutorial.models import load_model
from maskrcnn_tutorial.pipeline import segment, segment_frames
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic.scenes import make_clip

from .conftest import make_raw


def test_segment_matches_its_parts_and_times_them():
    model = load_model("shapes")
    frame = make_clip(1_000_321, 1)[0].image
    result = segment(model, frame, conf_threshold=0.3, colors="instance")
    again = postprocess(result.raw, labels=model.labels, conf_threshold=0.3)
    assert len(result.detections) == len(again)
    np.testing.assert_array_equal(result.detections.boxes, again.boxes)
    assert result.annotated.shape == (512, 512, 3) == (frame.shape[0] * 2, frame.shape[1] * 2, 3)
    assert result.timing_ms["forward"] == result.raw.time_ms


def test_segment_times_each_stage_between_its_clock_readings(monkeypatch):
    model = load_model("shapes")
    frame = make_clip(1_000_321, 1)[0].image
    clock = iter([10.0, 10.25, 10.75])  # after the forward pass, after postprocess, after draw
    monkeypatch.setattr(pipeline.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(
        model, "forward", lambda image, **_: make_raw([], image_shape=image.shape[:2])
    )
    result = pipeline.segment(model, frame)
    assert result.timing_ms == {"forward": 1.0, "postprocess": 250.0, "draw": 500.0}


def test_segment_frames_yields_one_result_per_frame():
    model = load_model("shapes")
    frames = [scene.image for scene in make_clip(1_000_322, 3)]
    results = list(segment_frames(model, frames, total=3, progress=False))
    assert len(results) == 3
    assert [r.annotated.shape[:2] for r in results] == [(512, 512)] * 3  # upscaled to read
