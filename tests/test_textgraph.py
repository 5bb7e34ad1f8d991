import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.textgraph import (
    external_inputs,
    node_blocks,
    parse_text_graph,
    read_text_graph,
)
from maskrcnn_tutorial.models import get_spec
from tests.reference import coco_text_graph

TEXT = """
node {
  name: "a"
  op: "Const"  # a comment
  attr { key: "value" value { tensor { dtype: DT_INT32 int_val: 3 int_val: -1 } } }
}
node {
  name: "b/c"
  op: "PriorBox"
  input: "a"
  input: "image_tensor"
  attr { key: "step" value { f: 16.0 } }
  attr { key: "clip" value { b: true } }
  attr { key: "code" value { s: "CENTER_SIZE" } }
  attr { key: "strides" value { list { i: 1 i: 2 } } }
  attr { key: "width" value { tensor { dtype: DT_FLOAT float_val: 45.25 float_val: 90.5 } } }
}
"""


def test_nodes_inputs_and_attributes():
    graph = parse_text_graph(TEXT)
    assert list(graph) == ["a", "b/c"]
    node = graph["b/c"]
    assert (node.op, node.inputs) == ("PriorBox", ("a", names.INPUT))
    assert node.attr("step") == 16.0 and node.attr("clip") is True
    assert node.attr("code") == "CENTER_SIZE" and node.attr("strides") == [1, 2]
    np.testing.assert_array_equal(node.attr("width"), np.array([45.25, 90.5], np.float32))
    np.testing.assert_array_equal(graph["a"].attr("value"), [3, -1])
    assert node.attr("missing", 7) == 7


def test_node_blocks_keep_their_text_and_where_their_inputs_are():
    blocks = node_blocks(TEXT)
    assert [block.node.name for block in blocks] == list(parse_text_graph(TEXT)) == ["a", "b/c"]
    assert blocks[1].node.inputs == ("a", names.INPUT)
    assert blocks[0].text.startswith('node {\n  name: "a"') and blocks[0].text.endswith("}\n}")
    assert blocks[1].text == TEXT[TEXT.index('node {\n  name: "b/c"') : TEXT.rindex("}") + 1]
    second = blocks[1]
    assert [second.text[a:b] for a, b in second.input_spans] == ['"a"', '"image_tensor"']
    rewired = second.with_inputs({1: 'x"y'})
    assert parse_text_graph(rewired)["b/c"].inputs == ("a", 'x"y')
    assert rewired.replace('"x\\"y"', '"image_tensor"') == second.text


def test_the_shapes_graph():
    graph = read_text_graph(get_spec("shapes").config)
    assert graph[names.DETECTION_OUT].op == "DetectionOutput"
    assert graph[names.DETECTION_OUT].attr("top_k") == 6000
    assert len(graph[names.PROPOSALS].attr("width")) == 12


def test_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_text_graph(tmp_path / "none.pbtxt")


def test_garbage_is_refused():
    with pytest.raises(ValueError, match="cannot parse"):
        parse_text_graph('node { name: "a" op: "X" } } {{ "unterminated')


def test_the_real_graph_reads_381_constants_from_the_weights_file():
    nodes = read_text_graph(coco_text_graph())
    assert len(nodes) == 346
    external = external_inputs(nodes)
    assert len(external) == len(set(external)) == 381
    assert "^FirstStageFeatureExtractor/Assert/Assert" not in external
    assert "Conv/weights" in external and names.PROPOSALS not in external
