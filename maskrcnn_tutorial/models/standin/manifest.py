"""Derive the stand-in's manifest: every constant the real text graph reads from its weights file.

The real graph (OpenCV's ``mask_rcnn_inception_v2_coco_2018_01_28.pbtxt``) names 381
constants it does not define; ``readNetFromTensorflow`` looks each one up in
``frozen_inference_graph.pb``. Their names come from the graph itself
(:func:`maskrcnn_tutorial.graph.textgraph.external_inputs`); their shapes follow from three public
sources, encoded in the tables below:

- TF-slim ``nets/inception_v2.py`` (depth multiplier 1, separable first layer with
  depthwise multiplier ``min(64 // 3, 8) = 8``): the output depth of every backbone
  convolution, :data:`INCEPTION_V2_DEPTHS`.
- The Object Detection API's ``samples/configs/mask_rcnn_inception_v2_coco.config`` and
  Faster R-CNN Inception V2 feature extractor: 90 classes, a 512-deep RPN convolution, the
  mask head's automatic 256-deep convolution, 14 x 14 crops and 15 x 15 masks,
  :data:`HEADS`.
- The graph: kernel sizes from layer names (``Conv2d_0b_3x3``), input depths propagated node
  by node, the number of anchors per position from the PriorBox layer, and the structural
  integer constants (concat axes, crop size, ...) from what each consuming op needs.

Regenerate the shipped ``manifest.json`` with ``python -m maskrcnn_tutorial.models.standin
--write-manifest --graph PBTXT``; ``tests/test_standin.py`` re-derives it from the real graph
and compares.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.textgraph import Node, external_inputs, read_text_graph

MANIFEST = Path(__file__).resolve().parent / "manifest.json"

#: Output depth of each Inception V2 convolution (TF-slim ``inception_v2_base``), by scope.
INCEPTION_V2_DEPTHS: dict[str, int] = {
    "Conv2d_1a_7x7": 64, "Conv2d_2b_1x1": 64, "Conv2d_2c_3x3": 192,
    "Mixed_3b/Branch_0/Conv2d_0a_1x1": 64, "Mixed_3b/Branch_1/Conv2d_0a_1x1": 64,
    "Mixed_3b/Branch_1/Conv2d_0b_3x3": 64, "Mixed_3b/Branch_2/Conv2d_0a_1x1": 64,
    "Mixed_3b/Branch_2/Conv2d_0b_3x3": 96, "Mixed_3b/Branch_2/Conv2d_0c_3x3": 96,
    "Mixed_3b/Branch_3/Conv2d_0b_1x1": 32,
    "Mixed_3c/Branch_0/Conv2d_0a_1x1": 64, "Mixed_3c/Branch_1/Conv2d_0a_1x1": 64,
    "Mixed_3c/Branch_1/Conv2d_0b_3x3": 96, "Mixed_3c/Branch_2/Conv2d_0a_1x1": 64,
    "Mixed_3c/Branch_2/Conv2d_0b_3x3": 96, "Mixed_3c/Branch_2/Conv2d_0c_3x3": 96,
    "Mixed_3c/Branch_3/Conv2d_0b_1x1": 64,
    "Mixed_4a/Branch_0/Conv2d_0a_1x1": 128, "Mixed_4a/Branch_0/Conv2d_1a_3x3": 160,
    "Mixed_4a/Branch_1/Conv2d_0a_1x1": 64, "Mixed_4a/Branch_1/Conv2d_0b_3x3": 96,
    "Mixed_4a/Branch_1/Conv2d_1a_3x3": 96,
    "Mixed_4b/Branch_0/Conv2d_0a_1x1": 224, "Mixed_4b/Branch_1/Conv2d_0a_1x1": 64,
    "Mixed_4b/Branch_1/Conv2d_0b_3x3": 96, "Mixed_4b/Branch_2/Conv2d_0a_1x1": 96,
    "Mixed_4b/Branch_2/Conv2d_0b_3x3": 128, "Mixed_4b/Branch_2/Conv2d_0c_3x3": 128,
    "Mixed_4b/Branch_3/Conv2d_0b_1x1": 128,
    "Mixed_4c/Branch_0/Conv2d_0a_1x1": 192, "Mixed_4c/Branch_1/Conv2d_0a_1x1": 96,
    "Mixed_4c/Branch_1/Conv2d_0b_3x3": 128, "Mixed_4c/Branch_2/Conv2d_0a_1x1": 96,
    "Mixed_4c/Branch_2/Conv2d_0b_3x3": 128, "Mixed_4c/Branch_2/Conv2d_0c_3x3": 128,
    "Mixed_4c/Branch_3/Conv2d_0b_1x1": 128,
    "Mixed_4d/Branch_0/Conv2d_0a_1x1": 160, "Mixed_4d/Branch_1/Conv2d_0a_1x1": 128,
    "Mixed_4d/Branch_1/Conv2d_0b_3x3": 160, "Mixed_4d/Branch_2/Conv2d_0a_1x1": 128,
    "Mixed_4d/Branch_2/Conv2d_0b_3x3": 160, "Mixed_4d/Branch_2/Conv2d_0c_3x3": 160,
    "Mixed_4d/Branch_3/Conv2d_0b_1x1": 96,
    "Mixed_4e/Branch_0/Conv2d_0a_1x1": 96, "Mixed_4e/Branch_1/Conv2d_0a_1x1": 128,
    "Mixed_4e/Branch_1/Conv2d_0b_3x3": 192, "Mixed_4e/Branch_2/Conv2d_0a_1x1": 160,
    "Mixed_4e/Branch_2/Conv2d_0b_3x3": 192, "Mixed_4e/Branch_2/Conv2d_0c_3x3": 192,
    "Mixed_4e/Branch_3/Conv2d_0b_1x1": 96,
    "Mixed_5a/Branch_0/Conv2d_0a_1x1": 128, "Mixed_5a/Branch_0/Conv2d_1a_3x3": 192,
    "Mixed_5a/Branch_1/Conv2d_0a_1x1": 192, "Mixed_5a/Branch_1/Conv2d_0b_3x3": 256,
    "Mixed_5a/Branch_1/Conv2d_1a_3x3": 256,
    "Mixed_5b/Branch_0/Conv2d_0a_1x1": 352, "Mixed_5b/Branch_1/Conv2d_0a_1x1": 192,
    "Mixed_5b/Branch_1/Conv2d_0b_3x3": 320, "Mixed_5b/Branch_2/Conv2d_0a_1x1": 160,
    "Mixed_5b/Branch_2/Conv2d_0b_3x3": 224, "Mixed_5b/Branch_2/Conv2d_0c_3x3": 224,
    "Mixed_5b/Branch_3/Conv2d_0b_1x1": 128,
    "Mixed_5c/Branch_0/Conv2d_0a_1x1": 352, "Mixed_5c/Branch_1/Conv2d_0a_1x1": 192,
    "Mixed_5c/Branch_1/Conv2d_0b_3x3": 320, "Mixed_5c/Branch_2/Conv2d_0a_1x1": 192,
    "Mixed_5c/Branch_2/Conv2d_0b_3x3": 224, "Mixed_5c/Branch_2/Conv2d_0c_3x3": 224,
    "Mixed_5c/Branch_3/Conv2d_0b_1x1": 128,
}  # fmt: skip

NUM_CLASSES = 90
"""``num_classes`` of the Object Detection API config (COCO's 90 category slots)."""

#: The heads' output depths and kernel sizes (Object Detection API config and predictors).
#: ``None`` depth means "computed from NUM_CLASSES or the anchors" (see :func:`_head_depth`).
HEADS: dict[str, tuple[int, int | None]] = {
    names.RPN_CONV: (3, 512),  # first_stage_box_predictor_kernel_size 3, depth 512
    names.RPN_BOX: (1, None),  # 4 per anchor
    names.RPN_CLASS: (1, None),  # 2 per anchor (background, object)
    names.MASK_CONV: (3, 256),  # mask head: automatic depth rule gives 256
    names.MASK_OUT: (3, NUM_CLASSES),  # one mask per class
}

#: Fully connected second-stage layers: output width.
DENSE: dict[str, int] = {
    names.CLASS_FC: NUM_CLASSES + 1,  # background first
    names.BOX_FC: NUM_CLASSES * 4,  # class-specific boxes
}

#: Structural integer/float constants, by the op that consumes them.
FIXED: dict[str, tuple[str, list]] = {
    "CropAndResize": ("int32", [14, 14]),  # initial_crop_size 14
    "ResizeBilinear": ("int32", [15, 15]),  # mask_height, mask_width 15
    "Mean": ("int32", [1, 2]),  # average over height and width
    "Transpose": ("int32", [0, 3, 1, 2]),  # NHWC -> NCHW masks
    "ConcatV2": ("int32", [3]),  # concatenate channels (NHWC)
    "Mul": ("float32", [2.0 / 255.0]),  # Preprocessor: pixels to [-1, 1]
    "Sub": ("float32", [1.0]),
    "Reshape": ("int32", [-1, 1, NUM_CLASSES + 1]),  # class scores per proposal
}

BATCHNORM_FIELDS = ("gamma", "beta", "moving_mean", "moving_variance")


@dataclass(frozen=True)
class Constant:
    """One constant of the weights file: name, shape, dtype, role, fixed value if any."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str
    """kernel, depthwise, batchnorm/<field>, bias, dense, or fixed."""
    value: tuple[float, ...] | None = None

    @property
    def size(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


def _kernel_size(name: str) -> int:
    match = re.search(r"_(\d+)x\1(?:/|$)", name)
    return int(match.group(1)) if match else 1


def _scope(weight_name: str) -> str:
    """``.../InceptionV2/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights`` -> ``Mixed_3b/...3x3``."""
    parts = weight_name.split("/")
    if "InceptionV2" in parts:
        parts = parts[len(parts) - 1 - parts[::-1].index("InceptionV2") + 1 :]
    return "/".join(parts[:-1])


def _num_anchors(nodes: dict[str, Node]) -> int:
    priors = [node for node in nodes.values() if node.op == "PriorBox"]
    if len(priors) != 1:
        raise ValueError(f"expected one PriorBox layer, found {len(priors)}")
    return len(priors[0].attr("width"))


def derive(graph: str | Path) -> list[Constant]:
    """Every constant the text graph at ``graph`` reads from the weights file, in first-use
    order, with its shape from the tables above and channel depths propagated through it."""
    nodes = read_text_graph(graph)
    external = external_inputs(nodes)
    needed = set(external)
    anchors = _num_anchors(nodes)
    head_depth = {
        names.RPN_BOX: 4 * anchors,
        names.RPN_CLASS: 2 * anchors,
    }
    depth: dict[str, int] = {}
    found: dict[str, Constant] = {}

    def add(name: str, shape: tuple[int, ...], dtype: str, role: str, value=None) -> None:
        if name in needed and name not in found:
            found[name] = Constant(name, tuple(shape), dtype, role, value)

    for node in nodes.values():
        first = depth.get(node.inputs[0]) if node.inputs else None
        if node.op == "Placeholder":
            depth[node.name] = 3
        elif node.op == "DepthwiseConv2dNative":
            multiplier = min(64 // first, 8)
            add(node.inputs[1], (7, 7, first, multiplier), "float32", "depthwise")
            depth[node.name] = first * multiplier
        elif node.op == "Conv2D":
            weights = node.inputs[1]
            scope = _scope(weights)
            if scope.endswith("Conv2d_1a_7x7"):
                size, out = 1, INCEPTION_V2_DEPTHS["Conv2d_1a_7x7"]  # the pointwise half
            elif scope in INCEPTION_V2_DEPTHS:
                size, out = _kernel_size(scope), INCEPTION_V2_DEPTHS[scope]
            else:
                size, out = HEADS[scope]
                out = out or head_depth[scope]
            add(weights, (size, size, first, out), "float32", "kernel")
            depth[node.name] = out
        elif node.op == "MatMul":
            scope = _scope(node.inputs[1])
            add(node.inputs[1], (first, DENSE[scope]), "float32", "dense")
            depth[node.name] = DENSE[scope]
        elif node.op == "FusedBatchNorm":
            for field_name, name in zip(BATCHNORM_FIELDS, node.inputs[1:5], strict=True):
                add(name, (first,), "float32", f"batchnorm/{field_name}")
            depth[node.name] = first
        elif node.op == "BiasAdd":
            add(node.inputs[1], (first,), "float32", "bias")
            depth[node.name] = first
        elif node.op == "ConcatV2":
            add(node.inputs[-1], (), *FIXED["ConcatV2"][:1], "fixed", (3,))
            depth[node.name] = sum(depth[name] for name in node.inputs[:-1])
        elif node.op in ("CropAndResize", "ResizeBilinear", "Mean", "Transpose", "Reshape"):
            dtype, value = FIXED[node.op]
            if len(node.inputs) > 1 and node.inputs[-1] in needed:
                add(node.inputs[-1], (len(value),), dtype, "fixed", tuple(value))
            depth[node.name] = first if first is not None else 0
        elif node.op in ("Mul", "Sub") and node.name.startswith(names.PREPROCESSOR):
            dtype, value = FIXED[node.op]
            add(node.inputs[1], (), dtype, "fixed", tuple(value))
            depth[node.name] = first
        elif first is not None:
            depth[node.name] = first
    missing = [name for name in external if name not in found]
    if missing:
        raise ValueError(f"no rule gives the shape of {len(missing)} constants, e.g. {missing[0]}")
    return [found[name] for name in external]


def write(constants: list[Constant], path: Path = MANIFEST) -> Path:
    """Save ``constants`` as the manifest JSON (one object per constant)."""
    rows = [json.dumps({k: v for k, v in asdict(c).items() if v is not None}) for c in constants]
    path.write_text("[\n" + ",\n".join(rows) + "\n]\n")
    return path


def load(path: Path = MANIFEST) -> list[Constant]:
    """The shipped manifest."""
    rows = json.loads(Path(path).read_text())
    return [
        Constant(
            row["name"],
            tuple(row["shape"]),
            row["dtype"],
            row["role"],
            tuple(row["value"]) if "value" in row else None,
        )
        for row in rows
    ]


def parameter_count(constants: list[Constant]) -> int:
    """Learned values: kernels, dense weights, biases and batch-norm gamma, beta, mean,
    variance (fixed structural constants excluded)."""
    return sum(c.size for c in constants if c.role != "fixed")
