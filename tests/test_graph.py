"""The shapes graph writer, without torch: it reproduces the shipped text graph, stage by stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import maskrcnn_tutorial
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.graphdef import to_text
from maskrcnn_tutorial.training import graph
from maskrcnn_tutorial.training.spec import Spec

SHIPPED = Path(maskrcnn_tutorial.__file__).resolve().parent / "models" / "shapes" / "shapes.pbtxt"


def test_build_graph_writes_the_shipped_text_graph_byte_for_byte():
    assert to_text(graph.build_graph(Spec())) == SHIPPED.read_text()


def test_each_stage_reads_only_what_earlier_stages_or_the_weights_provide():
    spec = Spec()
    consts = {"Preprocessor/mul/x", "Preprocessor/sub/y", "proposals/variance"}
    defined: set[str] = set()
    for stage in (
        graph.input_nodes(),
        graph.backbone_nodes(spec),
        graph.rpn_nodes(spec),
        graph.box_head_nodes(spec),
        graph.mask_head_nodes(spec),
    ):
        for node in stage:
            for source in node.inputs:
                weight = source.endswith(("/weights", "/biases"))
                assert source in defined or source in consts or weight, (node.name, source)
            assert node.name not in defined, f"{node.name} defined twice"
            defined.add(node.name)
    assert set(names.PARITY_STAGES) | {names.CROP, names.FEATURES} <= defined


def test_weight_nodes_add_the_graphs_float_constants():
    spec = Spec()
    nodes = graph.weight_nodes({"Conv/weights": np.ones((1, 1, 2, 2), np.float32)}, spec)
    by_name = {node.name: node for node in nodes}
    assert set(by_name) == {"Conv/weights", "Preprocessor/mul/x", "Preprocessor/sub/y",
                            "proposals/variance"}  # fmt: skip
    assert all(node.op == "Const" for node in nodes)
