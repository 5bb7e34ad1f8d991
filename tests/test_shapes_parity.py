"""The shipped shapes model, run by OpenCV, reproduces the PyTorch mirror at every named stage.

``parity.npz`` was written at export time by the mirror that was trained; this test needs only
OpenCV and numpy. Detection rows are compared as sets (ties may reorder them), and the per-row
stages that follow a DetectionOutput are compared in the matched row order.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import maskrcnn_tutorial
from maskrcnn_tutorial.graph.names import (
    DETECTION_MASKS,
    DETECTION_OUT,
    DETECTION_OUT_FINAL,
    FIRST_STAGE,
    PARITY_STAGES,
    PER_PROPOSAL,
)
from maskrcnn_tutorial.inference import make_blob, read_net

MODEL_DIR = Path(maskrcnn_tutorial.__file__).resolve().parent / "models" / "shapes"
TOLERANCE = 1e-4


def _net() -> cv2.dnn.Net:
    """The shipped files, loaded as the package loads every model."""
    return read_net(str(MODEL_DIR / "shapes.pb"), str(MODEL_DIR / "shapes.pbtxt"))


def match_rows(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """For each row of ``want``, the index of the row of ``got`` that equals it within tolerance.

    Fails when some row has no partner, so this is a set comparison with a tolerance.
    """
    diff = np.abs(got[:, None, :] - want[None, :, :]).max(-1)  # (got, want)
    order = np.full(len(want), -1)
    free = np.ones(len(got), bool)
    for j in range(len(want)):
        candidates = np.flatnonzero(free & (diff[:, j] <= TOLERANCE))
        assert len(candidates), f"detection row {want[j]} has no match in OpenCV's output"
        i = candidates[np.argmin(diff[candidates, j])]
        order[j], free[i] = i, False
    return order


@pytest.fixture(scope="module")
def parity():
    return np.load(MODEL_DIR / "parity.npz")


def _inputs(parity) -> list[int]:
    return sorted({int(k.split("/")[0]) for k in parity.files})


def test_model_files_are_small_and_described():
    info = json.loads((MODEL_DIR / "model.json").read_text())
    assert info["name"] == "shapes"
    assert {"command", "seed", "steps", "seconds", "torch"} <= set(info["training"])
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size < 5 * 2**20


def test_opencv_matches_the_mirror_at_every_stage(parity):
    info = json.loads((MODEL_DIR / "model.json").read_text())
    n_classes = len(info["labels"])
    net = _net()
    inputs = _inputs(parity)
    assert len(inputs) >= 2
    for k in inputs:
        image = parity[f"{k}/image"]
        assert tuple(image.shape[:2]) == tuple(info["input_hw"])
        net.setInput(make_blob(image))
        got = dict(zip(PARITY_STAGES, net.forward(list(PARITY_STAGES)), strict=True))
        want = {s: parity[f"{k}/{s}"] for s in PARITY_STAGES}
        for stage in PARITY_STAGES:
            assert got[stage].size == want[stage].size, stage
            got[stage] = got[stage].reshape(want[stage].shape)

        for stage in FIRST_STAGE:
            np.testing.assert_allclose(
                got[stage], want[stage], rtol=0, atol=TOLERANCE, err_msg=stage
            )
        rows = {}
        for det in (DETECTION_OUT, DETECTION_OUT_FINAL):
            rows[det] = match_rows(got[det][0, 0], want[det][0, 0])
            np.testing.assert_allclose(
                got[det][0, 0][rows[det]], want[det][0, 0], rtol=0, atol=TOLERANCE, err_msg=det
            )
        assert (want[DETECTION_OUT_FINAL][0, 0, :, 2] > 0).any(), "parity input detects nothing"
        for stage in PER_PROPOSAL:
            per_row = len(rows[DETECTION_OUT])
            g = got[stage].reshape(per_row, -1)[rows[DETECTION_OUT]]
            np.testing.assert_allclose(
                g, want[stage].reshape(per_row, -1), rtol=0, atol=TOLERANCE, err_msg=stage
            )
        masks = got[DETECTION_MASKS][rows[DETECTION_OUT_FINAL]]
        assert masks.shape[1] == n_classes
        np.testing.assert_allclose(
            masks, want[DETECTION_MASKS], rtol=0, atol=TOLERANCE, err_msg=DETECTION_MASKS
        )


def test_final_outputs_have_the_real_models_layout(parity):
    net = _net()
    net.setInput(make_blob(parity["0/image"]))
    final, masks, proposals = net.forward([DETECTION_OUT_FINAL, DETECTION_MASKS, DETECTION_OUT])
    info = json.loads((MODEL_DIR / "model.json").read_text())
    assert final.shape == (1, 1, 100, 7)
    assert masks.shape == (100, len(info["labels"]), 15, 15)
    assert proposals.shape[-1] == 7
    live = final[0, 0][final[0, 0, :, 2] > 0]
    assert np.all(np.diff(live[:, 2]) <= 0)  # sorted by score
    assert set(live[:, 1].astype(int)) <= set(range(len(info["labels"])))
    assert np.all((live[:, 3:] >= 0) & (live[:, 3:] <= 1))
    assert np.all((masks >= 0) & (masks <= 1))
