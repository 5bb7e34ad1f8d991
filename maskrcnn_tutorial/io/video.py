"""Frame sources (image, video file, webcam) and an atomic video writer.

An image, a video file and a camera all look the same to the rest of the package: a
:class:`FrameSource` yields BGR frames. A camera is a ``cv2.VideoCapture`` opened by index, so
the camera path is the video-file path with another argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import (
    check_readable,
    check_writable,
    land,
    reason,
    target,
    temp_beside,
)
from maskrcnn_tutorial.io.images import decode_image, image_format, image_header, to_bgr8
from maskrcnn_tutorial.io.quiet import native_stderr_silenced

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
    notes: list[str] = field(default_factory=list)
    """What the user should know about the frames read: an animation of which only the first
    frame is used, a video that ended before the count its header gave (added when reading
    stops there)."""

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames()

    @property
    def is_video(self) -> bool:
        return self.kind != "image"


def image_source(path: str | Path) -> FrameSource:
    """A one-frame source for an image file (an animation's first frame, with a note)."""
    path = check_readable(Path(path))
    data = path.read_bytes()
    image = decode_image(data, str(path))
    header = image_header(data, str(path))
    notes = []
    if header is not None and header.frames > 1:
        notes.append(
            f"{path} has {header.frames} frames (an animation); only the first is segmented"
        )
    return FrameSource(str(path), "image", 0.0, 1, lambda: iter([image]), notes)


def capture_source(target: str | int, kind: str, opener: Callable | None = None) -> FrameSource:
    """Frames from ``cv2.VideoCapture(target)``: a video file path or a camera index."""
    with native_stderr_silenced():  # FFmpeg's own lines would come before our error
        capture = (opener or cv2.VideoCapture)(target)
        opened = capture.isOpened()
    unreadable = (
        f"cannot open camera {target}; check that it is connected and free"
        if kind == "webcam"
        else f"cannot decode {target}: not an image, nor a video OpenCV can read (or damaged); "
        "pass a PNG, a JPEG or a video file"
    )
    if not opened:
        capture.release()
        raise UserError(unreadable)
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else 0
    with native_stderr_silenced():
        ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise UserError(unreadable if kind == "video" else f"camera {target} gives no frames")

    def frames() -> Iterator[np.ndarray]:
        frame, read = first, 0
        try:
            while frame is not None:
                yield to_bgr8(frame)
                read += 1
                with native_stderr_silenced():
                    ok, frame = capture.read()
                frame = frame if ok else None
        finally:
            capture.release()
        if read < count:  # the end came before the count the container declares
            source.notes.append(
                f"{target} stopped at frame {read} of the {count} its header declares (damaged "
                "or cut short); the rest was not read"
            )

    source = FrameSource(
        str(target), kind, float(fps), max(count, 1) if kind == "video" else 0, frames
    )
    return source


def open_source(path: str | Path | None = None, webcam: int | None = None) -> FrameSource:
    """An image or video file by path, or camera ``webcam`` by index.

    A file is an image when its content says so (:func:`.images.image_format`), whatever its
    extension; everything else is opened as a video.
    """
    if webcam is not None:
        return capture_source(int(webcam), "webcam")
    if path is None:
        raise UserError("no input given; pass an image or video file, or --webcam N")
    path = check_readable(Path(path))
    with open(path, "rb") as file:
        head = file.read(16)
    if image_format(head) is not None:
        return image_source(path)
    return capture_source(str(path), "video")


class VideoWriter:
    """Write frames to a temporary file beside ``path``; move it into place on :meth:`close`,
    once every frame is known to be in the file.

    Used as a context manager, an exception discards the partial file.
    """

    def __init__(self, path: str | Path, fps: float, size_hw: tuple[int, int]) -> None:
        self.path = check_writable(path)
        suffix = self.path.suffix.lower()
        if suffix not in FOURCC:
            raise UserError(f"cannot write video as {suffix!r}; use one of {', '.join(FOURCC)}")
        self.target = target(self.path)
        temp: Path | None = None
        self.size_hw = (int(size_hw[0]), int(size_hw[1]))
        height, width = self.size_hw
        fourcc = cv2.VideoWriter_fourcc(*FOURCC[suffix])
        # until __init__ returns nobody else can remove the temporary file, so the block that
        # removes it on any exception (a signal's KeyboardInterrupt too) starts right away
        try:
            try:
                temp = temp_beside(self.target, suffix)
            except OSError as exc:
                raise UserError(f"cannot write {self.path}: {reason(exc)}") from None
            with native_stderr_silenced():
                self.writer = cv2.VideoWriter(
                    str(temp), fourcc, fps if fps > 0 else 25.0, (width, height)
                )
                opened = self.writer.isOpened()
            if not opened:
                raise UserError(f"OpenCV cannot write {suffix} video here; try --out with .avi")
        except BaseException:
            if temp is not None:
                temp.unlink(missing_ok=True)
            raise
        self.temp: Path = temp
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR frame (resized to the writer's size if needed)."""
        if frame.shape[:2] != self.size_hw:
            height, width = self.size_hw
            frame = cv2.resize(frame, (width, height))
        with native_stderr_silenced():  # a failed write is found by close(), said once
            self.writer.write(frame)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file, check that every frame reads back, and rename it into place.

        OpenCV's writer reports no errors: a full disk would otherwise leave a video with only
        its first frames, and the command would claim success.
        """
        with native_stderr_silenced():
            self.writer.release()
        readable = count_frames(self.temp)
        if readable != self.frames:
            self.temp.unlink(missing_ok=True)
            raise UserError(
                f"cannot write {self.path}: only {readable} of {self.frames} frames could be "
                "read back (is the disk full?); nothing was written"
            )
        land(self.temp, self.target)
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


def count_frames(path: Path) -> int:
    """How many frames of the video at ``path`` can be read (grabbed, not decoded)."""
    with native_stderr_silenced():
        capture = cv2.VideoCapture(str(path))
        count = 0
        while capture.isOpened() and capture.grab():
            count += 1
        capture.release()
    return count
