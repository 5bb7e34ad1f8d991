"""Detections as JSON-ready records and as printable lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.io.files import atomic_write_bytes
from maskrcnn_tutorial.postprocess import Detections


def detection_records(dets: Detections) -> list[dict[str, Any]]:
    """One dict per detection: class, label, score, pixel box, mask area and COCO RLE mask."""
    return [
        {
            "class_id": int(dets.class_ids[i]),
            "label": dets.labels[i],
            "score": round(float(dets.scores[i]), 4),
            "box": [int(v) for v in dets.boxes[i]],
            "mask_area": int(dets.box_masks[i].sum()),
            "mask": rle.encode(dets.full_mask(i)),
        }
        for i in range(len(dets))
    ]


def frame_record(
    model: str, source: str, dets: Detections, timing_ms: dict[str, float]
) -> dict[str, Any]:
    """The ``--json`` object of one image."""
    height, width = dets.image_shape
    return {
        "model": model,
        "input": source,
        "width": width,
        "height": height,
        "detections": detection_records(dets),
        "timing_ms": {key: round(value, 2) for key, value in timing_ms.items()},
    }


def format_detections(dets: Detections) -> list[str]:
    """Human-readable lines, one per detection."""
    return [
        f"{dets.labels[i]:>14}  {dets.scores[i]:.2f}  box=[{', '.join(map(str, dets.boxes[i]))}]"
        f"  mask={int(dets.box_masks[i].sum())} px"
        for i in range(len(dets))
    ]


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    return atomic_write_bytes(path, (json.dumps(payload, indent=2) + "\n").encode())


def write_raw(path: str | Path, raw: RawOutputs) -> Path:
    """Save the raw outputs as .npz under their layer names, atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **raw.as_arrays())
    return atomic_write_bytes(path, buffer.getvalue())
