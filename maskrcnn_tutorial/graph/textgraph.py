"""Reading OpenCV's text graph (``.pbtxt``): every node's name, op, inputs and attributes.

The text graph holds the parameters of OpenCV's custom layers (PriorBox, DetectionOutput): anchor
sizes, variances, NMS thresholds, ``top_k``. Code that explains those layers reads them from here
instead of repeating them. Only the protobuf text format's subset these graphs use is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskrcnn_tutorial.errors import UserError

#: A comment (skipped), a name, ":", "{", "}", a quoted string or any other scalar.
_TOKEN = re.compile(
    r'\s*(?:#[^\n]*|([A-Za-z_][\w]*)|(:)|(\{)|(\})|("(?:[^"\\]|\\.)*")|([^\s{}:"]+))'
)


@dataclass(frozen=True)
class Node:
    """One node of the text graph."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    """Attribute values: float, int, bool, str, a numpy array (a tensor) or a list."""

    def attr(self, key: str, default: Any = None) -> Any:
        """The value of attribute ``key``, or ``default`` when the node does not set it."""
        return self.attrs.get(key, default)


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot parse the text graph near {text[pos : pos + 40]!r}")
        pos = match.end()
        token = next((group for group in match.groups() if group is not None), None)
        if token is not None:
            tokens.append(token)
    return tokens


def _message(tokens: list[str], pos: int) -> tuple[dict[str, list[Any]], int]:
    """Parse fields until a closing brace (or the end); every field maps to a list of values."""
    fields: dict[str, list[Any]] = {}
    while pos < len(tokens) and tokens[pos] != "}":
        key = tokens[pos]
        if tokens[pos + 1] == ":" and tokens[pos + 2] != "{":
            value, pos = _scalar(tokens[pos + 2]), pos + 3
        else:
            pos += 2 if tokens[pos + 1] == "{" else 3
            value, pos = _message(tokens, pos)
            pos += 1  # the closing brace
        fields.setdefault(key, []).append(value)
    return fields, pos


def _scalar(token: str) -> Any:
    if token.startswith('"'):
        return token[1:-1].encode().decode("unicode_escape")
    if token in ("true", "false"):
        return token == "true"
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token  # an enum name such as DT_FLOAT


def _attr_value(value: dict[str, list[Any]]) -> Any:
    for key in ("f", "i", "b", "s", "type"):
        if key in value:
            return value[key][0]
    if "tensor" in value:
        tensor = value["tensor"][0]
        for key, dtype in (("float_val", np.float32), ("int_val", np.int32)):
            if key in tensor:
                return np.asarray(tensor[key], dtype)
        return np.zeros(0, np.float32)
    if "list" in value:
        return [v for values in value["list"][0].values() for v in values]
    return value


def parse_text_graph(text: str) -> dict[str, Node]:
    """Every node of a text graph by name, in graph order."""
    fields, _ = _message(_tokens(text), 0)
    nodes = {}
    for node in fields.get("node", []):
        attrs = {a["key"][0]: _attr_value(a["value"][0]) for a in node.get("attr", [])}
        name = node["name"][0]
        nodes[name] = Node(name, node["op"][0], tuple(node.get("input", [])), attrs)
    return nodes


def read_text_graph(path: str | Path) -> dict[str, Node]:
    """:func:`parse_text_graph` of the file at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"text graph {path} not found; fetch the model again")
    return parse_text_graph(path.read_text())


def external_inputs(nodes: dict[str, Node]) -> list[str]:
    """Inputs the graph reads but does not define, in first-use order: the constants that
    ``readNetFromTensorflow`` looks up in the weights file (control inputs ``^...`` excluded)."""
    seen: dict[str, None] = {}
    for node in nodes.values():
        for name in node.inputs:
            if not name.startswith("^") and name not in nodes:
                seen.setdefault(name)
    return list(seen)
