"""The model registry: which models exist, which one is the default, and loading one by name."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import InputSize, Model
from maskrcnn_tutorial.models.sources import COCO_SOURCE, coco_spec, sha1_file
from maskrcnn_tutorial.models.spec import ModelSpec
from maskrcnn_tutorial.models.user import (
    BUILT_IN,
    NAME_PATTERN,
    user_models_dir,
    user_spec,
    user_specs,
)

MODEL_ENV = "MASKRCNN_TUTORIAL_MODEL"
SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
SHAPES_REPAIR = (
    "the package is damaged: reinstall it (pip install --force-reinstall maskrcnn-tutorial, "
    "or git checkout maskrcnn_tutorial/models in a clone)"
)


def shapes_spec() -> ModelSpec:
    """The embedded model trained on synthetic shapes (shipped with the package)."""
    meta_file = SHAPES_DIR / "model.json"
    try:
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        size = meta.get("input_hw")
        labels = tuple(str(label) for label in meta.get("labels", ()))
        input_hw = (int(size[0]), int(size[1])) if size else None
        sha256 = tuple((str(k), str(v)) for k, v in meta.get("sha256", {}).items())
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise UserError(
            f"{meta_file} is not a valid model description ({exc}); {SHAPES_REPAIR}"
        ) from None
    return ModelSpec(
        name="shapes",
        description="small Mask R-CNN trained on synthetic shapes (embedded)",
        weights=SHAPES_DIR / "shapes.pb",
        config=SHAPES_DIR / "shapes.pbtxt",
        labels=labels,
        input_hw=input_hw,
        how_to_get="ships inside the package",
        repair=SHAPES_REPAIR,
        sha256=sha256,
    )


def all_specs() -> dict[str, ModelSpec]:
    """All known models by name, read afresh (the cache directory may change): the two
    built-in ones and every registered one whose ``model.json`` is valid."""
    return {"coco": coco_spec(), "shapes": shapes_spec(), **user_specs()}


def get_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; a :class:`UserError` for an unknown name or a registered
    model whose ``model.json`` is damaged."""
    if name in BUILT_IN:
        return coco_spec() if name == "coco" else shapes_spec()
    folder = user_models_dir() / name
    if NAME_PATTERN.match(name) and (folder / "model.json").is_file():
        spec = user_spec(folder)
        if spec.name != name:
            raise UserError(
                f"{folder / 'model.json'} names the model {spec.name!r}, not {name!r}; "
                "register it again"
            )
        return spec
    models = all_specs()
    raise UserError(f"unknown model {name!r}; choose one of: {', '.join(models)}")


def default_model_name() -> str:
    """``$MASKRCNN_TUTORIAL_MODEL`` if set, else ``coco`` when its files are in place, else the
    embedded ``shapes``."""
    chosen = os.environ.get(MODEL_ENV)
    if chosen:
        return get_spec(chosen).name
    return "coco" if coco_spec().available else "shapes"


def default_model_notice() -> str | None:
    """One line saying the embedded model is in use and how to get ``coco``; None if it's coco."""
    if default_model_name() == "coco":
        return None
    return (
        "using the embedded 'shapes' model; for the real COCO model run "
        "'maskrcnn-tutorial fetch coco'"
    )


def load_model(name: str | None = None, target: str = "cpu", input_size: InputSize = None) -> Model:
    """Load model ``name`` (default: :func:`default_model_name`) ready for inference;
    ``input_size`` chooses how frames are sized (see ``inference.parse_input_size``)."""
    spec = get_spec(name or default_model_name())
    model = Model.load(spec, target=target, input_size=input_size)
    if spec.name == "coco" and not is_published_coco(spec.weights):
        model.notices.append(UNPUBLISHED_COCO)
    return model


UNPUBLISHED_COCO = (
    "the coco weights in the cache are not the published file (their sha1 differs): a test "
    "stand-in or a modified copy, so its detections are not the real model's; "
    "run 'maskrcnn-tutorial fetch coco' for the real one"
)


def is_published_coco(weights: Path) -> bool:
    """Whether ``weights`` is the published ``frozen_inference_graph.pb`` (by its sha1, pinned
    in :mod:`~maskrcnn_tutorial.models.fetch`). Hashed once per file version."""
    stat = weights.stat()
    return _sha1_matches(str(weights), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _sha1_matches(path: str, mtime_ns: int, size: int) -> bool:
    return sha1_file(Path(path)) == COCO_SOURCE.member_sha1
