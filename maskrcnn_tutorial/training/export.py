"""Export a trained mirror: text graph, weights-only GraphDef, model.json and parity data."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.graph.graphdef import to_binary, to_text
from maskrcnn_tutorial.graph.names import PARITY_STAGES
from maskrcnn_tutorial.inference import make_blob
from maskrcnn_tutorial.io.files import atomic_write_bytes, staged
from maskrcnn_tutorial.synthetic.scenes import make_scene
from maskrcnn_tutorial.training.graph import build_graph, weight_nodes
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN

PARITY_SEEDS = (1_900_000, 1_900_001)
"""Evaluation-range scenes whose mirror outputs are saved in ``parity.npz``."""


def write_graph(model: ShapesMaskRCNN, out: Path, name: str = "shapes") -> tuple[Path, Path]:
    """Write ``<name>.pbtxt`` (structure) and ``<name>.pb`` (weight Consts only)."""
    out.mkdir(parents=True, exist_ok=True)
    for file, data in graph_files(model, name).items():
        atomic_write_bytes(out / file, data)
    return out / f"{name}.pb", out / f"{name}.pbtxt"


def graph_files(model: ShapesMaskRCNN, name: str = "shapes") -> dict[str, bytes]:
    """The bytes of ``<name>.pb`` (weight Consts only) and ``<name>.pbtxt`` (structure)."""
    return {
        f"{name}.pb": to_binary(weight_nodes(model.tf_weights(), model.spec)),
        f"{name}.pbtxt": to_text(build_graph(model.spec)).encode(),
    }


def write_parity(
    model: ShapesMaskRCNN, out: Path, images: Sequence[np.ndarray] | None = None
) -> Path:
    """Save parity inputs (BGR images resized to the input size; default: two held-out
    scenes) and the mirror's output at every parity stage."""
    if images is None:
        images = [make_scene(seed).image for seed in PARITY_SEEDS]
    data: dict[str, np.ndarray] = {}
    for k, picture in enumerate(images):
        height, width = model.spec.input_hw
        image = cv2.resize(picture, (width, height))
        outputs = model.infer(make_blob(image, model.spec.input_hw))
        data[f"{k}/image"] = image
        for stage in PARITY_STAGES:
            data[f"{k}/{stage}"] = outputs[stage].astype(np.float32)
    path = out / "parity.npz"
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **data)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def write_model_json(
    model: ShapesMaskRCNN,
    out: Path,
    training: dict,
    name: str = "shapes",
    files: dict[str, bytes] | None = None,
) -> Path:
    """Write the registry entry: name, labels, input size, how the weights were trained and
    the sha256 of the graph ``files`` (checked at every load; default: read from ``out``,
    written by :func:`write_graph`)."""
    files = files or {f: (out / f).read_bytes() for f in (f"{name}.pb", f"{name}.pbtxt")}
    info = {
        "name": name,
        "labels": list(model.spec.labels),
        "input_hw": list(model.spec.input_hw),
        "training": training,
        "sha256": {file: hashlib.sha256(data).hexdigest() for file, data in files.items()},
    }
    path = out / "model.json"
    atomic_write_bytes(path, (json.dumps(info, indent=2) + "\n").encode())
    return path


def export(
    model: ShapesMaskRCNN,
    out: Path,
    training: dict,
    name: str = "shapes",
    parity_images: Sequence[np.ndarray] | None = None,
) -> None:
    """Write every file of the model (``<name>.pb``, ``<name>.pbtxt``, ``model.json``,
    ``parity.npz``; the shipped model's card is kept by hand). The files land together: each
    is staged beside its place and all are renamed in when every one is written, so an
    interrupted export leaves the previous files as they were."""
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    files = graph_files(model, name)
    with staged():
        for file, data in files.items():
            atomic_write_bytes(out / file, data)
        write_model_json(model, out, training, name, files)
        write_parity(model, out, parity_images)
