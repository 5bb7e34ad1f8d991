"""The shapes model's OpenCV text graph, in the real Mask R-CNN graph's vocabulary and names.

``build_graph`` returns the structural nodes (for the ``.pbtxt``, small int constants included)
and ``weight_nodes`` the float Const nodes (for the weights-only ``.pb``). Conv weights are HWIO,
MatMul weights [in, out]; box predictors carry ``loc_pred_transposed`` because they emit TF's
(ty, tx, th, tw) order, which OpenCV's importer turns into (tx, ty, tw, th).
"""

from __future__ import annotations

import numpy as np

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.graphdef import Attr, Node, const
from maskrcnn_tutorial.graph.names import FEATURES, INPUT
from maskrcnn_tutorial.training.spec import Spec


def _i32(*values: int) -> np.ndarray:
    return np.asarray(values, np.int32)


def _f32_list(values) -> Attr:
    return Attr("tensor", np.asarray(values, np.float32))


def _conv(
    name: str, src: str, weights: str, stride: int = 1, *, transposed: bool = False
) -> list[Node]:
    """Conv2D + BiasAdd (SAME padding, NHWC); biases are ``<weights prefix>/biases``."""
    attrs = {
        "data_format": Attr("s", "NHWC"),
        "padding": Attr("s", "SAME"),
        "strides": Attr("list_i", [1, stride, stride, 1]),
        "dilations": Attr("list_i", [1, 1, 1, 1]),
    }
    if transposed:
        attrs["loc_pred_transposed"] = Attr("b", True)
    biases = weights.rsplit("/", 1)[0] + "/biases"
    return [
        Node(f"{name}/Conv2D", "Conv2D", [src, weights], attrs),
        Node(
            f"{name}/BiasAdd",
            "BiasAdd",
            [f"{name}/Conv2D", biases],
            {"data_format": Attr("s", "NHWC")},
        ),
    ]


def _matmul(name: str, src: str, *, transposed: bool = False) -> list[Node]:
    attrs = {"transpose_a": Attr("b", False), "transpose_b": Attr("b", False)}
    if transposed:
        attrs["loc_pred_transposed"] = Attr("b", True)
    return [
        Node(f"{name}/MatMul", "MatMul", [src, f"{name}/weights"], attrs),
        Node(
            f"{name}/BiasAdd",
            "BiasAdd",
            [f"{name}/MatMul", f"{name}/biases"],
            {"data_format": Attr("s", "NHWC")},
        ),
    ]


def _maxpool(name: str, src: str) -> Node:
    return Node(
        name,
        "MaxPool",
        [src],
        {
            "data_format": Attr("s", "NHWC"),
            "ksize": Attr("list_i", [1, 2, 2, 1]),
            "strides": Attr("list_i", [1, 2, 2, 1]),
            "padding": Attr("s", "VALID"),
        },
    )


def _crop(name: str, features: str, boxes: str, size: int) -> list[Node]:
    return [
        const(f"{name}/crop_size", _i32(size, size)),
        Node(
            name,
            "CropAndResize",
            [features, boxes, f"{name}/crop_size"],
            {"extrapolation_value": Attr("f", 0.0), "method": Attr("s", "bilinear")},
        ),
    ]


def _second_stage(prefix: str, src: str, spec: Spec) -> tuple[list[Node], str]:
    """The second-stage convs; the ``_1`` copy reuses the weights of the first."""
    nodes: list[Node] = []
    for i in range(len(spec.second_stage)):
        name = f"{prefix}/Conv2d_{i}"
        nodes += _conv(name, src, f"{names.second_stage_conv(i)}/weights")
        nodes.append(Node(f"{name}/Relu", "Relu", [f"{name}/BiasAdd"]))
        src = f"{name}/Relu"
    return nodes, src


def _detection_attrs(**kwargs) -> dict[str, Attr]:
    kinds = {bool: "b", int: "i", float: "f", str: "s"}
    return {k: Attr(kinds[type(v)], v) for k, v in kwargs.items()}


def input_nodes() -> list[Node]:
    """The uint8 image placeholder and the preprocessor (pixels scaled to [-1, 1])."""
    return [
        Node(
            INPUT,
            "Placeholder",
            attrs={"dtype": Attr("type", "DT_UINT8"), "shape": Attr("shape", [-1, -1, -1, 3])},
        ),
        Node("Preprocessor/mul", "Mul", [INPUT, "Preprocessor/mul/x"]),
        Node("Preprocessor/sub", "Sub", ["Preprocessor/mul", "Preprocessor/sub/y"]),
    ]


def backbone_nodes(spec: Spec) -> list[Node]:
    """The backbone's conv + ReLU layers; the last ReLU is :data:`names.FEATURES`."""
    nodes: list[Node] = []
    src = "Preprocessor/sub"
    for i, (_, stride) in enumerate(spec.backbone):
        name = names.backbone_conv(i)
        nodes += _conv(name, src, f"{name}/weights", stride)
        relu = FEATURES if i == len(spec.backbone) - 1 else f"{name}/Relu"
        nodes.append(Node(relu, "Relu", [f"{name}/BiasAdd"]))
        src = relu
    return nodes


def rpn_nodes(spec: Spec) -> list[Node]:
    """Stage 1: the RPN heads, the anchors (PriorBox) and the proposals (DetectionOutput)."""
    box, cls = names.RPN_BOX, names.RPN_CLASS
    nodes = _conv(names.RPN_CONV, FEATURES, f"{names.RPN_CONV}/weights")
    nodes.append(Node(f"{names.RPN_CONV}/Relu6", "Relu6", [f"{names.RPN_CONV}/BiasAdd"]))
    nodes += _conv(box, f"{names.RPN_CONV}/Relu6", f"{box}/weights", transposed=True)
    nodes += _conv(cls, f"{names.RPN_CONV}/Relu6", f"{cls}/weights")
    nodes += [
        const(f"{cls}/reshape_1/shape", _i32(0, -1, 2)),
        Node(f"{cls}/reshape_1", "Reshape", [f"{cls}/BiasAdd", f"{cls}/reshape_1/shape"]),
        Node(f"{cls}/softmax", "Softmax", [f"{cls}/reshape_1"], {"axis": Attr("i", -1)}),
        Node(names.RPN_SCORES_FLAT, "Flatten", [f"{cls}/softmax"]),
        Node(names.RPN_BOX_FLAT, "Flatten", [f"{box}/BiasAdd"]),
        Node(
            names.PROPOSALS,
            "PriorBox",
            [f"{box}/BiasAdd", INPUT],
            {
                "clip": Attr("b", True),
                "flip": Attr("b", False),
                "width": _f32_list([w for _, w in spec.anchors_hw]),
                "height": _f32_list([h for h, _ in spec.anchors_hw]),
                "offset": Attr("f", 0.0),
                "step": Attr("f", float(spec.feature_stride)),
                "variance": _f32_list(spec.variances),
            },
        ),
        Node(
            names.DETECTION_OUT,
            "DetectionOutput",
            [names.RPN_BOX_FLAT, names.RPN_SCORES_FLAT, names.PROPOSALS],
            _detection_attrs(
                background_label_id=0,
                clip=True,
                code_type="CENTER_SIZE",
                keep_top_k=spec.proposals,
                nms_threshold=spec.rpn_nms,
                num_classes=2,
                share_location=True,
                top_k=spec.rpn_top_k,
            ),
        ),
    ]
    return nodes


def box_head_nodes(spec: Spec) -> list[Node]:
    """Stage 2: crops of the proposals, the box and class heads, the final DetectionOutput."""
    c = spec.num_classes
    nodes = _crop(names.CROP, FEATURES, names.DETECTION_OUT, spec.crop_size)
    nodes.append(_maxpool(names.CROP_POOL, names.CROP))
    stage, src = _second_stage(names.SECOND_STAGE, names.CROP_POOL, spec)
    nodes += stage
    sbox, scls = names.BOX_FC, names.CLASS_FC
    nodes += [
        const(f"{names.ROI_FEATURES}/reduction_indices", _i32(1, 2)),
        Node(
            names.ROI_FEATURES,
            "Mean",
            [src, f"{names.ROI_FEATURES}/reduction_indices"],
            {"keep_dims": Attr("b", True)},
        ),
        Node(names.ROI_FLAT, "Flatten", [names.ROI_FEATURES]),
    ]
    flat = names.ROI_FLAT
    nodes += _matmul(sbox, flat, transposed=True)
    nodes += _matmul(scls, flat)
    r1 = f"{names.BOX_PREDICTOR}/Reshape_1"
    nodes += [
        const(f"{names.BOX_DELTAS_RAW}/shape2", _i32(1, -1, 4)),
        Node(
            names.BOX_DELTAS_RAW,
            "Reshape",
            [f"{sbox}/BiasAdd", f"{names.BOX_DELTAS_RAW}/shape2"],
        ),
        const(f"{r1}/shape", _i32(1, -1, c + 1)),
        Node(r1, "Reshape", [f"{scls}/BiasAdd", f"{r1}/shape"]),
        Node(f"{r1}/softmax", "Softmax", [r1], {"axis": Attr("i", -1)}),
        const(f"{r1}/slice/begins", _i32(0, 0, 1)),
        const(f"{r1}/slice/sizes", _i32(-1, -1, -1)),
        Node(f"{r1}/slice", "Slice", [f"{r1}/softmax", f"{r1}/slice/begins", f"{r1}/slice/sizes"]),
        const(f"{r1}/Reshape/shape", _i32(1, -1)),
        Node(names.CLASS_SCORES, "Reshape", [f"{r1}/slice", f"{r1}/Reshape/shape"]),
        const("detection_out/slice/begins", _i32(0, 0, 0, 3)),
        const("detection_out/slice/sizes", _i32(-1, -1, -1, 4)),
        Node(
            "detection_out/slice",
            "Slice",
            [names.DETECTION_OUT, "detection_out/slice/begins", "detection_out/slice/sizes"],
        ),
        Node(
            names.VARIANCE_ENCODED,
            "Mul",
            [names.BOX_DELTAS_RAW, f"{names.PROPOSALS}/variance"],
            {"axis": Attr("i", 2)},
        ),
        const("detection_out/slice/reshape/shape", _i32(1, 1, -1)),
        Node(
            "detection_out/slice/reshape",
            "Reshape",
            ["detection_out/slice", "detection_out/slice/reshape/shape"],
        ),
        Node(names.BOX_DELTAS, "Flatten", [names.VARIANCE_ENCODED]),
        Node(
            names.DETECTION_OUT_FINAL,
            "DetectionOutput",
            [names.BOX_DELTAS, names.CLASS_SCORES, "detection_out/slice/reshape"],
            _detection_attrs(
                background_label_id=c + 1,
                clip=True,
                code_type="CENTER_SIZE",
                confidence_threshold=spec.score_threshold,
                group_by_classes=False,
                keep_top_k=spec.detections,
                nms_threshold=spec.final_nms,
                num_classes=c,
                share_location=False,
                variance_encoded_in_target=True,
            ),
        ),
    ]
    return nodes


def mask_head_nodes(spec: Spec) -> list[Node]:
    """The mask branch: crops of the final detections, the shared second stage, the mask
    convolutions and the sigmoid (:data:`names.DETECTION_MASKS`)."""
    nodes = _crop(names.MASK_CROP, FEATURES, names.DETECTION_OUT_FINAL, spec.crop_size)
    nodes.append(_maxpool(names.MASK_CROP_POOL, names.MASK_CROP))
    stage, src = _second_stage(names.MASK_SECOND_STAGE, names.MASK_CROP_POOL, spec)
    nodes += stage
    m = names.MASK_PREDICTOR
    nodes += [
        const(f"{m}/ResizeBilinear/size", _i32(spec.mask_size, spec.mask_size)),
        Node(
            f"{m}/ResizeBilinear",
            "ResizeBilinear",
            [src, f"{m}/ResizeBilinear/size"],
            {"align_corners": Attr("b", True)},
        ),
    ]
    nodes += _conv(f"{m}/Conv", f"{m}/ResizeBilinear", f"{names.MASK_CONV}/weights")
    nodes.append(Node(f"{m}/Conv/Relu", "Relu", [f"{m}/Conv/BiasAdd"]))
    nodes += _conv(f"{m}/Conv_1", f"{m}/Conv/Relu", f"{names.MASK_OUT}/weights")
    nodes += [
        const(f"{m}/transpose/perm", _i32(0, 3, 1, 2)),
        Node(f"{m}/transpose", "Transpose", [f"{m}/Conv_1/BiasAdd", f"{m}/transpose/perm"]),
        Node(names.DETECTION_MASKS, "Sigmoid", [f"{m}/transpose"]),
    ]
    return nodes


def build_graph(spec: Spec) -> list[Node]:
    """All structural nodes of the text graph (weights excluded), stage by stage."""
    return [
        *input_nodes(),
        *backbone_nodes(spec),
        *rpn_nodes(spec),
        *box_head_nodes(spec),
        *mask_head_nodes(spec),
    ]


def weight_nodes(weights: dict[str, np.ndarray], spec: Spec) -> list[Node]:
    """Float Const nodes for the ``.pb``: the learned weights plus the graph's float constants."""
    consts = {
        "Preprocessor/mul/x": np.asarray(2.0 / 255.0, np.float32),
        "Preprocessor/sub/y": np.asarray(1.0, np.float32),
        f"{names.PROPOSALS}/variance": np.asarray(spec.variances, np.float32),
    }
    return [const(name, np.asarray(a, np.float32)) for name, a in {**weights, **consts}.items()]
