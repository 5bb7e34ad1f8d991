"""The PyTorch mirror's layers against numpy re-implementations, and its export against OpenCV.

Needs torch (the ``train`` extra); skipped without it.
"""

from __future__ import annotations

import cv2
import numpy as np

from tests import requires

torch = requires.module("torch", requires.TORCH)

from maskrcnn_tutorial.explain import roi  # noqa: E402
from maskrcnn_tutorial.graph.names import PARITY_STAGES  # noqa: E402
from maskrcnn_tutorial.inference import make_blob  # noqa: E402
from maskrcnn_tutorial.training import layers, targets  # noqa: E402
from maskrcnn_tutorial.training.export import write_graph  # noqa: E402
from maskrcnn_tutorial.training.mirror import (  # noqa: E402
    ShapesMaskRCNN,
    crop_and_resize,
    same_pad,
    tf_to_xy,
)
from maskrcnn_tutorial.training.spec import Spec  # noqa: E402
from tests.roi_reference import tf_crop_and_resize  # noqa: E402


def test_crop_and_resize_has_tensorflow_semantics():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(3, 3, 9, 11)).astype(np.float32)
    boxes = np.array(
        [
            [[0.1, 0.2, 0.7, 0.9], [0.0, 0.0, 1.0, 1.0]],
            [[0.3, 0.05, 0.35, 0.5], [0.5, 0.5, 0.5, 0.5]],
            [[0.0, 0.7, 1.0, 1.0], [0.6, 0.0, 1.0, 0.3]],
        ],
        np.float32,
    )
    got = crop_and_resize(torch.from_numpy(feats), torch.from_numpy(boxes), 5).numpy()
    for b in range(3):
        for r in range(2):
            want = tf_crop_and_resize(feats[b].transpose(1, 2, 0), boxes[b, r], 5)
            np.testing.assert_allclose(got[b * 2 + r].transpose(1, 2, 0), want, atol=1e-5)
            # the package's one CropAndResize (explain/roi.py) is what this mirror differentiates
            package = roi.crop_and_resize(feats[b], boxes[b, r], 5)
            np.testing.assert_allclose(got[b * 2 + r], package, atol=1e-5)


def test_same_padding_pads_bottom_right_for_stride_two():
    x = torch.ones(1, 1, 6, 6)
    padded = same_pad(x, 3, 2)
    assert padded.shape == (1, 1, 7, 7)
    assert padded[0, 0, -1].sum() == 0 and padded[0, 0, 0].sum() == 7 - 1
    assert same_pad(x, 3, 1).shape == (1, 1, 8, 8)


def test_tf_order_swaps_pairs():
    d = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]])
    assert tf_to_xy(d).tolist() == [[2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0]]


def test_encoding_inverts_the_graphs_decoding():
    priors = np.array([[0.1, 0.1, 0.4, 0.3], [0.5, 0.2, 0.9, 0.95]], np.float32)
    gt = np.array([[0.15, 0.12, 0.45, 0.33], [0.55, 0.3, 0.8, 0.9]], np.float32)
    variances = (0.1, 0.1, 0.2, 0.2)
    tf_deltas = targets.encode(gt, priors, variances)
    xy = tf_deltas[:, [1, 0, 3, 2]]
    np.testing.assert_allclose(layers.decode_center_size(xy, priors, variances), gt, atol=1e-6)


def test_untrained_export_matches_opencv(tmp_path):
    """Random weights, every parity stage: the graph and the mirror compute the same thing."""
    torch.manual_seed(0)
    model = ShapesMaskRCNN(Spec()).eval()
    pb, pbtxt = write_graph(model, tmp_path)
    kwargs = {"engine": cv2.dnn.ENGINE_CLASSIC} if hasattr(cv2.dnn, "ENGINE_CLASSIC") else {}
    net = cv2.dnn.readNetFromTensorflow(str(pb), str(pbtxt), **kwargs)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
    blob = make_blob(image, model.spec.input_hw)
    net.setInput(blob)
    got = dict(zip(PARITY_STAGES, net.forward(list(PARITY_STAGES)), strict=True))
    want = model.infer(blob)
    for stage in PARITY_STAGES:
        np.testing.assert_allclose(
            got[stage].reshape(want[stage].shape), want[stage], atol=1e-4, err_msg=stage
        )
