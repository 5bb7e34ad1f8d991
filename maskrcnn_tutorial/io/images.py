"""Reading, converting and writing images, with clear errors (files are written atomically)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import atomic_write_bytes, check_readable
from maskrcnn_tutorial.io.quiet import native_stderr_silenced

JPEG_END = b"\xff\xd9"
#: Largest picture decoded, in pixels, as its header declares them (checked before decoding,
#: on the command line, in the app and by :func:`read_image`): a 69-byte PNG can declare
#: 65535 x 65535 pixels and ask for gigabytes once decoded.
MAX_PIXELS = 40_000_000


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any image OpenCV can hold as 3-channel 8-bit BGR: grey, BGRA, 16-bit and float convert.

    16-bit values are scaled by 1/257 (so 65535 becomes 255); float images are taken as 0..1
    when their maximum is at most 1, else as 0..255. Alpha is dropped.
    """
    image = np.asarray(image)
    if image.size == 0:
        raise UserError("the image is empty (0 pixels); pass a picture with content")
    if image.dtype == np.uint16:  # one 8-bit copy (no wider intermediate): 65535 -> 255
        image = cv2.convertScaleAbs(image, alpha=255.0 / 65535.0)
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


def check_image(image: object, name: str = "image") -> np.ndarray:
    """``image`` as the network takes it (BGR uint8), checked where a picture enters the Python
    API: grey, BGRA and 16-bit pictures convert (:func:`to_bgr8`); anything else is a
    :class:`UserError` in words, not a traceback from OpenCV.

    Floating-point pictures are refused: 0..1 and 0..255 cannot be told apart for certain, and
    the network reads 0..255.
    """
    if image is None:
        raise UserError(
            f"{name} is None (cv2.imread returns None for a file it cannot read); check the "
            "path, or read it with maskrcnn_tutorial.io.images.read_image, which says why"
        )
    array = np.asarray(image) if not isinstance(image, np.ndarray) else image
    if array.dtype.kind == "f":
        raise UserError(
            f"{name} holds {array.dtype} values; the network reads 8-bit pixels 0..255: pass "
            "(image * 255).astype(np.uint8) for values in 0..1"
        )
    channels = array.shape[2] if array.ndim == 3 else 1
    if (
        array.dtype not in (np.uint8, np.uint16)
        or array.ndim not in (2, 3)
        or channels
        not in (
            1,
            3,
            4,
        )
    ):
        raise UserError(
            f"{name} is a {array.dtype} array of shape {array.shape}; pass a picture: "
            "(height, width, 3) uint8 BGR, as cv2.imread returns (grey and BGRA convert)"
        )
    return to_bgr8(array)


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


@dataclass(frozen=True)
class ImageHeader:
    """What a picture's header declares, read without decoding its pixels."""

    width: int
    height: int
    frames: int = 1
    """More than 1 for an animated GIF, WebP or PNG (only the first frame is used)."""
    format: str = ""
    """Pillow's name of the format (``PNG``, ``JPEG``...)."""


def image_header(data: bytes, name: str = "the picture") -> ImageHeader | None:
    """Size and frame count as the file's header declares them, read by Pillow without decoding
    any pixel; None for a format Pillow does not know or a header too damaged to read.

    A header declaring more pixels than Pillow opens at all (its decompression-bomb limit,
    about 179 megapixels) is a :class:`UserError` naming ``name``.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
                frames = int(getattr(picture, "n_frames", 1) or 1)
                return ImageHeader(width, height, frames, picture.format or "")
    except Image.DecompressionBombError:
        raise UserError(
            f"{name} declares more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; "
            "pass a smaller picture"
        ) from None
    except Exception:  # any damaged or unknown header: OpenCV decides below
        return None


#: Formats (Pillow's names) OpenCV decodes straight to 8-bit BGR without losing anything
#: ``to_bgr8`` would keep (16-bit PNGs are narrowed to their high byte).
EIGHT_BIT_DECODES = frozenset({"PNG", "JPEG", "GIF", "BMP", "WEBP", "PPM"})


def decode_image(data: bytes, name: str, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """A file's bytes as a BGR uint8 image, upright: the one decoding function of the command
    line (:func:`read_image`) and the app.

    The EXIF orientation is applied (phone photos come out upright); grey, 16-bit and BGRA files
    convert (:func:`to_bgr8`). ``max_pixels`` (default :data:`MAX_PIXELS`; ``None``: OpenCV's own
    limit only) refuses a picture whose header declares more pixels, before decoding it.
    Anything else is a :class:`UserError` naming ``name``.
    """
    if len(data) == 0:
        raise UserError(f"{name} is empty (0 bytes); pass a PNG or JPEG picture")
    header = image_header(data, name)
    if max_pixels is not None and header is not None:
        check_pixels(name, header.width, header.height, max_pixels)
    buffer = np.frombuffer(data, np.uint8)
    # any flag but IMREAD_UNCHANGED applies the EXIF orientation. The 8-bit formats decode
    # straight to 8-bit BGR (a 16-bit PNG is narrowed by the decoder, one buffer: no 16-bit
    # copy); the others keep depth and grey for to_bgr8 (float EXR/HDR scaled by their range)
    eight_bit = header is not None and header.format in EIGHT_BIT_DECODES
    flags = cv2.IMREAD_COLOR if eight_bit else cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
    try:
        with native_stderr_silenced():
            image = cv2.imdecode(buffer, flags)
    except cv2.error:  # OpenCV's own limits (a header declaring 60000 x 60000), out of memory
        raise UserError(
            f"cannot read {name}: its header declares a picture too large to decode (or it is "
            "damaged); pass a smaller picture"
        ) from None
    if image is None:
        raise UserError(f"cannot read {name}: not a picture, or damaged; pass a PNG or JPEG")
    if max_pixels is not None:
        check_pixels(name, image.shape[1], image.shape[0], max_pixels)
    if data[:2] == b"\xff\xd8" and JPEG_END not in data[-64:]:
        raise UserError(f"{name} is a truncated JPEG (no end marker); download or copy it again")
    return to_bgr8(image)


def check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    """A :class:`UserError` when a ``width`` x ``height`` picture has over ``max_pixels``."""
    if width * height > max_pixels:
        raise UserError(
            f"{name} is {width}x{height} pixels, more than {max_pixels / 1e6:.0f} megapixels; "
            "pass a smaller picture"
        )


def read_image(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
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
