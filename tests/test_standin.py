"""The stand-in of the real network: its manifest, its files and the structure of its outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.graphdef import read_consts
from maskrcnn_tutorial.graph.textgraph import external_inputs, read_text_graph
from maskrcnn_tutorial.inference import make_blob
from maskrcnn_tutorial.models import standin as standin_pkg
from maskrcnn_tutorial.models.standin import weights as standin_weights
from maskrcnn_tutorial.models.standin.__main__ import main
from maskrcnn_tutorial.models.standin.weights import calibration_images, mask_logits
from tests.reference import coco_text_graph
from tests.test_server import default_sigint

#: Learned values counted by the Open Model Zoo card (21.8 M) but stored once in the graph:
#: the mask branch reuses the second stage's Mixed_5a-5c weights.
MIXED_5_PREFIX = "SecondStageFeatureExtractor/InceptionV2/Mixed_5"


def test_manifest_is_what_the_real_graph_derives():
    assert standin_pkg.derive(coco_text_graph()) == standin_pkg.load()


def test_manifest_names_every_constant_the_graph_reads_once():
    constants = standin_pkg.load()
    names = [c.name for c in constants]
    assert len(names) == len(set(names)) == 381
    assert names == external_inputs(read_text_graph(coco_text_graph()))
    kinds = {c.role.split("/")[0] for c in constants}
    assert kinds == {"kernel", "depthwise", "batchnorm", "bias", "dense", "fixed"}


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("FirstStageFeatureExtractor/InceptionV2/Conv2d_1a_7x7/depthwise_weights", (7, 7, 3, 8)),
        ("FirstStageFeatureExtractor/InceptionV2/Conv2d_1a_7x7/pointwise_weights", (1, 1, 24, 64)),
        ("Conv/weights", (3, 3, 576, 512)),
        ("FirstStageBoxPredictor/BoxEncodingPredictor/weights", (1, 1, 512, 48)),
        ("FirstStageBoxPredictor/ClassPredictor/weights", (1, 1, 512, 24)),
        ("SecondStageBoxPredictor/ClassPredictor/weights", (1024, 91)),
        ("SecondStageBoxPredictor/BoxEncodingPredictor/weights", (1024, 360)),
        ("SecondStageBoxPredictor/Conv/weights", (3, 3, 1024, 256)),
        ("SecondStageBoxPredictor/Conv_1/weights", (3, 3, 256, 90)),
        ("CropAndResize/crop_size", (2,)),
    ],
)
def test_shapes_match_the_published_architecture(name, shape):
    assert {c.name: c.shape for c in standin_pkg.load()}[name] == shape


def test_parameter_count_and_the_published_21_8_million():
    constants = standin_pkg.load()
    count = standin_pkg.parameter_count(constants)
    assert count == 15_904_125
    mixed_5 = sum(c.size for c in constants if c.name.startswith(MIXED_5_PREFIX))
    # Counting the mask branch's reused Mixed_5 blocks a second time gives the card's figure.
    assert round((count + mixed_5) / 1e6, 1) == 21.8


@pytest.fixture(scope="module")
def outputs(coco_standin_model):
    """The stand-in's three outputs on a 1280 x 720 frame and two other sizes."""
    net = coco_standin_model.net
    images = [cv2.resize(calibration_images(7)[0], (1280, 720))] + calibration_images(8)[1:3]
    results = []
    for image in images:
        net.setInput(make_blob(image))
        results.append(net.forward(list(names.OUTPUTS)))
    return results


def test_outputs_have_the_real_layouts(outputs):
    for final, masks, proposals in outputs:
        assert final.shape == (1, 1, 100, 7)
        assert masks.shape == (100, 90, 15, 15)
        assert proposals.shape == (1, 1, 100, 7)
        assert set(np.unique(proposals[0, 0, :, 1])) == {1.0}


def test_dozens_of_confident_detections_over_classes_and_sizes(outputs):
    for final, _, _ in outputs:
        rows = final.reshape(-1, 7)
        kept = rows[rows[:, 2] > 0.5]
        assert len(kept) >= 50
        assert len(np.unique(kept[:, 1])) >= 3
        areas = (kept[:, 5] - kept[:, 3]) * (kept[:, 6] - kept[:, 4])
        assert areas.max() > 8 * areas.min()


def test_masks_are_blobs_not_flat_tiles(outputs):
    for final, masks, _ in outputs:
        rows = final.reshape(-1, 7)
        kept = np.flatnonzero(rows[:, 2] > 0.5)
        used = masks[kept, rows[kept, 1].astype(int)]
        inside = (used > 0.5).mean(axis=(1, 2))
        mixed = (inside > 0.1) & (inside < 0.9)
        assert mixed.mean() > 0.5  # most masks have both foreground and background


def test_mask_logits_in_numpy_are_the_graphs_last_mask_layer(standin, coco_standin_model):
    # the generator's sharpness step reads the last mask layer from numpy, not from a pass
    net = coco_standin_model.net
    net.setInput(make_blob(calibration_images(9)[3]))
    features, logits = net.forward([names.MASK_FEATURES, names.MASK_LOGITS])
    constants = read_consts((standin / standin_pkg.WEIGHTS_NAME).read_bytes())
    kernels = constants[f"{names.MASK_OUT}/weights"]
    biases = constants[f"{names.MASK_OUT}/biases"]  # OpenCV adds the bias in the same layer
    ours = mask_logits(features, kernels) + biases[:, None, None]
    assert ours.shape == logits.shape == (100, 90, 15, 15)
    assert np.abs(ours - logits).max() < 1e-4 * np.abs(logits).max()
    flipped = mask_logits(features, kernels[::-1, ::-1]) + biases[:, None, None]
    assert np.abs(flipped - logits).max() > 0.01 * np.abs(logits).max()  # flips are caught


def test_command_line_writes_both_files_and_the_same_seed_gives_the_same_bytes(
    standin, tmp_path, capsys, monkeypatch
):
    blas_threads = []  # numpy's BLAS threads while the features are calibrated
    original = standin_weights.calibrate

    def calibrate(*args, **kwargs):
        blas_threads.extend(pool["num_threads"] for pool in threadpool_info())
        return original(*args, **kwargs)

    monkeypatch.setattr(standin_weights, "calibrate", calibrate)
    assert main([str(tmp_path / "out"), "--graph", str(coco_text_graph())]) == 0
    assert blas_threads and set(blas_threads) == {1}  # its threads would change the last bits
    out = capsys.readouterr().out
    assert "15,904,125 parameters" in out and "not a trained model" in out
    weights = (tmp_path / "out" / standin_pkg.WEIGHTS_NAME).read_bytes()
    assert len(weights) > 60_000_000
    # a second, independent build (the session's stand-in: write_standin, default seed 0);
    # under make test the OpenCV 4 pass reuses the 5.x pass's, so the bytes are the same on both
    assert weights == (standin / standin_pkg.WEIGHTS_NAME).read_bytes()
    assert (tmp_path / "out" / standin_pkg.GRAPH_NAME).read_bytes() == (
        coco_text_graph().read_bytes()
    )
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{tmp}/x", "--graph", "{tmp}/missing.pbtxt"], "does not exist"),
        (["{tmp}/x", "--graph", "/dev/null"], "is not a regular file"),
        (["{tmp}/x", "--graph", "{graph}", "--seed", "abc"], "invalid int"),
        (["--graph", "{graph}"], "give the folder"),
        (["{tmp}/file", "--graph", "{graph}"], "is not a folder"),
        (["{tmp}/x", "--graph", "{graph}", "--seed", "-1"], "--seed"),
        (["{tmp}/x", "--graph", "{tmp}/file"], "is not the Mask R-CNN"),
        # issue 20: no empty folder left; a folder named like an output said before the work
        (["{tmp}/new/x", "--graph", "{tmp}/file"], "is not the Mask R-CNN"),
        (["{tmp}/taken", "--graph", "{graph}"], "is a directory"),
    ],
)
def test_command_line_errors(args, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(standin_weights, "_build", lambda *a: pytest.fail("the work started"))
    (tmp_path / "file").write_text('node { name: "a" op: "Conv2D" input: "b" input: "w" }\n')
    (tmp_path / "taken" / standin_pkg.WEIGHTS_NAME).mkdir(parents=True)
    values = {"tmp": tmp_path, "graph": coco_text_graph()}
    assert main([a.format(**values) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists() and not (tmp_path / "new").exists()


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_build_leaves_nothing(tmp_path, signum):
    temp, out = tmp_path / "tmp", tmp_path / "out"
    temp.mkdir()
    command = [sys.executable, "-m", "maskrcnn_tutorial.models.standin", str(out), "--quiet"]
    child = subprocess.Popen(
        [*command, "--graph", str(coco_text_graph())],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while not any(temp.rglob("*.pb")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the 62 MB draft is being written
    assert any(temp.rglob("*.pb")), "the build never wrote its draft"
    child.send_signal(signum)
    err = child.communicate(timeout=60)[1]
    assert child.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nothing was written" in lines[0]
    assert list(temp.iterdir()) == [] and not out.exists()
