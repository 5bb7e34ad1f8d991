"""The model registry: named models behind one interface.

Two models share the same files and the same loading call,
``cv2.dnn.readNetFromTensorflow(weights.pb, graph.pbtxt)``:

- ``coco``: the real TensorFlow Mask R-CNN Inception V2 trained on MS COCO (90 class slots). Its
  files are not shipped; ``maskrcnn-tutorial fetch coco`` puts them in the cache directory.
- ``shapes``: a small Mask R-CNN this project trains on synthetic scenes, shipped inside the
  package, so everything works offline.

The cache directory is ``$MASKRCNN_TUTORIAL_CACHE`` if set, else
``$XDG_CACHE_HOME/maskrcnn_tutorial`` (``~/.cache/maskrcnn_tutorial``). The default model is
``coco`` once fetched, else ``shapes``; ``$MASKRCNN_TUTORIAL_MODEL`` names another (``make
test`` uses it to run the notebooks on the model their stored outputs came from).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from ..errors import UserError
from ..inference import InputSize, Model
from ..labels import COCO_LABELS
from ..modelspec import ModelSpec

CACHE_ENV = "MASKRCNN_TUTORIAL_CACHE"
MODEL_ENV = "MASKRCNN_TUTORIAL_MODEL"
COCO_NAME = "mask_rcnn_inception_v2_coco_2018_01_28"
SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
SHAPES_REPAIR = (
    "the package is damaged: reinstall it (pip install --force-reinstall maskrcnn-tutorial, "
    "or git checkout maskrcnn_tutorial/models in a clone)"
)


def cache_dir() -> Path:
    """The directory that holds fetched models (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "maskrcnn_tutorial"


def coco_spec(cache: Path | None = None) -> ModelSpec:
    """The real COCO model, expected under ``cache`` (default: :func:`cache_dir`)."""
    folder = (cache or cache_dir()) / COCO_NAME
    return ModelSpec(
        name="coco",
        description="TensorFlow Mask R-CNN Inception V2, trained on MS COCO",
        weights=folder / "frozen_inference_graph.pb",
        config=folder / f"{COCO_NAME}.pbtxt",
        labels=COCO_LABELS,
        input_size=None,
        how_to_get="maskrcnn-tutorial fetch coco  (offline: fetch coco --from TARBALL)",
        repair="fetch the model again: maskrcnn-tutorial fetch coco",
    )


def shapes_spec() -> ModelSpec:
    """The embedded model trained on synthetic shapes (shipped with the package)."""
    meta_file = SHAPES_DIR / "model.json"
    try:
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        size = meta.get("input_size")
        labels = tuple(str(label) for label in meta.get("labels", ()))
        input_size = (int(size[0]), int(size[1])) if size else None
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
        input_size=input_size,
        how_to_get="ships inside the package",
        repair=SHAPES_REPAIR,
        sha256=sha256,
    )


def registry() -> dict[str, ModelSpec]:
    """All known models by name, read afresh (the cache directory may change)."""
    return {"coco": coco_spec(), "shapes": shapes_spec()}


def get_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; a :class:`UserError` for an unknown name."""
    models = registry()
    if name not in models:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(models)}")
    return models[name]


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
    in :mod:`~maskrcnn_tutorial.fetch`). Hashed once per file version."""
    stat = weights.stat()
    return _sha1_matches(str(weights), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _sha1_matches(path: str, mtime_ns: int, size: int) -> bool:
    from ..fetch import COCO_SOURCE, sha1_file

    return sha1_file(Path(path)) == COCO_SOURCE.member_sha1
