"""Reading, converting and writing images, with clear errors (files are written atomically)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import UserError
from .files import atomic_write_bytes, check_readable

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


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR uint8 (converting grey, BGRA and 16-bit files)."""
    path = check_readable(Path(path))
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"cannot decode {path}: not an image, or truncated; pass a PNG or JPEG")
    if data[:2].tobytes() == b"\xff\xd8" and JPEG_END not in data[-64:].tobytes():
        raise UserError(f"{path} is a truncated JPEG (no end marker); download or copy it again")
    return to_bgr8(image)


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
