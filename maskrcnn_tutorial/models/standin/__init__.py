"""A stand-in for the real COCO network: its architecture with generated weights (a test double).

The real ``frozen_inference_graph.pb`` cannot be downloaded on the machines this project is
built and tested on. The stand-in lets everything that runs on ``coco`` run there anyway: the
real text graph, plus a weights file holding every constant that graph reads, under the real
names, shapes and dtypes (see :mod:`.manifest`), with seeded values generated in seconds
(see :mod:`.weights`). Its forward pass has the real one's layers, tensor shapes, memory and
time; its detections mean nothing, since it was never trained.

``python -m maskrcnn_tutorial.models.standin DIR [--graph PBTXT]`` writes
``frozen_inference_graph.pb`` and the text graph into ``DIR``.
"""

from __future__ import annotations

from maskrcnn_tutorial.models.standin.manifest import Constant, derive, load, parameter_count
from maskrcnn_tutorial.models.standin.weights import GRAPH_NAME, WEIGHTS_NAME, write_standin

__all__ = [
    "GRAPH_NAME",
    "WEIGHTS_NAME",
    "Constant",
    "derive",
    "load",
    "parameter_count",
    "write_standin",
]
