"""Seeded synthetic scenes for the ``shapes`` model: images with exact instance ground truth.

Every scene is drawn from ``np.random.default_rng(seed)``, so the same seed always gives the same
picture and the same ground truth. Seeds below ``EVAL_SEED_START`` (1,000,000) are for training;
seeds at or above it are held out for evaluation, so the model never sees an evaluation scene.

A scene shows a handful of filled shapes on a textured, noisy background. The classes are chosen
to make the lessons visible: ``ring`` masks have holes, ``star`` is non-convex, and same-class
objects are often placed touching or overlapping, so instance and semantic segmentation differ.
Objects painted later occlude earlier ones; each mask holds only the visible part.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskrcnn_tutorial.boxes import exclusive, mask_box
from maskrcnn_tutorial.io import rle

LABELS: tuple[str, ...] = ("circle", "square", "triangle", "ring", "star")
"""The shapes model's classes; a class id is a 0-based index into this tuple."""

NEW_SHAPES: tuple[str, ...] = ("hexagon",)
"""Shapes the generator can draw that the shipped model never saw (for fine-tuning lessons)."""

ALL_SHAPES: tuple[str, ...] = LABELS + NEW_SHAPES
"""Every shape the generator draws; a scene's ``classes`` is any selection of them."""

EVAL_SEED_START = 1_000_000
"""Seeds at or above this value are evaluation scenes; training uses seeds below it."""

DEFAULT_HW: tuple[int, int] = (256, 256)
"""Default scene size as (height, width)."""

_MIN_VISIBLE_FRACTION = 0.35  # drop an instance when less than this share of it stays visible
_MIN_VISIBLE_PIXELS = 120


@dataclass
class Scene:
    """One synthetic picture and its instance ground truth."""

    image: np.ndarray  # H x W x 3 uint8, BGR
    class_ids: np.ndarray  # (N,) int64, 0-based into LABELS
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2 (x2 = max col + 1)
    masks: np.ndarray  # (N, H, W) bool, visible part of each instance
    classes: tuple[str, ...] = LABELS  # the class names that class_ids index

    @property
    def labels(self) -> list[str]:
        """Class names of the instances, in instance order."""
        return [self.classes[int(c)] for c in self.class_ids]


@dataclass
class _Shape:
    """Geometry and appearance of one object, enough to draw it at any moment of a clip."""

    class_id: int
    name: str  # the shape drawn (class_id indexes the scene's classes)
    cx: float
    cy: float
    radius: float  # half the object's extent, pixels
    angle: float  # radians
    aspect: float  # ellipse/triangle squash factor
    inner: float  # ring hole or star inner radius, as a fraction of radius
    color: tuple[int, int, int]
    vx: float = 0.0
    vy: float = 0.0
    spin: float = 0.0

    def moved(self, t: float) -> _Shape:
        """The same shape ``t`` frames later."""
        return _Shape(
            self.class_id,
            self.name,
            self.cx + self.vx * t,
            self.cy + self.vy * t,
            self.radius,
            self.angle + self.spin * t,
            self.aspect,
            self.inner,
            self.color,
            self.vx,
            self.vy,
            self.spin,
        )


def _polygon(shape: _Shape) -> np.ndarray:
    """Outline of a polygonal shape as (K, 2) float points in pixels."""
    r = shape.radius
    if shape.name == "square":
        t = np.array([0.25, 0.75, 1.25, 1.75]) * np.pi
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif shape.name == "triangle":
        t = np.array([-0.5, 1 / 6, 5 / 6]) * np.pi
        pts = np.stack([np.cos(t), np.sin(t) * shape.aspect], 1) * r
    elif shape.name == "hexagon":  # six corners, squashed like the triangle
        t = np.arange(6) * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t) * shape.aspect], 1) * r
    else:  # star: five points, inner vertices at `inner * r`
        t = -0.5 * np.pi + np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, r, r * shape.inner)
        pts = np.stack([np.cos(t) * rad, np.sin(t) * rad], 1)
    c, s = np.cos(shape.angle), np.sin(shape.angle)
    rot = np.array([[c, -s], [s, c]])
    return pts @ rot.T + np.array([shape.cx, shape.cy])


def _full_mask(shape: _Shape, size_hw: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the whole (unoccluded) shape."""
    canvas = np.zeros(size_hw, np.uint8)
    shift = 4  # sub-pixel precision for cv2 drawing
    scale = 1 << shift
    centre = (int(round(shape.cx * scale)), int(round(shape.cy * scale)))
    deg = float(np.degrees(shape.angle))
    name = shape.name
    if name in ("circle", "ring"):
        axes = (int(round(shape.radius * scale)), int(round(shape.radius * shape.aspect * scale)))
        cv2.ellipse(canvas, centre, axes, deg, 0, 360, 1, -1, cv2.LINE_8, shift)
        if name == "ring":
            hole = (int(round(axes[0] * shape.inner)), int(round(axes[1] * shape.inner)))
            cv2.ellipse(canvas, centre, hole, deg, 0, 360, 0, -1, cv2.LINE_8, shift)
    else:
        pts = np.round(_polygon(shape) * scale).astype(np.int32)
        cv2.fillPoly(canvas, [pts], 1, cv2.LINE_8, shift)
    return canvas.astype(bool)


def _background(rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
    """Textured float32 BGR background: smooth blotches, a gradient, sometimes stripes."""
    h, w = size_hw
    base = rng.uniform(40, 215, 3)
    cells = int(rng.integers(3, 9))
    blotches = cv2.resize(
        rng.normal(0, 1, (cells, cells, 3)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_CUBIC,
    )
    img = base + blotches * rng.uniform(10, 35)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(theta) * xx / w + np.sin(theta) * yy / h)[..., None]
    img = img + ramp * rng.uniform(-40, 40, 3)
    if rng.random() < 0.4:
        period = rng.uniform(6, 24)
        phi = rng.uniform(0, 2 * np.pi)
        stripes = np.sin((np.cos(phi) * xx + np.sin(phi) * yy) * 2 * np.pi / period)
        img = img + stripes[..., None] * rng.uniform(5, 20)
    return img.astype(np.float32)


def _contrasting_color(rng: np.random.Generator, bg_mean: np.ndarray) -> tuple[int, int, int]:
    """A random BGR color that stands out from the background's mean color."""
    for _ in range(20):
        color = rng.uniform(0, 255, 3)
        if np.abs(color - bg_mean).sum() > 150:
            break
    return tuple(int(v) for v in color)


def _random_shape(
    rng: np.random.Generator,
    size_hw: tuple[int, int],
    bg_mean: np.ndarray,
    class_id: int | None = None,
    near: _Shape | None = None,
    classes: tuple[str, ...] = LABELS,
) -> _Shape:
    """Draw one object's parameters (``class_id`` indexes ``classes``); with ``near`` it
    touches or overlaps that object."""
    h, w = size_hw
    scale = min(h, w) / 256.0
    cid = int(rng.integers(len(classes))) if class_id is None else class_id
    radius = float(rng.uniform(20, 52) * scale)
    if near is None:
        cx, cy = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
    else:
        direction = rng.uniform(0, 2 * np.pi)
        dist = (near.radius + radius) * rng.uniform(0.6, 0.95)
        cx = float(np.clip(near.cx + np.cos(direction) * dist, 0.05 * w, 0.95 * w))
        cy = float(np.clip(near.cy + np.sin(direction) * dist, 0.05 * h, 0.95 * h))
    name = classes[cid]
    inner = float(rng.uniform(0.45, 0.6)) if name == "ring" else float(rng.uniform(0.4, 0.5))
    aspect = float(rng.uniform(0.7, 1.0))
    return _Shape(
        cid,
        name,
        float(cx),
        float(cy),
        radius,
        float(rng.uniform(0, 2 * np.pi)),
        aspect,
        inner,
        _contrasting_color(rng, bg_mean),
        vx=float(rng.uniform(-2, 2) * scale),
        vy=float(rng.uniform(-2, 2) * scale),
        spin=float(rng.uniform(-0.05, 0.05)),
    )


def _random_layout(
    rng: np.random.Generator,
    size_hw: tuple[int, int],
    bg_mean: np.ndarray,
    max_objects: int,
    classes: tuple[str, ...] = LABELS,
) -> list[_Shape]:
    """Objects for one scene; many scenes get a touching or overlapping same-class pair."""
    count = int(rng.integers(2, max_objects + 1))
    shapes: list[_Shape] = []
    while len(shapes) < count:
        if shapes and rng.random() < 0.35:
            anchor = shapes[int(rng.integers(len(shapes)))]
            shapes.append(
                _random_shape(rng, size_hw, bg_mean, anchor.class_id, near=anchor, classes=classes)
            )
        else:
            shapes.append(_random_shape(rng, size_hw, bg_mean, classes=classes))
    return shapes


def _render(
    rng: np.random.Generator,
    background: np.ndarray,
    shapes: list[_Shape],
    classes: tuple[str, ...] = LABELS,
) -> Scene:
    """Paint shapes in order (later ones on top) and derive visible masks and tight boxes."""
    size_hw = background.shape[:2]
    img = background.copy()
    full = [_full_mask(s, size_hw) for s in shapes]
    shade = rng.standard_normal((*size_hw, 1), dtype=np.float32) * 6
    for shape, mask in zip(shapes, full, strict=True):
        img[mask] = np.asarray(shape.color, np.float32) + shade[mask]
    img += rng.standard_normal(img.shape, dtype=np.float32) * rng.uniform(3, 10)
    image = np.clip(img, 0, 255).astype(np.uint8)

    covered = np.zeros(size_hw, bool)
    kept: list[tuple[int, np.ndarray]] = []
    for shape, mask in zip(reversed(shapes), reversed(full), strict=True):
        visible = mask & ~covered
        covered |= mask
        area = int(visible.sum())
        if area >= _MIN_VISIBLE_PIXELS and area >= _MIN_VISIBLE_FRACTION * max(int(mask.sum()), 1):
            kept.append((shape.class_id, visible))
    kept.reverse()
    if not kept:
        return Scene(
            image,
            np.zeros(0, np.int64),
            np.zeros((0, 4), np.float32),
            np.zeros((0, *size_hw), bool),
            classes,
        )
    masks = np.stack([m for _, m in kept])
    boxes = exclusive([mask_box(m) for m in masks]).astype(np.float32)
    return Scene(image, np.array([c for c, _ in kept], np.int64), boxes, masks, classes)


def make_scene(
    seed: int,
    size_hw: tuple[int, int] = DEFAULT_HW,
    max_objects: int = 6,
    classes: tuple[str, ...] = LABELS,
) -> Scene:
    """Make the scene for ``seed`` (training below 1,000,000, evaluation at or above).

    Args:
        seed: non-negative scene seed; the same seed always gives the same scene.
        size_hw: (height, width) in pixels.
        max_objects: at most this many objects are drawn (occluded ones may then be dropped).
        classes: the shapes to draw from (names in :data:`ALL_SHAPES`); the scene's class ids
            index this tuple. The default, the shipped model's :data:`LABELS`, gives the same
            scene for a seed as always.
    """
    unknown = sorted(set(classes) - set(ALL_SHAPES))
    if unknown or not classes:
        raise ValueError(f"classes must be names from {ALL_SHAPES}, got {classes}")
    rng = np.random.default_rng(seed)
    background = _background(rng, size_hw)
    layout = _random_layout(rng, size_hw, background.mean(axis=(0, 1)), max_objects, classes)
    return _render(rng, background, layout, tuple(classes))


def make_clip(
    seed: int, n_frames: int, size_hw: tuple[int, int] = DEFAULT_HW, max_objects: int = 5
) -> list[Scene]:
    """A short clip: one scene's objects drifting and spinning smoothly over a fixed background.

    Frame noise is redrawn every frame, as a camera's would be; geometry moves by at most a few
    pixels per frame.
    """
    rng = np.random.default_rng(seed)
    background = _background(rng, size_hw)
    shapes = _random_layout(rng, size_hw, background.mean(axis=(0, 1)), max_objects)
    return [_render(rng, background, [s.moved(t) for s in shapes]) for t in range(n_frames)]


def is_training_seed(seed: int) -> bool:
    """True for training seeds (below 1,000,000), False for evaluation seeds."""
    return 0 <= seed < EVAL_SEED_START


def scene_truth(scene: Scene) -> dict:
    """JSON-ready ground truth: size and, per object, class, label, box and COCO RLE mask."""
    h, w = scene.image.shape[:2]
    objects = [
        {
            "class_id": int(c),
            "label": scene.classes[int(c)],
            "box": [float(v) for v in box],
            "mask": rle.encode(mask),
        }
        for c, box, mask in zip(scene.class_ids, scene.boxes, scene.masks, strict=True)
    ]
    return {"width": int(w), "height": int(h), "objects": objects}
