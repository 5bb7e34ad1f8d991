"""Getting and loading models: named models behind one interface.

Two models share the same files and the same loading call,
``cv2.dnn.readNetFromTensorflow(weights.pb, graph.pbtxt)``:

- ``coco``: the real TensorFlow Mask R-CNN Inception V2 trained on MS COCO (90 class slots). Its
  files are not shipped; ``maskrcnn-tutorial fetch coco`` (:mod:`.fetch`) puts them in the cache
  directory.
- ``shapes``: a small Mask R-CNN this project trains on synthetic scenes (:mod:`.shapes`, shipped
  inside the package), so everything works offline.
- models you fine-tuned from ``shapes`` and registered by name (:mod:`.user`).

Modules: :mod:`.registry` (which models exist, the default, :func:`load_model`), :mod:`.user`
(registered fine-tuned models), :mod:`.spec`
(what a model is made of), :mod:`.sources` (cache directory, download source, checksums),
:mod:`.fetch` (download and install), :mod:`.labels` (COCO's class names) and :mod:`.standin`
(a test double of the real network: its architecture with generated weights).

The cache directory is ``$MASKRCNN_TUTORIAL_CACHE`` if set, else
``$XDG_CACHE_HOME/maskrcnn_tutorial`` (``~/.cache/maskrcnn_tutorial``). The default model is
``coco`` once fetched, else ``shapes``; ``$MASKRCNN_TUTORIAL_MODEL`` names another (``make
test`` uses it to run the notebooks on the model their stored outputs came from).
"""

from maskrcnn_tutorial.models.registry import (
    MODEL_ENV,
    SHAPES_DIR,
    UNPUBLISHED_COCO,
    all_specs,
    default_model_name,
    default_model_notice,
    get_spec,
    is_published_coco,
    load_model,
    shapes_spec,
)
from maskrcnn_tutorial.models.sources import CACHE_ENV, COCO_NAME, cache_dir, coco_spec
from maskrcnn_tutorial.models.spec import ModelSpec
from maskrcnn_tutorial.models.user import (
    check_model_name,
    register_model,
    user_models_dir,
    user_spec,
    user_specs,
)

__all__ = [
    "CACHE_ENV",
    "COCO_NAME",
    "MODEL_ENV",
    "SHAPES_DIR",
    "UNPUBLISHED_COCO",
    "ModelSpec",
    "all_specs",
    "cache_dir",
    "check_model_name",
    "coco_spec",
    "default_model_name",
    "default_model_notice",
    "get_spec",
    "is_published_coco",
    "load_model",
    "register_model",
    "shapes_spec",
    "user_models_dir",
    "user_spec",
    "user_specs",
]
