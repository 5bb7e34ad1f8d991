"""Frame sources (image, video file, webcam) and an atomic video writer.

An image, a video file and a camera all look the same to the rest of the package: a
:class:`FrameSource` yields BGR frames. A camera is a ``cv2.VideoCapture`` opened by index, so
the camera path is the video-file path with another argument.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import UserError
from .files import check_readable, check_writable, temp_beside
from .images import read_image, to_bgr8

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
FOURCC = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}


@dataclass
class FrameSource:
    """Frames from an image, a video or a camera.

    ``frame_count`` is 1 for an image, the container's count for a video (may be approximate)
    and 0 (unknown) for a camera.
    """

    name: str
    kind: str
    fps: float
    frame_count: int
    _frames: Callable[[], Iterator[np.ndarray]] = field(repr=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames()

    @property
    def is_video(self) -> bool:
        return self.kind != "image"


def image_source(path: str | Path) -> FrameSource:
    """A one-frame source for an image file."""
    image = read_image(path)
    return FrameSource(str(path), "image", 0.0, 1, lambda: iter([image]))


def capture_source(target: str | int, kind: str, opener: Callable | None = None) -> FrameSource:
    """Frames from ``cv2.VideoCapture(target)``: a video file path or a camera index."""
    capture = (opener or cv2.VideoCapture)(target)
    if not capture.isOpened():
        capture.release()
        what = f"camera {target}" if kind == "webcam" else f"video {target}"
        fix = "check that it is connected and free" if kind == "webcam" else "pass a readable video"
        raise UserError(f"cannot open {what}; {fix}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else 0
    ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise UserError(f"{target} has no readable frames; pass a valid video")

    def frames() -> Iterator[np.ndarray]:
        frame = first
        try:
            while frame is not None:
                yield to_bgr8(frame)
                ok, frame = capture.read()
                frame = frame if ok else None
        finally:
            capture.release()

    return FrameSource(
        str(target), kind, float(fps), max(count, 1) if kind == "video" else 0, frames
    )


def open_source(path: str | Path | None = None, webcam: int | None = None) -> FrameSource:
    """An image or video file by path, or camera ``webcam`` by index."""
    if webcam is not None:
        return capture_source(int(webcam), "webcam")
    if path is None:
        raise UserError("no input given; pass an image or video file, or --webcam N")
    path = check_readable(Path(path))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return image_source(path)
    return capture_source(str(path), "video")


class VideoWriter:
    """Write frames to a temporary file beside ``path``; move it into place on :meth:`close`.

    Used as a context manager, an exception discards the partial file.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.path = check_writable(path)
        suffix = self.path.suffix.lower()
        if suffix not in FOURCC:
            raise UserError(f"cannot write video as {suffix!r}; use one of {', '.join(FOURCC)}")
        self.temp = temp_beside(self.path, suffix)
        self.size = size
        fourcc = cv2.VideoWriter_fourcc(*FOURCC[suffix])
        self.writer = cv2.VideoWriter(str(self.temp), fourcc, fps if fps > 0 else 25.0, size)
        if not self.writer.isOpened():
            self.temp.unlink(missing_ok=True)
            raise UserError(f"OpenCV cannot write {suffix} video here; try --out with .avi")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR frame (resized to the writer's size if needed)."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        self.writer.write(frame)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and rename it into place."""
        self.writer.release()
        os.replace(self.temp, self.path)
        return self.path

    def discard(self) -> None:
        """Drop the partial file."""
        self.writer.release()
        self.temp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
