"""Export a trained mirror: text graph, weights-only GraphDef, model.json and parity data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.graph.graphdef import to_binary, to_text
from maskrcnn_tutorial.graph.names import PARITY_STAGES
from maskrcnn_tutorial.inference import make_blob
from maskrcnn_tutorial.synthetic.scenes import make_scene
from maskrcnn_tutorial.training.graph import build_graph, weight_nodes
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN

PARITY_SEEDS = (1_900_000, 1_900_001)
"""Evaluation-range scenes whose mirror outputs are saved in ``parity.npz``."""


def write_graph(model: ShapesMaskRCNN, out: Path, name: str = "shapes") -> tuple[Path, Path]:
    """Write ``<name>.pbtxt`` (structure) and ``<name>.pb`` (weight Consts only)."""
    out.mkdir(parents=True, exist_ok=True)
    pbtxt, pb = out / f"{name}.pbtxt", out / f"{name}.pb"
    pbtxt.write_text(to_text(build_graph(model.spec)))
    pb.write_bytes(to_binary(weight_nodes(model.tf_weights(), model.spec)))
    return pb, pbtxt


def write_parity(model: ShapesMaskRCNN, out: Path) -> Path:
    """Save parity inputs (resized BGR images) and the mirror's output at every parity stage."""
    data: dict[str, np.ndarray] = {}
    for k, seed in enumerate(PARITY_SEEDS):
        height, width = model.spec.input_hw
        image = cv2.resize(make_scene(seed).image, (width, height))
        outputs = model.infer(make_blob(image, model.spec.input_hw))
        data[f"{k}/image"] = image
        for stage in PARITY_STAGES:
            data[f"{k}/{stage}"] = outputs[stage].astype(np.float32)
    path = out / "parity.npz"
    np.savez_compressed(path, **data)
    return path


def write_model_json(model: ShapesMaskRCNN, out: Path, training: dict) -> Path:
    """Write the registry entry: name, labels, input size, how the weights were trained and
    the sha256 of the graph files (checked at every load; call after :func:`write_graph`)."""
    info = {
        "name": "shapes",
        "labels": list(model.spec.labels),
        "input_hw": list(model.spec.input_hw),
        "training": training,
        "sha256": {
            name: hashlib.sha256((out / name).read_bytes()).hexdigest()
            for name in ("shapes.pb", "shapes.pbtxt")
        },
    }
    path = out / "model.json"
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def export(model: ShapesMaskRCNN, out: Path, training: dict) -> None:
    """Write every shipped file of the model except the hand-finished model card."""
    model.eval()
    write_graph(model, out)
    write_model_json(model, out, training)
    write_parity(model, out)
