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


Token = tuple[str, int, int]
"""A token's text and where it starts and ends in the source."""


def _tokens(text: str) -> list[Token]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot parse the text graph near {text[pos : pos + 40]!r}")
        pos = match.end()
        for group in range(1, 7):
            if match.group(group) is not None:
                tokens.append((match.group(group), match.start(group), match.end(group)))
                break
    return tokens


def _text(tokens: list[Token], pos: int) -> str | None:
    return tokens[pos][0] if pos < len(tokens) else None


def _field(
    tokens: list[Token], pos: int, spans: dict[str, list[tuple[int, int]]] | None = None
) -> tuple[str, Any, int]:
    """The field starting at ``tokens[pos]``: its key, its value and the position after it.

    When the value is a message and ``spans`` is given, ``spans[key]`` lists where each of the
    message's own fields' last token (a scalar's value, a message's closing brace) sits.
    """
    key, follows = tokens[pos][0], _text(tokens, pos + 1)
    if follows is None:
        raise ValueError(f"the text graph ends after {key!r}")
    if follows == ":" and _text(tokens, pos + 2) not in ("{", None):
        return key, _scalar(tokens[pos + 2][0]), pos + 3
    value, pos = _message(tokens, pos + (2 if follows == "{" else 3), spans)
    if _text(tokens, pos) != "}":
        raise ValueError("the text graph ends inside a block")
    return key, value, pos + 1


def _message(
    tokens: list[Token], pos: int, spans: dict[str, list[tuple[int, int]]] | None = None
) -> tuple[dict[str, list[Any]], int]:
    """Parse fields until a closing brace (or the end); every field maps to a list of values."""
    fields: dict[str, list[Any]] = {}
    while pos < len(tokens) and tokens[pos][0] != "}":
        key, value, pos = _field(tokens, pos)
        fields.setdefault(key, []).append(value)
        if spans is not None:
            spans.setdefault(key, []).append(tokens[pos - 1][1:])
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


def _node(fields: dict[str, list[Any]]) -> Node:
    if "name" not in fields or "op" not in fields:
        raise ValueError("a node of the text graph has no name or no op")
    attrs = {a["key"][0]: _attr_value(a["value"][0]) for a in fields.get("attr", [])}
    return Node(fields["name"][0], fields["op"][0], tuple(fields.get("input", [])), attrs)


@dataclass(frozen=True)
class NodeBlock:
    """One top-level ``node { ... }`` block: the node and its text exactly as written, so code
    that rewrites a graph (:mod:`.split`) carries every other node over unchanged."""

    node: Node
    text: str
    """From ``node`` to its closing brace."""
    input_spans: tuple[tuple[int, int], ...]
    """Where each ``input`` value (with its quotes) sits in :attr:`text`, in order."""

    def with_inputs(self, inputs: dict[int, str]) -> str:
        """:attr:`text` with input number i (0-based) reading ``inputs[i]`` instead."""
        text = self.text
        for index in sorted(inputs, reverse=True):
            start, end = self.input_spans[index]
            quoted = inputs[index].replace("\\", "\\\\").replace('"', '\\"')
            text = f'{text[:start]}"{quoted}"{text[end:]}'
        return text


def node_blocks(text: str) -> list[NodeBlock]:
    """Every top-level ``node`` block of a text graph, in file order (other top-level fields,
    such as ``library``, are skipped). A ``}`` without its ``{`` is refused."""
    tokens = _tokens(text)
    blocks, pos = [], 0
    while pos < len(tokens):
        if tokens[pos][0] == "}":
            raise ValueError(f"unbalanced '}}' at character {tokens[pos][1]}")
        spans: dict[str, list[tuple[int, int]]] = {}
        key, value, end = _field(tokens, pos, spans)
        if key == "node" and isinstance(value, dict):
            start, stop = tokens[pos][1], tokens[end - 1][2]
            inputs = tuple((a - start, b - start) for a, b in spans.get("input", []))
            blocks.append(NodeBlock(_node(value), text[start:stop], inputs))
        pos = end
    return blocks


def parse_text_graph(text: str) -> dict[str, Node]:
    """Every node of a text graph by name, in graph order."""
    return {block.node.name: block.node for block in node_blocks(text)}


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
