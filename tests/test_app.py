"""The classroom app without a browser: build_app's widgets, uploads, and the `app` command."""

from __future__ import annotations

import html
from datetime import datetime, timezone

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.apps import app as classroom
from maskrcnn_tutorial.apps import server
from maskrcnn_tutorial.errors import UserError

from .conftest import make_raw

LABELS = ("zero", "one", "two")


class FakeModel:
    """Two detections (scores .9 and .6) on whatever image it is given; counts forward passes."""

    name = "shapes"
    labels = LABELS

    def __init__(self) -> None:
        self.calls = 0
        self.options: list[tuple[str, float]] = []

    def forward(self, image: np.ndarray, mask_branch: str = "full", conf_threshold: float = 0.5):
        self.calls += 1
        self.options.append((mask_branch, conf_threshold))
        masks = np.zeros((100, 3, 15, 15), np.float32)
        masks[0, 1] = np.linspace(0, 1, 15)[None, :]
        masks[1, 2] = 0.8
        rows = [[1, 0.9, 0.05, 0.1, 0.45, 0.8], [2, 0.6, 0.5, 0.2, 0.95, 0.9]]
        raw = make_raw(rows, masks, image_shape=image.shape[:2])
        raw.features = np.zeros((1, 4, 8, 8), np.float32)
        return raw

    def box_masks(self, raw, boxes):
        """A mask that lights the left part of any box, stronger for wider boxes."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        masks = np.zeros((len(boxes), 3, 15, 15), np.float32)
        for k, (left, _, right, _) in enumerate(boxes):
            masks[k, :, :, : 1 + (right - left) % 14] = 1.0
        return masks


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


@pytest.fixture
def model():
    return FakeModel()


@pytest.fixture
def app(model):
    return classroom.build_app(model)


def test_decode_upload_reads_pictures_as_bgr():
    grey = np.arange(60, dtype=np.uint8).reshape(6, 10)
    image = classroom.decode_upload(png(grey), "grey.png")
    assert image.shape == (6, 10, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[..., 0], grey)


def test_decode_upload_scales_big_pictures_down():
    image = classroom.decode_upload(png(np.zeros((3000, 1500, 3), np.uint8)))
    assert image.shape == (classroom.MAX_SIDE, classroom.MAX_SIDE // 2, 3)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"hello, not a picture", "cannot read notes.txt"),
        (b"\x89PNG\r\n", "cannot read"),
    ],
)
def test_decode_upload_rejects_what_is_not_a_picture(content, expected):
    with pytest.raises(UserError, match=expected):
        classroom.decode_upload(content, "notes.txt")


def test_app_shows_the_first_sample_with_every_slider(app, model):
    assert model.calls == 1
    assert "scene" in app.image_name and app.image_name in app.status.value
    assert set(app.explorer.settings()) >= {"conf_threshold", "mask_threshold", "alpha"}
    assert bytes(app.explorer.view.value).startswith(b"\x89PNG")
    (row,) = app.explorer_area.children  # the picture, its sliders beside it
    assert row.children[0] is app.explorer.view
    assert row.children[1].children[: len(app.explorer.controls)] == app.explorer.controls
    # the mask browser lists the detections above the confidence threshold
    assert [value for _, value in app.browser.detection.options] == [0, 1]


def test_sliders_redraw_without_a_forward_pass(app, model):
    app.reveal.value = True
    first = bytes(app.explorer.view.value)
    app.explorer.mask_threshold.value = 0.95
    assert bytes(app.explorer.view.value) != first
    app.explorer.conf_threshold.value = 0.7
    assert [value for _, value in app.browser.detection.options] == [0]
    assert model.calls == 1


def test_choosing_a_sample_keeps_the_slider_positions(app, model):
    app.explorer.alpha.value = 0.2
    first = app.image_name
    app.sample.value = 1
    assert model.calls == 2 and app.image_name != first
    assert app.explorer.alpha.value == 0.2


def upload_entry(name: str, content: bytes) -> dict:
    return {
        "name": name,
        "type": "image/png",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.now(timezone.utc),
    }


def test_an_uploaded_picture_is_segmented_and_shown(app, model):
    picture = np.full((120, 160, 3), 200, np.uint8)
    app.upload.value = (upload_entry("mine.png", png(picture)),)
    assert model.calls == 2
    assert app.image_name == "mine.png" and "160x120" in app.status.value
    assert "five synthetic shapes" in app.status.value  # the shapes model warns about photos
    app.reveal.value = True  # the warning stays while the photo is shown
    assert "five synthetic shapes" in app.status.value
    shown = cv2.imdecode(np.frombuffer(bytes(app.explorer.view.value), np.uint8), 1)
    assert shown.shape == (480, 640, 3)  # drawn 4x larger so the tags are legible
    assert app.sample.value is None  # no longer one of the samples
    app.sample.value = 0  # and the samples are still there
    assert model.calls == 3 and "scene" in app.image_name


def test_a_bad_upload_shows_a_message_and_keeps_the_picture(app, model):
    before = bytes(app.explorer.view.value)
    app.upload.value = (upload_entry("notes.txt", b"not a picture"),)
    assert "app-error" in app.status.value and "cannot read notes.txt" in app.status.value
    assert bytes(app.explorer.view.value) == before and model.calls == 1


def test_build_app_loads_the_default_model():
    app = classroom.build_app()
    assert app.model.name == "shapes"  # the test model cache is empty
    assert app.labels
    bundle = app._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.widget.model_id


def test_build_app_model_from_the_environment(monkeypatch):
    monkeypatch.setenv(server.MODEL_ENV, "coco")
    with pytest.raises(UserError, match="fetch coco"):
        classroom.build_app()


def test_first_screen_says_what_to_do_first_as_the_workshop_guide_does(app):
    from pathlib import Path

    header = app.widget.children[0].value
    assert "First:" in header
    # the domain-shift warning waits for a photo: before an upload it is nowhere on the page
    assert "five synthetic shapes" not in header + app.status.value
    guide = Path(__file__).resolve().parents[1] / "notebooks" / "WORKSHOP.md"
    text = " ".join(guide.read_text().split())
    assert classroom.FIRST_STEP in text


def test_the_app_runs_the_mask_branch_for_every_row_with_a_score(model, monkeypatch):
    monkeypatch.delenv(server.MASK_BRANCH_ENV, raising=False)
    app = classroom.build_app(model)
    # kept at confidence 0: every slider position finds its masks, nothing else is computed
    assert model.options == [("kept", 0.0)]
    app.explorer.conf_threshold.value = 0.0
    classroom.build_app(model, mask_branch="full")
    assert model.options[-1] == ("full", 0.0)
    monkeypatch.setenv(server.MASK_BRANCH_ENV, "full")  # what `maskrcnn-tutorial app` sets
    classroom.build_app(model)
    assert model.options[-1] == ("full", 0.0)


def test_the_box_probe_asks_the_mask_head_without_a_forward_pass(app, model):
    calls = model.calls
    probe = app.probe
    assert probe.start.value == 0 and probe.class_id.value == 1  # the first detection
    before = probe.view.value
    probe.width.value = probe.width.value - 3
    assert probe.view.value != before and model.calls == calls
    app.show_sample(1)
    assert app.probe is not probe and app.probe_area.children == (app.probe.widget,)


def pgm_declaring(width: int, height: int) -> bytes:
    return f"P5\n{width} {height}\n255\n".encode() + bytes(100)


#: Hostile uploads (issue 20): each is either shown or one red line naming the file, never a
#: traceback in the page; ``None`` expects the picture shown.
HOSTILE_UPLOADS = {
    "1 px wide": (png(np.full((300, 1, 3), 90, np.uint8)), None),
    "1 px high": (png(np.full((1, 300, 3), 90, np.uint8)), None),
    "1 x 1": (png(np.full((1, 1, 3), 90, np.uint8)), None),
    "16-bit grey": (png(np.full((200, 300), 40000, np.uint16)), None),
    "PGM declaring 60000 x 60000": (pgm_declaring(60000, 60000), "declares more than"),
    "PGM declaring 9000 x 9000": (pgm_declaring(9000, 9000), "more than 40 megapixels"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_UPLOADS))
def test_hostile_uploads_are_shown_or_one_red_line(app, model, case):
    content, words = HOSTILE_UPLOADS[case]
    app.upload.value = (upload_entry("up.img", content),)
    assert "Traceback" not in app.status.value and not app.errors.outputs
    if words is None:
        assert model.calls == 2 and app.image_name == "up.img", app.status.value
        height, width = app.probe.image.shape[:2]
        left, top, right, bottom = app.probe.box  # at the first detection, inside the picture
        assert 0 <= left <= right < width and 0 <= top <= bottom < height
        app.probe.start.value = -1  # and it covers the whole picture, however thin
        assert app.probe.box == (0, 0, width - 1, height - 1)
    else:
        assert "app-error" in app.status.value and words in app.status.value
        assert "up.img" in app.status.value and model.calls == 1


def test_a_thin_upload_with_a_large_input_size_keeps_the_blob_bounded():
    from maskrcnn_tutorial import models
    from maskrcnn_tutorial.inference import MAX_BLOB_SIDE

    model = models.load_model("shapes", input_size=800)  # as the README suggests for coco
    shown = classroom.build_app(model)
    shown.upload.value = (upload_entry("thin.png", png(np.full((3, 1024, 3), 90, np.uint8))),)
    assert shown.image_name == "thin.png", shown.status.value
    # 800 on the short side would be 273067 x 800 (5.7 GB of kernel memory); bounded instead
    assert shown.raw.blob_shape == (1, 3, 12, MAX_BLOB_SIDE)


def decoded(app) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(bytes(app.explorer.view.value), np.uint8), 1)


def test_the_detections_are_hidden_until_asked_for_each_new_picture(app, model):
    """Students count the objects first: the picture alone, then the detections on request."""
    hidden = decoded(app)
    plain = cv2.resize(app.explorer.image, hidden.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(hidden, plain)  # no mask, box or tag drawn
    status = html.unescape(app.status.value)
    assert "count the objects, then press 'show the detections'" in status
    assert "found" not in status  # no count while the students count
    app.reveal.value = True
    assert np.any(decoded(app) != hidden) and "press" not in app.status.value
    assert model.calls == 1  # revealing runs no network
    app.sample.value = 1
    assert app.reveal.value is False and "press 'show the" in html.unescape(app.status.value)


def test_the_status_line_says_what_was_found_in_a_learners_words(app):
    assert "the network ran once" in app.status.value
    app.reveal.value = True
    assert "found 2 objects scoring above 0.50" in app.status.value  # FakeModel: .9 and .6
    app.explorer.conf_threshold.value = 0.7
    assert "found 1 object scoring above 0.70" in app.status.value
    assert "mask branch" not in app.status.value and "rows" not in app.status.value
