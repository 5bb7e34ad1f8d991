"""The Mask R-CNN text graph cut in two, so the mask branch runs only on the boxes we keep.

OpenCV runs the whole graph on every forward pass: the mask branch (``CropAndResize_1``, the
second-stage feature extractor run again, the mask head's convolutions, the sigmoid) works on
all 100 rows of ``detection_out_final``, even the ones post-processing throws away. On the
real COCO model that branch is about half of the forward pass.

:func:`split_graph` rewrites the text graph in code (read with :mod:`.textgraph`, whose node
blocks keep their source text: every node is carried over exactly as written, only the mask
crop's two inputs change) into two:

- the *detector*: everything ``detection_out_final`` and ``detection_out`` need. It also
  hands out the feature map the mask branch crops from (an existing layer, asked for by name);
- the *mask head*: ``CropAndResize_1`` and every layer after it up to the sigmoid
  ``detection_masks``, fed by two placeholders: the feature map (:data:`FEATURES_INPUT`) and
  a ``[1, 1, K, 7]`` set of boxes in ``detection_out_final``'s layout (:data:`BOXES_INPUT`).

Both load with ``readNetFromTensorflow`` from the model's own weights file: the text graphs
name the same weight constants, and the weights file is read by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.boxes import normalized
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.net import read_net
from maskrcnn_tutorial.graph.textgraph import Node, node_blocks

#: Placeholder names of the mask head's two inputs.
FEATURES_INPUT = "mask_features"
BOXES_INPUT = "mask_boxes"
#: The outputs the cut is made between.
DETECTIONS = names.DETECTION_OUT_FINAL
PROPOSALS = names.DETECTION_OUT
MASKS = names.DETECTION_MASKS


class GraphFormatError(ValueError):
    """The text graph is not a Mask R-CNN graph this module can cut."""


def source_of(input_name: str) -> str:
    """The node an input refers to (``^ctrl`` and ``name:1`` forms included)."""
    return input_name.lstrip("^").split(":")[0]


def ancestors(
    nodes: dict[str, Node], outputs: list[str], stop: frozenset[str] = frozenset()
) -> set[str]:
    """Names of ``outputs`` and of every node of the graph they read from, directly or not,
    without walking past the nodes in ``stop``."""
    seen: set[str] = set()
    todo = list(outputs)
    while todo:
        name = todo.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        if name not in stop:
            todo.extend(source_of(i) for i in nodes[name].inputs)
    return seen


def placeholder(name: str) -> str:
    """A float32 ``Placeholder`` node: an input of the net, fed with ``setInput(blob, name)``."""
    return (
        f'node {{\n  name: "{name}"\n  op: "Placeholder"\n'
        '  attr {\n    key: "dtype"\n    value {\n      type: DT_FLOAT\n    }\n  }\n}'
    )


@dataclass(frozen=True)
class SplitGraph:
    """The two text graphs and the names that join them."""

    detector: str
    """Text graph up to ``detection_out_final`` (and ``detection_out``)."""
    mask_head: str
    """Text graph of the mask branch, inputs :data:`FEATURES_INPUT` and :data:`BOXES_INPUT`."""
    features: str
    """Name of the detector's layer the mask branch crops from (a detector output)."""
    crop: str
    """Name of the mask branch's CropAndResize node."""
    num_classes: int
    """Classes of ``detection_out_final`` (the mask head's output channels)."""


def mask_crop(nodes: dict[str, Node]) -> Node:
    """The CropAndResize that feeds the mask branch (its boxes are ``detection_out_final``)."""
    for required in (DETECTIONS, MASKS, PROPOSALS):
        if required not in nodes:
            raise GraphFormatError(f"the graph has no {required!r} node: not a Mask R-CNN graph")
    upstream = ancestors(nodes, [MASKS])
    crops = [
        node
        for name, node in nodes.items()
        if node.op == "CropAndResize"
        and name in upstream
        and len(node.inputs) >= 2
        and source_of(node.inputs[1]) == DETECTIONS
    ]
    if len(crops) != 1:
        raise GraphFormatError(
            f"expected one CropAndResize of {DETECTIONS!r} before {MASKS!r}, found {len(crops)}"
        )
    return crops[0]


def split_graph(text: str) -> SplitGraph:
    """Cut a Mask R-CNN text graph into the detector and the mask head (module docstring)."""
    blocks = node_blocks(text)
    nodes = {block.node.name: block.node for block in blocks}
    if len(blocks) != len(nodes):
        raise GraphFormatError(f"{len(blocks)} node blocks but {len(nodes)} distinct node names")
    crop = mask_crop(nodes)
    features = source_of(crop.inputs[0])
    detector = ancestors(nodes, [DETECTIONS, PROPOSALS])
    if features not in detector:
        raise GraphFormatError(f"the mask branch crops {features!r}, which the detector lacks")
    # the branch: every node detection_masks reads from, not walking past the crop, plus the
    # crop's own constant inputs (its crop size)
    branch = ancestors(nodes, [MASKS], stop=frozenset({crop.name}))
    branch |= ancestors(nodes, [source_of(name) for name in crop.inputs[2:]])
    computed = {name for name, node in nodes.items() if node.op != "Const"}
    if leaked := sorted(branch & detector & computed):
        raise GraphFormatError(f"the mask branch reads detector layers besides the crop: {leaked}")
    head = [placeholder(FEATURES_INPUT), placeholder(BOXES_INPUT)]
    kept = []
    for block in blocks:
        name = block.node.name
        if name == crop.name:
            head.append(block.with_inputs({0: FEATURES_INPUT, 1: BOXES_INPUT}))
        elif name in branch:
            head.append(block.text)
        if name in detector:
            kept.append(block.text)
    return SplitGraph(
        detector="\n".join(kept) + "\n",
        mask_head="\n".join(head) + "\n",
        features=features,
        crop=crop.name,
        num_classes=int(nodes[DETECTIONS].attr("num_classes", 0)),
    )


def boxes_blob(rows: np.ndarray) -> np.ndarray:
    """``[1, 1, K, 7]`` float32 boxes for the mask head from ``detection_out_final`` rows
    (columns 3..6 are the normalised corners x1, y1, x2, y2)."""
    rows = np.asarray(rows, np.float32).reshape(-1, 7)
    return np.ascontiguousarray(rows.reshape(1, 1, -1, 7))


def box_rows(boxes: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """``detection_out_final``-style rows for pixel boxes ``[left, top, right, bottom]`` in an
    image of ``image_shape`` (height, width): the inverse of post-processing's ``int(W * x)``."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    rows = np.zeros((len(boxes), 7), np.float32)
    rows[:, 2] = 1.0
    rows[:, 3:] = normalized(boxes, image_shape)
    return np.clip(rows, 0.0, 1.0)


@dataclass
class SplitNet:
    """The detector and the mask head of one model, loaded from its own weights file."""

    detector: cv2.dnn.Net
    head: cv2.dnn.Net
    graph: SplitGraph

    @classmethod
    def load(cls, weights: str | Path, config: str | Path) -> SplitNet:
        """Split the text graph ``config`` and load both halves with ``weights``."""
        try:
            graph = split_graph(Path(config).read_text())
        except (GraphFormatError, ValueError, IndexError) as exc:
            raise UserError(
                f"cannot split the text graph {config} ({exc}); run the whole graph instead "
                "(--mask-branch full)"
            ) from None
        buffer = np.fromfile(weights, np.uint8)
        what = f"{weights} with the %s cut from {config}"
        return cls(
            detector=read_net(buffer, _bytes(graph.detector), what % "detector"),
            head=read_net(buffer, _bytes(graph.mask_head), what % "mask head"),
            graph=graph,
        )

    @property
    def nets(self) -> tuple[cv2.dnn.Net, cv2.dnn.Net]:
        return (self.detector, self.head)

    def detect(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``detection_out_final``, ``detection_out`` and the feature map for an input blob."""
        self.detector.setInput(blob)
        final, proposals, features = self.detector.forward(
            [DETECTIONS, PROPOSALS, self.graph.features]
        )
        return final, proposals, features

    def masks(self, features: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """[K, C, 15, 15] mask probabilities for K ``detection_out_final``-style rows (only
        columns 3..6, the box, matter). K = 0 runs nothing."""
        rows = np.asarray(rows, np.float32).reshape(-1, 7)
        if len(rows) == 0:
            return np.zeros((0, self.graph.num_classes, 15, 15), np.float32)
        self.head.setInput(features, FEATURES_INPUT)
        self.head.setInput(boxes_blob(rows), BOXES_INPUT)
        return self.head.forward(MASKS)

    def masks_for_rows(
        self, features: np.ndarray, final: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        """[N, C, 15, 15] masks for all rows of ``final``: computed for ``rows``, NaN elsewhere."""
        table = final.reshape(-1, 7)
        out = np.full((len(table), self.graph.num_classes, 15, 15), np.nan, np.float32)
        out[rows] = self.masks(features, table[rows])
        return out


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), np.uint8)
