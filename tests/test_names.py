"""One table of the graph's names (:mod:`maskrcnn_tutorial.graph.names`): every name in it is in
both text graphs, and no other module (nor test) spells one of them as a string literal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from maskrcnn_tutorial.explain.anatomy import TAPS
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.textgraph import Node, external_inputs, read_text_graph
from maskrcnn_tutorial.models import get_spec

from .reference import COCO_PBTXT, coco_text_graph

PACKAGE = Path(names.__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def table() -> set[str]:
    """Every name the table defines (its upper-case string constants)."""
    return {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}


def graph(which: str) -> dict[str, Node]:
    return read_text_graph(get_spec("shapes").config if which == "shapes" else coco_text_graph())


@pytest.mark.parametrize("which", ["shapes", "coco"])
def test_every_name_of_the_table_is_in_both_graphs(which):
    nodes = graph(which)
    assert [name for name in names.LAYERS if name not in nodes] == []
    weights = set(external_inputs(nodes))
    assert [p for p in names.WEIGHTS if f"{p}/weights" not in weights] == []
    for scope in names.SCOPES:
        assert any(name.startswith(f"{scope}/") for name in nodes), scope
    # the grouped tuples hold every name of the table but the shapes graph's own
    assert table() - {names.FEATURES} == {*names.SCOPES, *names.WEIGHTS, *names.LAYERS}
    assert set(names.OUTPUTS) <= set(names.LAYERS)


def test_the_shapes_graphs_own_names():
    nodes = graph("shapes")
    assert names.FEATURES in nodes
    assert nodes[names.CROP].inputs[0] == names.FEATURES == nodes[names.MASK_CROP].inputs[0]
    assert f"{names.backbone_conv(0)}/Conv2D" in nodes
    assert f"{names.second_stage_conv(0)}/Conv2D" in nodes
    assert f"{names.MASK_SECOND_STAGE}/Conv2d_0/Conv2D" in nodes  # the copy, same weights
    assert names.FEATURES not in graph("coco")  # the real backbone is Inception v2


def _allowed(tree: ast.AST, ops: set[str], roles: set[str]) -> set[int]:
    """Literals that are not layer names although they equal one: op types (``node.op ==
    "CropAndResize"``, ``Node(name, "CropAndResize", ...)``, a table keyed by op) and the roles
    of ``anatomy.TAPS`` (``"proposals"``: the layer called ``detection_out``)."""
    allowed: set[int] = set()

    def literals(node: ast.AST) -> list[ast.Constant]:
        return [n for n in ast.walk(node) if isinstance(n, ast.Constant)]

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "op" for s in sides):
                allowed |= {id(c) for s in sides for c in literals(s) if c.value in ops}
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "Node" and len(node.args) > 1:
                allowed |= {id(c) for c in literals(node.args[1]) if c.value in ops}
            if called == "tap":
                allowed |= {id(c) for a in node.args for c in literals(a) if c.value in roles}
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if isinstance(k, ast.Constant)]
            allowed |= {id(k) for k in keys if k.value in ops | roles}
    return allowed


def test_no_module_nor_test_spells_a_name_of_the_table():
    spelled = table()
    graphs = [get_spec("shapes").config, *([COCO_PBTXT] if COCO_PBTXT.is_file() else [])]
    ops = {node.op for path in graphs for node in read_text_graph(path).values()}
    roles = {role for stage in TAPS.values() for role in stage}
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *TESTS.rglob("*.py")]):
        if path in (Path(names.__file__).resolve(), Path(__file__).resolve()):
            continue  # the table itself, and this file's test of the scan
        tree = ast.parse(path.read_text())
        allowed = _allowed(tree, ops, roles)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in spelled and id(node) not in allowed:
                found.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert found == [], "use maskrcnn_tutorial.graph.names instead of these literals"


def test_the_scan_finds_a_spelled_name():
    """The scan above is not blind: a literal layer name is found, an op or role is not."""
    tree = ast.parse(
        'a = "detection_out"\nif node.op == "CropAndResize": pass\nt = {"proposals": names.X}'
    )
    allowed = _allowed(tree, {"CropAndResize"}, {"proposals"})
    found = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and n.value in table() and id(n) not in allowed
    ]
    assert found == ["detection_out"]
