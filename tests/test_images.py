import io
import os

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io import images
from maskrcnn_tutorial.io.images import read_image, to_bgr8, write_image


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
        (lambda p: p.write_bytes(b"not an image at all"), "cannot read"),
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
    with pytest.raises(UserError, match="cannot write .*keep.png: disk full"):
        write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def _pillow_bytes(array: np.ndarray, fmt: str, **options) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def _half_white(height: int = 10, width: int = 20) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = 255  # the left half is white
    return image


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("JPEG", {}), ("GIF", {}), ("BMP", {}), ("WEBP", {"lossless": True})],
)
def test_header_sizes_match_the_decoded_pictures(fmt, options):
    data = _pillow_bytes(_half_white(37, 53), fmt, **options)
    assert images.image_header(data) == images.ImageHeader(53, 37, frames=1, format=fmt)
    assert images.decode_image(data, "x").shape == (37, 53, 3)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(8), "PNG"),
        (b"\xff\xd8\xff\xe0" + bytes(12), "JPEG"),
        (b"GIF89a" + bytes(10), "GIF"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WebP"),
        (b"P6\n20 10\n255\n", "PNM"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),  # a video
        (b"\x00\x00\x00\x18ftypisom", None),  # an MP4 video
        (b"Pumpkin pie", None),
        (b"", None),
    ],
)
def test_formats_are_recognised_by_content(head, expected):
    assert images.image_format(head) == expected


def test_exif_orientation_is_applied_by_the_one_decoder(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = _pillow_bytes(_half_white(), "JPEG", exif=exif.tobytes())
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    upright = read_image(path)
    assert upright.shape == (20, 10, 3)  # was 10 high, 20 wide
    assert upright[2, 5].min() > 200 and upright[-3, 5].max() < 50  # white half now on top
    from maskrcnn_tutorial.apps import app

    np.testing.assert_array_equal(app.decode_upload(data, "phone.jpg"), upright)


def png_declaring(width: int, height: int, depth: int = 8) -> bytes:
    """A small PNG whose header (with a valid checksum) declares ``width`` x ``height``."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    idat = zlib.compress(bytes(10))
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_pictures_over_the_pixel_budget_are_refused_before_decoding(monkeypatch):
    data = png_declaring(30000, 1000)
    monkeypatch.setattr(images.cv2, "imdecode", lambda *a: pytest.fail("decoded anyway"))
    with pytest.raises(UserError, match="30000x1000 pixels, more than 20 megapixels"):
        images.decode_image(data, "huge.png", max_pixels=20_000_000)
    from maskrcnn_tutorial.apps import app

    with pytest.raises(UserError, match="megapixels"):
        app.decode_upload(png_declaring(9000, 9000), "huge.png")


#: Hostile pictures (issue 20): each is one UserError naming the file, never a traceback, and
#: none is decoded at the size it declares.
HOSTILE_PICTURES = {
    # 69 bytes declaring 65535 x 65535: over Pillow's own limit, refused from the header
    "png-65535": (png_declaring(65535, 65535), "declares more than"),
    # a PGM declaring 60000 x 60000 (OpenCV's limit raised cv2.error before)
    "pgm-60000": (b"P5\n60000 60000\n255\n" + bytes(100), "declares more than"),
    # under Pillow's limit, over ours: the size is named
    "png-9000": (png_declaring(9000, 9000), "9000x9000 pixels, more than 40 megapixels"),
    # a header that Pillow cannot read and OpenCV refuses
    "png-cut": (png_declaring(64, 64)[:30], "cannot read"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PICTURES))
def test_hostile_pictures_are_one_error_naming_them(tmp_path, case):
    data, words = HOSTILE_PICTURES[case]
    path = tmp_path / f"{case}.img"
    path.write_bytes(data)
    with pytest.raises(UserError, match=words) as caught:
        read_image(path)
    assert str(path) in str(caught.value)


def test_sixteen_bit_pictures_convert_without_wide_copies():
    import tracemalloc

    deep = np.random.default_rng(2).integers(0, 65536, (1000, 2000), dtype=np.uint16)
    tracemalloc.start()
    out = to_bgr8(deep)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the 8-bit grey copy (2 MB) and the BGR picture (6 MB); uint32 copies added 16 MB
    assert peak < 9 * 2**20, peak
    np.testing.assert_array_equal(out[..., 0], np.round(deep * (255 / 65535)).astype(np.uint8))
    assert to_bgr8(np.full((2, 2), 65535, np.uint16)).max() == 255


def test_a_16_bit_png_decodes_to_8_bits_in_the_decoder(monkeypatch):
    deep = np.random.default_rng(3).integers(0, 65536, (30, 40, 3), dtype=np.uint16)
    data = cv2.imencode(".png", deep)[1].tobytes()
    real, decoded_by_opencv = cv2.imdecode, []

    def imdecode(buffer, flags):
        decoded_by_opencv.append(real(buffer, flags))
        return decoded_by_opencv[-1]

    monkeypatch.setattr(images.cv2, "imdecode", imdecode)
    decoded = images.decode_image(data, "deep.png")
    assert decoded_by_opencv[0].dtype == np.uint8  # no 16-bit picture was ever in memory
    assert decoded.dtype == np.uint8 and decoded.shape == (30, 40, 3)
    assert np.abs(decoded.astype(int) - deep // 257).max() <= 1  # 65535 -> 255, as to_bgr8


def test_an_animated_gif_is_said_to_be_segmented_as_its_first_frame(tmp_path):
    from PIL import Image

    from maskrcnn_tutorial.io import video

    frames = [Image.fromarray(np.full((10, 20, 3), v, np.uint8)) for v in (0, 128, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert images.image_header(path.read_bytes()).frames == 3
    source = video.open_source(path)
    assert source.kind == "image" and next(iter(source)).shape == (10, 20, 3)
    assert source.notes == [f"{path} has 3 frames (an animation); only the first is segmented"]


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (None, "is None"),
        (np.zeros((4, 4, 3), np.float32), "float32 values"),
        (np.zeros((4, 4, 2), np.uint8), "shape (4, 4, 2)"),
        (np.zeros((4, 4, 3), np.int64), "int64 array"),
        ([[1, 2], [3, 4]], "int64 array"),
        ("scene.png", "shape ()"),
    ],
)
def test_pictures_given_to_the_api_are_checked_in_words(image, words):
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")):
        images.check_image(image)


def test_grey_and_bgra_pictures_convert_for_the_api():
    assert images.check_image(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert images.check_image(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("scene", None),  # a PNG without an extension
        ("still.gif", _pillow_bytes(_half_white(), "GIF")),
        ("picture.avi", None),  # a PNG with a video's extension
    ],
)
def test_images_are_opened_as_images_whatever_their_name(tmp_path, name, data):
    from maskrcnn_tutorial.io import video

    path = tmp_path / name
    path.write_bytes(data or _pillow_bytes(_half_white(), "PNG"))
    source = video.open_source(path)
    assert source.kind == "image" and not source.is_video
    assert next(iter(source)).shape == (10, 20, 3)
