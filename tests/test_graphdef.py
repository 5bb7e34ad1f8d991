"""The TensorFlow-free GraphDef writer: wire-format basics, and OpenCV reads what it writes."""

from __future__ import annotations

import cv2
import numpy as np

from maskrcnn_tutorial.graph.graphdef import Attr, Node, _varint, const, to_binary, to_text


def test_varints_match_the_protobuf_encoding():
    assert _varint(0) == b"\x00"
    assert _varint(1) == b"\x01"
    assert _varint(300) == b"\xac\x02"
    assert _varint(-1) == b"\xff" * 9 + b"\x01"  # int32/int64 negatives take ten bytes


def test_const_node_bytes():
    data = to_binary([const("w", np.array([1.0], np.float32))])
    assert data.startswith(b"\x0a")  # GraphDef field 1, length-delimited
    assert b"\x0a\x01w\x12\x05Const" in data  # NodeDef name and op
    assert np.float32(1.0).tobytes() in data  # tensor_content, little-endian


def test_opencv_runs_a_tiny_graph_split_into_text_and_weights(tmp_path):
    """Conv2D (SAME, stride 2) + BiasAdd + Relu: structure in .pbtxt, weights in .pb."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)  # HWIO
    biases = rng.normal(size=4).astype(np.float32)
    conv_attrs = {
        "data_format": Attr("s", "NHWC"),
        "padding": Attr("s", "SAME"),
        "strides": Attr("list_i", [1, 2, 2, 1]),
        "dilations": Attr("list_i", [1, 1, 1, 1]),
    }
    nodes = [
        Node("input", "Placeholder", attrs={"dtype": Attr("type", "DT_FLOAT")}),
        Node("conv/Conv2D", "Conv2D", ["input", "conv/weights"], conv_attrs),
        Node(
            "conv/BiasAdd",
            "BiasAdd",
            ["conv/Conv2D", "conv/biases"],
            {"data_format": Attr("s", "NHWC")},
        ),
        Node("conv/Relu", "Relu", ["conv/BiasAdd"]),
    ]
    (tmp_path / "g.pbtxt").write_text(to_text(nodes))
    (tmp_path / "g.pb").write_bytes(
        to_binary([const("conv/weights", weights), const("conv/biases", biases)])
    )
    kwargs = {"engine": cv2.dnn.ENGINE_CLASSIC} if hasattr(cv2.dnn, "ENGINE_CLASSIC") else {}
    net = cv2.dnn.readNetFromTensorflow(str(tmp_path / "g.pb"), str(tmp_path / "g.pbtxt"), **kwargs)
    x = rng.normal(size=(1, 2, 6, 6)).astype(np.float32)  # NCHW
    net.setInput(x)
    got = net.forward()

    # numpy reference: TF SAME with stride 2 on an even size pads one row/column at the end.
    padded = np.pad(x[0].transpose(1, 2, 0), ((0, 1), (0, 1), (0, 0)))
    want = np.zeros((3, 3, 4), np.float32)
    for i in range(3):
        for j in range(3):
            patch = padded[2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
            want[i, j] = np.tensordot(patch, weights, axes=3) + biases
    np.testing.assert_allclose(got[0].transpose(1, 2, 0), np.maximum(want, 0), atol=1e-5)
