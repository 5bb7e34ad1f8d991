"""Loading exported weights back into the mirror: the inverse of the export.

The GraphDef reader needs numpy only; loading into the mirror needs torch (the ``train`` extra)
and is skipped without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskrcnn_tutorial.graph.graphdef import const, read_consts, to_binary
from tests import requires

SHIPPED = Path(__file__).resolve().parents[1] / "maskrcnn_tutorial" / "models" / "shapes"


def test_read_consts_inverts_to_binary():
    rng = np.random.default_rng(0)
    arrays = {
        "a/weights": rng.normal(size=(3, 3, 2, 4)).astype(np.float32),
        "a/biases": rng.normal(size=4).astype(np.float32),
        "scalar": np.asarray(0.5, np.float32),
        "ints": np.array([-3, 0, 7, 300], np.int32),
    }
    data = to_binary([const(k, v) for k, v in arrays.items()])
    got = read_consts(data)
    assert list(got) == list(arrays)
    for key, want in arrays.items():
        assert got[key].dtype == want.dtype and got[key].shape == want.shape
        np.testing.assert_array_equal(got[key], want)


def test_shipped_weights_round_trip_byte_for_byte():
    """Read, write, read, write: the writer's output is a fixed point of the round trip.

    (The shipped file itself predates the writer's ``float_val`` scalars, so its two scalar
    Consts are encoded differently; their values are compared below.)
    """
    shipped = read_consts((SHIPPED / "shapes.pb").read_bytes())
    data = to_binary([const(k, v) for k, v in shipped.items()])
    again = read_consts(data)
    assert to_binary([const(k, v) for k, v in again.items()]) == data
    assert list(again) == list(shipped)
    for key, want in shipped.items():
        np.testing.assert_array_equal(again[key], want, err_msg=key)


def test_mirror_loaded_from_pb_exports_the_same_bytes_and_parity(tmp_path):
    requires.module("torch", requires.TORCH)
    from maskrcnn_tutorial.training.export import write_graph, write_parity
    from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN

    model = ShapesMaskRCNN.from_pb(SHIPPED / "shapes.pb")
    pb, pbtxt = write_graph(model, tmp_path)
    shipped = read_consts((SHIPPED / "shapes.pb").read_bytes())
    exported = read_consts(pb.read_bytes())
    assert list(exported) == list(shipped)
    for key, want in shipped.items():
        np.testing.assert_array_equal(exported[key], want, err_msg=key)
    assert write_graph(ShapesMaskRCNN.from_pb(pb), tmp_path / "again")[0].read_bytes() == (
        pb.read_bytes()
    )
    assert pbtxt.read_text() == (SHIPPED / "shapes.pbtxt").read_text()
    want = np.load(SHIPPED / "parity.npz")
    got = np.load(write_parity(model, tmp_path))
    assert sorted(got.files) == sorted(want.files)
    for key in want.files:
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, err_msg=key)


def test_loading_rejects_missing_or_misshapen_weights():
    requires.module("torch", requires.TORCH)
    from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN

    model = ShapesMaskRCNN.from_pb(SHIPPED / "shapes.pb")
    weights = model.tf_weights()
    missing = {k: v for k, v in weights.items() if k != "Conv/weights"}
    with pytest.raises(ValueError, match="Conv/weights"):
        model.load_tf_weights(missing)
    wrong = {**weights, "Conv/biases": np.zeros(3, np.float32)}
    with pytest.raises(ValueError, match="Conv/biases has shape"):
        model.load_tf_weights(wrong)
