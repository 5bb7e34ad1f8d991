"""One frame through the whole chain: forward pass, post-processing, drawing, with timings."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from maskrcnn_tutorial.draw import annotate
from maskrcnn_tutorial.inference import Model, RawOutputs
from maskrcnn_tutorial.postprocess import (
    DEFAULT_CONF_THRESHOLD,
    DEFAULT_MASK_THRESHOLD,
    Detections,
    postprocess,
)


@dataclass
class Segmentation:
    """A frame's raw outputs, its detections, the annotated picture and where the time went."""

    raw: RawOutputs
    detections: Detections
    annotated: np.ndarray
    timing_ms: dict[str, float]


def segment(
    model: Model,
    image: np.ndarray,
    conf_threshold: float = DEFAULT_CONF_THRESHOLD,
    mask_threshold: float = DEFAULT_MASK_THRESHOLD,
    colors: str = "instance",
    alpha: float = 0.5,
    legend: bool = False,
    mask_branch: str = "kept",
) -> Segmentation:
    """Run ``model`` on a BGR image and draw what it found (each object in its own color by
    default; ``colors="class"`` colors by class; see :func:`.draw.annotate`).

    ``mask_branch="kept"`` (the default) runs the mask branch only for the detections above
    ``conf_threshold``, the ones drawn: the same picture as ``"full"``, in less time (the
    other rows of ``raw.detection_masks`` are NaN). See :meth:`.inference.Model.forward`.
    """
    raw = model.forward(image, mask_branch=mask_branch, conf_threshold=conf_threshold)
    start = time.perf_counter()
    dets = postprocess(
        raw, labels=model.labels, conf_threshold=conf_threshold, mask_threshold=mask_threshold
    )
    middle = time.perf_counter()
    picture = annotate(image, dets, colors=colors, alpha=alpha, legend=legend)
    end = time.perf_counter()
    timing = {
        "forward": raw.time_ms,
        "postprocess": (middle - start) * 1000.0,
        "draw": (end - middle) * 1000.0,
    }
    return Segmentation(raw, dets, picture, timing)


def segment_frames(
    model: Model,
    frames: Iterable[np.ndarray],
    total: int | None = None,
    progress: bool = True,
    **options,
) -> Iterator[Segmentation]:
    """:func:`segment` every frame, with a tqdm progress bar showing frames per second."""
    with tqdm(total=total or None, unit="frame", disable=not progress, leave=False) as bar:
        for frame in frames:
            yield segment(model, frame, **options)
            bar.update(1)
