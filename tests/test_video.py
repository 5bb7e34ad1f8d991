import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io import video


def write_clip(path, frames=5, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), 20 * k, np.uint8))
    writer.release()
    return path


def test_video_file_yields_every_frame(tmp_path):
    source = video.open_source(write_clip(tmp_path / "clip.avi"))
    frames = list(source)
    assert source.kind == "video" and source.is_video
    assert source.fps == pytest.approx(10.0)
    assert len(frames) == 5 == source.frame_count
    assert frames[0].shape == (48, 64, 3)


def test_image_is_a_one_frame_source(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((8, 9, 3), np.uint8))
    source = video.open_source(path)
    assert not source.is_video
    assert [f.shape for f in source] == [(8, 9, 3)]


def test_webcam_goes_through_the_capture_path(tmp_path, monkeypatch):
    clip = write_clip(tmp_path / "camera.avi", frames=3)
    opened = []
    real_capture = cv2.VideoCapture

    def fake_capture(target):
        opened.append(target)
        return real_capture(str(clip))

    monkeypatch.setattr(video.cv2, "VideoCapture", fake_capture)
    source = video.open_source(webcam=0)
    assert opened == [0]
    assert source.kind == "webcam" and source.frame_count == 0
    assert len(list(source)) == 3


def test_missing_camera_is_a_clear_error():
    with pytest.raises(UserError, match="cannot open camera 99"):
        video.open_source(webcam=99)


def test_unreadable_video_is_refused(tmp_path):
    path = tmp_path / "broken.avi"
    path.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(UserError, match="cannot decode .*broken.avi: not an image, nor a video"):
        video.open_source(path)


def test_writer_moves_the_file_into_place(tmp_path):
    out = tmp_path / "out.avi"
    with video.VideoWriter(out, 10.0, (24, 32)) as writer:
        for _ in range(4):
            writer.write(np.zeros((24, 32, 3), np.uint8))
        assert not out.exists()  # still a temporary file
    assert len(list(video.open_source(out))) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["out.avi"]


def test_writer_discards_on_error(tmp_path):
    with pytest.raises(RuntimeError), video.VideoWriter(tmp_path / "o.avi", 10.0, (8, 8)) as w:
        w.write(np.zeros((8, 8, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_unknown_containers(tmp_path):
    with pytest.raises(UserError, match="cannot write video"):
        video.VideoWriter(tmp_path / "o.gif", 10.0, (8, 8))
