"""The LearnOpenCV article's own script, re-implemented: why its output can differ from ours.

The article (Sunita Nayak, LearnOpenCV, 2018) ships a script, ``mask_rcnn.py``, whose
post-processing this package follows: the same rows above 0.5, the same ``int(W * x1)`` pixel
corners clamped to the frame, the same class slice resized bilinearly to
``(right - left + 1, bottom - top + 1)`` and thresholded at 0.3. Run on the same network, two
lines of that script make its output differ from this package's, and a learner comparing the
two meets both:

1. It reads a still picture with ``cv.VideoCapture(path)``, as it reads a video. Where OpenCV
   has FFmpeg, a JPEG is then decoded by FFmpeg's decoder and converted from YUV to BGR by
   FFmpeg, not by libjpeg as in ``cv.imread``: the pixels differ (a few levels on average,
   dozens at sharp edges), so the detections can differ too. A PNG decodes to the same pixels.
   :func:`read_like_article` reads a picture that way.
2. In its ``drawBox`` it puts the label above the box and, so that the label stays inside the
   frame, moves the box's top down: ``top = max(top, labelSize[1])``. It does so *before* it
   resizes the mask, so for every box whose top lies within a label's height of the frame's
   top edge the 15x15 mask is stretched over a shorter box that starts lower: a shifted,
   squashed mask. :func:`article_masks` computes the masks exactly as the script does.

:func:`draw_like_article` draws a frame as the script does (its colours, label and contour
style), so the two outputs can be put side by side. Nothing here is used by the package's own
path; it exists to explain a difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.postprocess import DEFAULT_CONF_THRESHOLD, DEFAULT_MASK_THRESHOLD, label_of

#: The font the script measures its label with: ``cv.getTextSize(label, FONT, 0.5, 1)``.
LABEL_FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_SCALE = 0.5
#: The script's box colour (BGR) and line width.
BOX_COLOR = (255, 178, 50)


def read_like_article(path: str | Path) -> tuple[np.ndarray, str]:
    """The first frame of ``path`` read as the article's script reads a still picture,
    ``cv.VideoCapture(path).read()``, and the name of the capture backend that read it
    (``FFMPEG`` where OpenCV has it; another backend may decode like ``cv.imread``)."""
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        backend = capture.getBackendName() if ok else ""
    finally:
        capture.release()
    if not ok or frame is None:
        raise UserError(f"cv.VideoCapture cannot read {path}: give the path of a picture or video")
    return frame, backend


def label_text(label: str, score: float) -> str:
    """The script's label: ``'%s:%s' % (class name, '%.2f' % score)``."""
    return f"{label}:{score:.2f}"


def label_height(text: str) -> int:
    """``labelSize[1]``: the height the script measures its label at (scale 0.5, thickness 1)."""
    return int(cv2.getTextSize(text, LABEL_FONT, LABEL_SCALE, 1)[0][1])


@dataclass
class ArticleDetection:
    """One detection as the script computes it.

    ``box`` is the clamped pixel box ``[left, top, right, bottom]`` (the rectangle it draws);
    ``mask_top`` is ``max(top, labelSize[1])``, the top of the region its mask is resized to and
    pasted at; ``mask`` is that boolean mask, ``(bottom - mask_top + 1, right - left + 1)``.
    """

    row: int
    class_id: int
    score: float
    label: str
    box: tuple[int, int, int, int]
    mask_top: int
    mask: np.ndarray

    @property
    def shifted(self) -> bool:
        """Whether the script moved the mask (the box's top lay within a label's height)."""
        return self.mask_top != self.box[1]

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask in a frame of ``shape`` (height, width), where the script pastes it."""
        out = np.zeros(shape, bool)
        left, _, right, bottom = self.box
        if self.mask.size:
            out[self.mask_top : bottom + 1, left : right + 1] = self.mask
        return out


def article_masks(
    raw: RawOutputs,
    labels: Sequence[str] = (),
    frame_shape: tuple[int, int] | None = None,
    conf_threshold: float = DEFAULT_CONF_THRESHOLD,
    mask_threshold: float = DEFAULT_MASK_THRESHOLD,
) -> list[ArticleDetection]:
    """The script's ``postprocess`` and the geometry of its ``drawBox``, without drawing.

    For every row with ``score > conf_threshold``: corners ``int(W * x)``, each clamped to
    ``[0, W - 1]`` (``[0, H - 1]``); the label's height; ``top = max(top, labelSize[1])``;
    the class slice resized to ``(right - left + 1, bottom - top + 1)`` (bilinear) and
    ``> mask_threshold``. Where that height is below one pixel the script itself stops with an
    OpenCV error; here the mask is empty.
    """
    height, width = frame_shape or raw.image_shape
    rows = raw.detection_out_final.reshape(-1, 7)
    found = []
    for i in np.flatnonzero(rows[:, 2] > conf_threshold):
        box = rows[i]
        class_id = int(box[1])
        left, right = (max(0, min(int(width * box[k]), width - 1)) for k in (3, 5))
        top, bottom = (max(0, min(int(height * box[k]), height - 1)) for k in (4, 6))
        label = label_of(labels, class_id)
        mask_top = max(top, label_height(label_text(label, float(box[2]))))
        size = (right - left + 1, bottom - mask_top + 1)
        if size[0] >= 1 and size[1] >= 1:
            small = raw.detection_masks[i, class_id].astype(np.float32)
            mask = cv2.resize(small, size) > mask_threshold  # cv.resize's default: bilinear
        else:
            mask = np.zeros((0, max(size[0], 0)), bool)
        found.append(
            ArticleDetection(
                int(i), class_id, float(box[2]), label, (left, top, right, bottom), mask_top, mask
            )
        )
    return found


def draw_like_article(
    frame: np.ndarray,
    detections: Sequence[ArticleDetection],
    colors: Sequence[tuple[int, int, int]],
) -> np.ndarray:
    """A copy of ``frame`` drawn as the script's ``drawBox`` draws it, detection by detection:
    the box (3 px), the label on a white patch, the mask blended ``0.3 * colour + 0.7 * pixel``
    (over the label when they meet, as in the script) and the mask's contours (3 px).
    ``colors`` are indexed by ``class_id % len(colors)``, as the script's ``colors.txt``."""
    out = frame.copy()
    for det in detections:
        left, top, right, bottom = det.box
        cv2.rectangle(out, (left, top), (right, bottom), BOX_COLOR, 3)
        text = label_text(det.label, det.score)
        (text_w, text_h), baseline = cv2.getTextSize(text, LABEL_FONT, LABEL_SCALE, 1)
        top = det.mask_top
        cv2.rectangle(
            out, (left, top - round(1.5 * text_h)), (left + round(1.5 * text_w), top + baseline),
            (255, 255, 255), cv2.FILLED,
        )  # fmt: skip
        cv2.putText(out, text, (left, top), LABEL_FONT, 0.75, (0, 0, 0), 1)
        if not det.mask.size:
            continue
        color = np.array(colors[det.class_id % len(colors)], np.float64)
        region = out[top : bottom + 1, left : right + 1]
        region[det.mask] = (0.3 * color + 0.7 * region[det.mask]).astype(np.uint8)
        contours, hierarchy = cv2.findContours(
            det.mask.astype(np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE
        )[-2:]
        cv2.drawContours(
            region, contours, -1, tuple(int(c) for c in color), 3, cv2.LINE_8, hierarchy, 100
        )
    return out


def render_mask_outlines(
    image: np.ndarray,
    ours: np.ndarray,
    theirs: np.ndarray,
    box: Sequence[int],
    margin: int = 12,
    scale: int = 4,
) -> np.ndarray:
    """The region of ``box`` (plus ``margin`` pixels) enlarged ``scale`` times (nearest pixel),
    with two full-frame boolean masks outlined: ``ours`` in green, ``theirs`` in red, and the
    box in the script's colour. For putting the package's and the script's mask side by side."""
    height, width = image.shape[:2]
    left, top = max(int(box[0]) - margin, 0), max(int(box[1]) - margin, 0)
    right, bottom = min(int(box[2]) + margin, width - 1), min(int(box[3]) + margin, height - 1)
    crop = (slice(top, bottom + 1), slice(left, right + 1))
    out = cv2.resize(image[crop], None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    x1, y1 = (int(box[0]) - left) * scale, (int(box[1]) - top) * scale
    x2, y2 = (int(box[2]) - left + 1) * scale - 1, (int(box[3]) - top + 1) * scale - 1
    cv2.rectangle(out, (x1, y1), (x2, y2), BOX_COLOR, 2)
    for mask, color in ((ours, (0, 220, 0)), (theirs, (0, 0, 255))):
        big = cv2.resize(
            mask[crop].astype(np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST
        )
        contours = cv2.findContours(big, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[-2]
        cv2.drawContours(out, contours, -1, color, 2)
    return out
