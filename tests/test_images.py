import os

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.images import read_image, to_bgr8, write_image


def test_to_bgr8_conversions():
    assert to_bgr8(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert to_bgr8(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5, 3)
    bgra = np.zeros((4, 5, 4), np.uint8)
    bgra[..., 2] = 200
    assert to_bgr8(bgra)[0, 0].tolist() == [0, 0, 200]
    assert to_bgr8(np.full((2, 2, 3), 65535, np.uint16)).max() == 255
    assert to_bgr8(np.full((2, 2, 3), 0.5, np.float32)).max() == 127
    with pytest.raises(UserError, match="empty"):
        to_bgr8(np.zeros((0, 3, 3), np.uint8))


def test_round_trip_and_16_bit_png(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), image)
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((8, 8), 65535, np.uint16))
    assert read_image(tmp_path / "deep.png").shape == (8, 8, 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"not an image at all"), "cannot decode"),
    ],
)
def test_bad_images_are_named(tmp_path, make, message):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(UserError, match=message):
        read_image(path)


def test_truncated_jpeg_is_refused(tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", image)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data.tobytes()[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        read_image(path)


def test_write_refuses_bad_destinations(tmp_path):
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(UserError, match="does not exist"):
        write_image(tmp_path / "missing" / "a.png", image)
    with pytest.raises(UserError, match="directory"):
        write_image(tmp_path, image)
    with pytest.raises(UserError, match="cannot encode"):
        write_image(tmp_path / "a.unknown", image)
    assert os.listdir(tmp_path) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]
