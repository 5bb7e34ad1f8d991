"""A tiny TensorFlow GraphDef writer: binary protobuf wire format and text format, no TensorFlow.

:func:`read_consts` is the inverse for a weights-only GraphDef (Const nodes holding float32 or
int32 tensors), such as the shipped ``shapes.pb``.

Only what OpenCV's TensorFlow importer reads is supported: ``NodeDef`` with name, op, inputs and
attributes whose values are strings, ints, floats, bools, data types, shapes, integer lists and
tensors (float tensors as little-endian ``tensor_content``, float scalars as ``float_val``, int32
tensors as ``int_val``).

Field numbers (tensorflow/core/framework/*.proto): GraphDef.node=1; NodeDef name=1, op=2,
input=3, attr=5 (map entry key=1, value=2); AttrValue list=1, s=2, i=3, f=4, b=5, type=6,
shape=7, tensor=8; ListValue i=3 (packed); TensorProto dtype=1, tensor_shape=2,
tensor_content=4, float_val=5, int_val=7; TensorShapeProto dim=2; Dim size=1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

DTYPES = {"DT_FLOAT": 1, "DT_INT32": 3, "DT_UINT8": 4}


@dataclass(frozen=True)
class Attr:
    """One attribute value; ``kind`` is s, i, f, b, type, shape, list_i or tensor."""

    kind: str
    value: object


@dataclass
class Node:
    """A GraphDef node."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Attr] = field(default_factory=dict)


def const(name: str, array: np.ndarray) -> Node:
    """A Const node holding a float32 or int32 array."""
    return Node(name, "Const", attrs={"value": Attr("tensor", np.asarray(array))})


# ---------------------------------------------------------------- binary wire format


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field_number: int, wire_type: int) -> bytes:
    return _varint((field_number << 3) | wire_type)


def _len_field(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, 2) + _varint(len(payload)) + payload


def _int_field(field_number: int, value: int) -> bytes:
    return _key(field_number, 0) + _varint(int(value))


def _shape_bytes(dims: tuple[int, ...]) -> bytes:
    return b"".join(_len_field(2, _int_field(1, d)) for d in dims)


def _tensor_bytes(array: np.ndarray) -> bytes:
    if array.dtype.kind == "f":
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        # OpenCV reads a scalar from float_val (packed fixed32), an array from tensor_content.
        payload = _len_field(5, data) if array.ndim == 0 else _len_field(4, data)
        return (
            _int_field(1, DTYPES["DT_FLOAT"]) + _len_field(2, _shape_bytes(array.shape)) + payload
        )
    packed = b"".join(_varint(int(v)) for v in array.reshape(-1))
    return (
        _int_field(1, DTYPES["DT_INT32"])
        + _len_field(2, _shape_bytes(array.shape))
        + _len_field(7, packed)
    )


def _attr_bytes(attr: Attr) -> bytes:
    kind, value = attr.kind, attr.value
    if kind == "s":
        return _len_field(2, str(value).encode())
    if kind == "i":
        return _int_field(3, int(value))
    if kind == "f":
        return _key(4, 5) + struct.pack("<f", float(value))
    if kind == "b":
        return _int_field(5, int(bool(value)))
    if kind == "type":
        return _int_field(6, DTYPES[str(value)])
    if kind == "shape":
        return _len_field(7, _shape_bytes(tuple(value)))
    if kind == "list_i":
        return _len_field(1, _len_field(3, b"".join(_varint(int(v)) for v in value)))
    if kind == "tensor":
        return _len_field(8, _tensor_bytes(np.asarray(value)))
    raise ValueError(f"unsupported attribute kind {kind!r}")


def _node_bytes(node: Node) -> bytes:
    out = _len_field(1, node.name.encode()) + _len_field(2, node.op.encode())
    out += b"".join(_len_field(3, i.encode()) for i in node.inputs)
    for key in sorted(node.attrs):
        entry = _len_field(1, key.encode()) + _len_field(2, _attr_bytes(node.attrs[key]))
        out += _len_field(5, entry)
    return out


def to_binary(nodes: list[Node]) -> bytes:
    """Serialise nodes as a binary GraphDef."""
    return b"".join(_len_field(1, _node_bytes(n)) for n in nodes)


# ---------------------------------------------------------------- reading Const nodes back


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message: ints for varint/fixed32, bytes for length."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            out.append((number, data[pos : pos + size]))
            pos += size
        elif wire == 5:
            out.append((number, struct.unpack_from("<I", data, pos)[0]))
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def _read_tensor(data: bytes) -> np.ndarray:
    fields = _fields(data)
    dtype = next(v for n, v in fields if n == 1)
    shape_msg = next((v for n, v in fields if n == 2), b"")
    shape = tuple(
        next(v for n, v in _fields(dim) if n == 1) for n, dim in _fields(shape_msg) if n == 2
    )
    if dtype == DTYPES["DT_FLOAT"]:
        raw = b"".join(v for n, v in fields if n in (4, 5))
        return np.frombuffer(raw, "<f4").astype(np.float32).reshape(shape)
    if dtype == DTYPES["DT_INT32"]:
        packed = b"".join(v for n, v in fields if n == 7)
        values, pos = [], 0
        while pos < len(packed):
            value, pos = _read_varint(packed, pos)
            values.append(value - (1 << 64) if value >= 1 << 63 else value)
        return np.asarray(values, np.int32).reshape(shape)
    raise ValueError(f"unsupported tensor dtype {dtype}")


def read_consts(data: bytes) -> dict[str, np.ndarray]:
    """The ``value`` tensors of the Const nodes in a binary GraphDef, by node name.

    The inverse of :func:`to_binary` on :func:`const` nodes: ``to_binary([const(k, v) for k, v
    in read_consts(data).items()])`` gives back ``data``.
    """
    out: dict[str, np.ndarray] = {}
    for number, node in _fields(data):
        if number != 1:
            continue
        fields = _fields(node)
        name = next(v for n, v in fields if n == 1).decode()
        if next(v for n, v in fields if n == 2) != b"Const":
            continue
        for n, entry in fields:
            if n != 5:
                continue
            attr = dict(_fields(entry))
            if attr[1] == b"value":
                tensor = next(v for k, v in _fields(attr[2]) if k == 8)
                out[name] = _read_tensor(tensor)
    return out


# ---------------------------------------------------------------- text format


def _text_shape(dims: tuple[int, ...], pad: str) -> str:
    return "".join(f"{pad}dim {{\n{pad}  size: {d}\n{pad}}}\n" for d in dims)


def _text_tensor(array: np.ndarray, pad: str) -> str:
    if array.dtype.kind == "f":
        vals = "".join(f"{pad}float_val: {float(v)!r}\n" for v in array.reshape(-1))
        dtype = "DT_FLOAT"
    else:
        vals = "".join(f"{pad}int_val: {int(v)}\n" for v in array.reshape(-1))
        dtype = "DT_INT32"
    shape = _text_shape(array.shape, pad + "  ")
    return f"{pad}dtype: {dtype}\n{pad}tensor_shape {{\n{shape}{pad}}}\n{vals}"


def _text_attr(attr: Attr, pad: str) -> str:
    kind, value = attr.kind, attr.value
    if kind == "s":
        return f'{pad}s: "{value}"\n'
    if kind == "i":
        return f"{pad}i: {int(value)}\n"
    if kind == "f":
        return f"{pad}f: {float(np.float32(value))!r}\n"
    if kind == "b":
        return f"{pad}b: {'true' if value else 'false'}\n"
    if kind == "type":
        return f"{pad}type: {value}\n"
    if kind == "shape":
        return f"{pad}shape {{\n{_text_shape(tuple(value), pad + '  ')}{pad}}}\n"
    if kind == "list_i":
        items = "".join(f"{pad}  i: {int(v)}\n" for v in value)
        return f"{pad}list {{\n{items}{pad}}}\n"
    if kind == "tensor":
        return f"{pad}tensor {{\n{_text_tensor(np.asarray(value), pad + '  ')}{pad}}}\n"
    raise ValueError(f"unsupported attribute kind {kind!r}")


def to_text(nodes: list[Node]) -> str:
    """Serialise nodes as a GraphDef in protobuf text format (the ``.pbtxt`` style)."""
    parts = []
    for node in nodes:
        lines = [f'node {{\n  name: "{node.name}"\n  op: "{node.op}"\n']
        lines += [f'  input: "{i}"\n' for i in node.inputs]
        for key in sorted(node.attrs):
            body = _text_attr(node.attrs[key], "      ")
            lines.append(f'  attr {{\n    key: "{key}"\n    value {{\n{body}    }}\n  }}\n')
        lines.append("}\n")
        parts.append("".join(lines))
    return "".join(parts)
