"""From raw network outputs to detections, with the LearnOpenCV tutorial's semantics.

For every row of ``detection_out_final`` whose score is above the confidence threshold:

1. scale the normalised corners to pixels (``int(W * x1)``, ...) and clamp them to the frame;
2. take the 15x15 mask of the *detected* class (``detection_masks[i, class_id]``);
3. resize it to the box, ``(right - left + 1, bottom - top + 1)`` pixels, bilinearly;
4. keep the pixels above the mask threshold.

Nothing here runs the network, so re-thresholding a stored :class:`RawOutputs` is cheap:
that is what the notebooks' sliders do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from maskrcnn_tutorial.boxes import box_hw, box_slices, clip_box, mask_box
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import RawOutputs

DEFAULT_CONF_THRESHOLD = 0.5
DEFAULT_MASK_THRESHOLD = 0.3


@dataclass
class Detections:
    """The detections of one image, sorted as the network sorted them (by score).

    ``boxes`` are inclusive pixel corners ``[left, top, right, bottom]``; ``box_masks[i]`` is
    detection i's boolean mask inside its box (shape ``(bottom-top+1, right-left+1)``);
    ``small_masks[i]`` is the raw 15x15 class-specific probability mask it came from.
    """

    class_ids: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    box_masks: list[np.ndarray]
    small_masks: np.ndarray
    labels: list[str]
    image_shape: tuple[int, int]
    rows: np.ndarray
    """Index of each detection's row in ``detection_out_final`` (and ``detection_masks``)."""

    def __post_init__(self) -> None:
        """Check that the fields describe the same detections of one image (a ``ValueError``
        naming the first mismatch otherwise)."""
        height, width = (int(v) for v in self.image_shape)
        if height < 1 or width < 1:
            raise ValueError(f"image_shape must be (height, width) >= 1, got {self.image_shape}")
        count = len(self.scores)
        for name in ("class_ids", "scores", "box_masks", "small_masks", "labels", "rows"):
            if len(getattr(self, name)) != count:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} entries for {count} detections"
                )
        if np.shape(self.boxes) != (count, 4):
            raise ValueError(f"boxes must be ({count}, 4), got {np.shape(self.boxes)}")
        for i, ((left, top, right, bottom), mask) in enumerate(
            zip(self.boxes, self.box_masks, strict=True)
        ):
            if not (0 <= left <= right < width and 0 <= top <= bottom < height):
                raise ValueError(
                    f"box {i} {[int(v) for v in self.boxes[i]]} is not inside the "
                    f"{width}x{height} image (inclusive corners [left, top, right, bottom])"
                )
            if mask.shape != box_hw(self.boxes[i]):
                raise ValueError(
                    f"box_masks[{i}] is {mask.shape}, its box is "
                    f"{box_hw(self.boxes[i])} (height, width)"
                )

    @classmethod
    def empty(cls, image_shape: tuple[int, int], mask_size: int = 15) -> Detections:
        """No detections, for an image of ``image_shape`` (height, width)."""
        return cls(
            class_ids=np.zeros(0, np.int64),
            scores=np.zeros(0, np.float32),
            boxes=np.zeros((0, 4), np.int64),
            box_masks=[],
            small_masks=np.zeros((0, mask_size, mask_size), np.float32),
            labels=[],
            image_shape=(int(image_shape[0]), int(image_shape[1])),
            rows=np.zeros(0, np.int64),
        )

    @classmethod
    def from_masks(
        cls,
        class_ids: Sequence[int],
        masks: np.ndarray,
        labels: Sequence[str] = (),
        scores: Sequence[float] | None = None,
    ) -> Detections:
        """Detections made from full-size masks, e.g. a scene's ground truth, so they can be
        drawn and compared like predictions. Each ``small_masks`` entry is the mask squeezed
        into 15x15, what the network's mask head could at best represent."""
        masks = np.asarray(masks, dtype=bool)
        boxes, crops, small = [], [], []
        for mask in masks:
            box = mask_box(mask)
            crop = mask[box_slices(box)]
            boxes.append(box)
            crops.append(crop)
            small.append(
                cv2.resize(crop.astype(np.float32), (15, 15), interpolation=cv2.INTER_AREA)
            )
        ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
        return cls(
            class_ids=ids,
            scores=np.ones(len(ids), np.float32)
            if scores is None
            else np.asarray(scores, np.float32),
            boxes=np.asarray(boxes, dtype=np.int64).reshape(-1, 4),
            box_masks=crops,
            small_masks=np.asarray(small, np.float32).reshape(-1, 15, 15),
            labels=[label_of(labels, c) for c in ids],
            image_shape=(int(masks.shape[1]), int(masks.shape[2])),
            rows=np.arange(len(ids)),
        )

    def __len__(self) -> int:
        return len(self.scores)

    def full_mask(self, i: int) -> np.ndarray:
        """Detection i's mask pasted into a full-size (H, W) boolean image."""
        full = np.zeros(self.image_shape, dtype=bool)
        full[box_slices(self.boxes[i])] = self.box_masks[i]
        return full

    @property
    def masks(self) -> np.ndarray:
        """All masks at full size, (N, H, W) boolean (allocates N*H*W bytes)."""
        full = np.zeros((len(self), *self.image_shape), dtype=bool)
        for i in range(len(self)):
            full[i] = self.full_mask(i)
        return full

    @property
    def mask_areas(self) -> np.ndarray:
        """Number of mask pixels of each detection."""
        return np.array([int(m.sum()) for m in self.box_masks], dtype=np.int64)

    def scaled(self, factor: int) -> Detections:
        """The same detections on an image ``factor`` times larger (masks repeated pixel by
        pixel, so every mask covers exactly the upscaled pixels it covered before)."""
        if factor == 1:
            return self
        f = int(factor)
        boxes = self.boxes * f + np.array([0, 0, f - 1, f - 1])
        return Detections(
            class_ids=self.class_ids,
            scores=self.scores,
            boxes=boxes.reshape(-1, 4),
            box_masks=[m.repeat(f, axis=0).repeat(f, axis=1) for m in self.box_masks],
            small_masks=self.small_masks,
            labels=list(self.labels),
            image_shape=(self.image_shape[0] * f, self.image_shape[1] * f),
            rows=self.rows,
        )

    def select(self, keep: np.ndarray | Sequence[int]) -> Detections:
        """A subset, by boolean mask or indices, in the same order."""
        index = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        return Detections(
            class_ids=self.class_ids[index],
            scores=self.scores[index],
            boxes=self.boxes[index],
            box_masks=[self.box_masks[i] for i in index],
            small_masks=self.small_masks[index],
            labels=[self.labels[i] for i in index],
            image_shape=self.image_shape,
            rows=self.rows[index],
        )


def check_threshold(name: str, value: float) -> float:
    """``value`` if it lies in [0, 1], else a :class:`UserError` naming ``name``."""
    if not isinstance(value, int | float | np.number) or not 0.0 <= value <= 1.0:  # nan too
        raise UserError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def pixel_box(row: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """A detection row's normalised corners as inclusive pixel corners, clamped to the frame."""
    corners = (width * row[3], height * row[4], width * row[5], height * row[6])  # row's dtype
    return clip_box(corners, (height, width))


def paste_mask(
    small_mask: np.ndarray,
    box: tuple[int, int, int, int],
    mask_threshold: float,
    interpolation: int = cv2.INTER_LINEAR,
) -> np.ndarray:
    """Resize a 15x15 probability mask to its box and threshold it (boolean, box-sized)."""
    height, width = box_hw(box)
    resized = cv2.resize(
        small_mask.astype(np.float32, copy=False), (width, height), interpolation=interpolation
    )
    return resized > mask_threshold


def postprocess(
    raw: RawOutputs,
    *,
    image_shape: tuple[int, int] | None = None,
    labels: Sequence[str] = (),
    conf_threshold: float = DEFAULT_CONF_THRESHOLD,
    mask_threshold: float = DEFAULT_MASK_THRESHOLD,
    interpolation: int = cv2.INTER_LINEAR,
) -> Detections:
    """Detections above ``conf_threshold`` with masks thresholded at ``mask_threshold``.

    Every argument after ``raw`` is keyword-only. ``image_shape`` (height, width) defaults to
    the shape of the image that was run.
    ``labels`` names class ids; ids without a name are labelled by their number.
    """
    check_threshold("confidence threshold", conf_threshold)
    check_threshold("mask threshold", mask_threshold)
    height, width = image_shape or raw.image_shape
    rows = raw.detection_out_final.reshape(-1, 7)
    masks = raw.detection_masks
    index = np.flatnonzero(rows[:, 2] > conf_threshold)
    if raw.mask_rows is not None and not np.isin(index, raw.mask_rows).all():
        raise ValueError(
            f"rows above confidence {conf_threshold} have no masks: the forward pass ran the "
            "mask branch only for a higher threshold; run it again with this one"
        )
    class_ids = rows[index, 1].astype(np.int64)
    if len(index) and (class_ids.max() >= masks.shape[1] or class_ids.min() < 0):
        raise UserError(
            f"class id {class_ids.max()} has no mask among {masks.shape[1]} classes; "
            "the model's weights and text graph do not belong together"
        )
    boxes = np.array([pixel_box(rows[i], width, height) for i in index], dtype=np.int64)
    small = masks[index, class_ids] if len(index) else np.zeros((0, *masks.shape[2:]), np.float32)
    box_masks = [
        paste_mask(small[k], tuple(boxes[k]), mask_threshold, interpolation)
        for k in range(len(index))
    ]
    return Detections(
        class_ids=class_ids,
        scores=rows[index, 2].astype(np.float32),
        boxes=boxes.reshape(-1, 4),
        box_masks=box_masks,
        small_masks=small.astype(np.float32, copy=False),
        labels=[label_of(labels, c) for c in class_ids],
        image_shape=(int(height), int(width)),
        rows=index,
    )


def label_of(labels: Sequence[str], class_id: int) -> str:
    """The name of ``class_id``, or the number itself when there is no name."""
    if 0 <= class_id < len(labels) and labels[class_id]:
        return labels[class_id]
    return str(int(class_id))
