"""Reading, converting and writing images, with clear errors (files are written atomically)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import atomic_write_bytes, check_readable
from maskrcnn_tutorial.io.quiet import native_stderr_silenced

JPEG_END = b"\xff\xd9"


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any image OpenCV can hold as 3-channel 8-bit BGR: grey, BGRA, 16-bit and float convert.

    16-bit values are scaled by 1/257 (so 65535 becomes 255); float images are taken as 0..1
    when their maximum is at most 1, else as 0..255. Alpha is dropped.
    """
    image = np.asarray(image)
    if image.size == 0:
        raise UserError("the image is empty (0 pixels); pass a picture with content")
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif image.dtype.kind == "f":
        scale = 255.0 if float(np.nanmax(image)) <= 1.0 else 1.0
        image = np.clip(np.nan_to_num(image) * scale, 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise UserError(f"unsupported image shape {image.shape}; pass a grey, BGR or BGRA image")


#: First bytes of the still-image formats OpenCV decodes (WebP and AVIF are checked apart).
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"\x76\x2f\x31\x01": "OpenEXR",
    b"#?RADIANCE": "HDR",
    b"#?RGBE": "HDR",
    b"\x59\xa6\x6a\x95": "Sun raster",
    b"\x00\x00\x00\x0cjP  ": "JPEG 2000",
    b"\xff\x4f\xff\x51": "JPEG 2000",
    **{f"P{k}".encode(): "PNM" for k in range(1, 8)},
}


def image_format(head: bytes) -> str | None:
    """The image format whose signature starts ``head`` (a file's first 16 bytes), or None
    (a video, or not an image at all): files are recognised by content, not by extension."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return "AVIF"
    for signature, name in SIGNATURES.items():
        if head.startswith(signature) and (name != "PNM" or head[2:3].isspace()):
            return name
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as a PNG, JPEG, GIF, BMP or WebP header declares it, read without
    decoding; None for other formats or a header too damaged to read."""
    try:
        kind = image_format(data[:16])
        if kind == "PNG" and data[12:16] == b"IHDR":
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if kind == "GIF":
            return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
        if kind == "BMP":
            width = int.from_bytes(data[18:22], "little", signed=True)
            return abs(width), abs(int.from_bytes(data[22:26], "little", signed=True))
        if kind == "WebP":
            return _webp_size(data)
        if kind == "JPEG":
            return _jpeg_size(data)
    except (IndexError, ValueError):
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame marker (SOF0..SOF15 but DHT, JPG and DAC)."""
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(
                data[at + 5 : at + 7], "big"
            )
        at += 2 + length
    return None


def decode_image(data: bytes, name: str, max_pixels: int | None = None) -> np.ndarray:
    """A file's bytes as a BGR uint8 image, upright: the one decoding function of the command
    line (:func:`read_image`) and the app.

    The EXIF orientation is applied (phone photos come out upright); grey, 16-bit and BGRA files
    convert (:func:`to_bgr8`). ``max_pixels`` refuses a picture whose header declares more
    pixels, before decoding it. Anything else is a :class:`UserError` naming ``name``.
    """
    if len(data) == 0:
        raise UserError(f"{name} is empty (0 bytes); pass a PNG or JPEG picture")
    size = image_size(data)
    if max_pixels is not None and size is not None and size[0] * size[1] > max_pixels:
        raise UserError(
            f"{name} is {size[0]}x{size[1]} pixels, more than {max_pixels / 1e6:.0f} megapixels; "
            "pass a smaller picture"
        )
    buffer = np.frombuffer(data, np.uint8)
    # any flag but IMREAD_UNCHANGED applies the EXIF orientation; these keep depth and grey
    with native_stderr_silenced():
        image = cv2.imdecode(buffer, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise UserError(f"cannot read {name}: not a picture, or damaged; pass a PNG or JPEG")
    if max_pixels is not None and image.shape[0] * image.shape[1] > max_pixels:
        raise UserError(
            f"{name} has more than {max_pixels / 1e6:.0f} megapixels; pass a smaller one"
        )
    if data[:2] == b"\xff\xd8" and JPEG_END not in data[-64:]:
        raise UserError(f"{name} is a truncated JPEG (no end marker); download or copy it again")
    return to_bgr8(image)


def read_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as upright BGR uint8 (see :func:`decode_image`)."""
    path = check_readable(Path(path))
    return decode_image(path.read_bytes(), str(path), max_pixels)


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Encode ``image`` by the file's extension and write it atomically."""
    path = Path(path)
    ok, encoded = False, None
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise UserError(f"cannot encode an image as {path.suffix!r}; use .png or .jpg")
    return atomic_write_bytes(path, encoded.tobytes())
