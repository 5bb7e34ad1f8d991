"""CropAndResize and RoIAlign (explain/roi.py) against independent scalar implementations of
their sources' rules (tests/roi_reference.py) and against OpenCV's own CropAndResize layer, on
boxes that touch every border of the feature map."""

from __future__ import annotations

import numpy as np
import pytest

from maskrcnn_tutorial.explain import anatomy, roi
from maskrcnn_tutorial.models import load_model
from maskrcnn_tutorial.synthetic.scenes import make_scene
from tests.roi_reference import tf_crop_and_resize, torchvision_roi_align

#: Normalised x1, y1, x2, y2 boxes touching the left, top, right and bottom edges, all four,
#: one corner, a thin strip along an edge, and one reaching past the picture.
BORDER_BOXES = np.array(
    [
        [0.0, 0.3, 0.4, 0.7],
        [0.2, 0.0, 0.6, 0.5],
        [0.5, 0.2, 1.0, 0.8],
        [0.3, 0.6, 0.8, 1.0],
        [0.0, 0.0, 1.0, 1.0],
        [0.7, 0.75, 1.0, 1.0],
        [0.0, 0.95, 1.0, 1.0],
        [-0.2, 0.1, 0.4, 1.15],
    ]
)


@pytest.fixture(scope="module")
def features():
    return np.random.default_rng(7).normal(size=(3, 9, 11)).astype(np.float32)


@pytest.mark.parametrize("box", BORDER_BOXES, ids=lambda b: ",".join(f"{v:g}" for v in b))
def test_crop_and_resize_follows_tensorflow_at_every_border(features, box):
    want = tf_crop_and_resize(features.transpose(1, 2, 0), box, 6).transpose(2, 0, 1)
    np.testing.assert_allclose(roi.crop_and_resize(features, box, 6), want, atol=1e-5)


@pytest.mark.parametrize("box", BORDER_BOXES, ids=lambda b: ",".join(f"{v:g}" for v in b))
@pytest.mark.parametrize("samples", [1, 2, 3])
def test_roi_align_follows_torchvision_at_every_border(features, box, samples):
    want = torchvision_roi_align(features, box, 5, samples)
    np.testing.assert_allclose(roi.roi_align(features, box, 5, samples), want, atol=1e-5)


def test_roi_align_reads_the_edge_cells_instead_of_a_black_band():
    flat = np.full((2, 8, 8), 3.0, np.float32)
    for box in BORDER_BOXES[:7]:  # inside the picture: every sample lies within [-1, H]
        np.testing.assert_allclose(roi.roi_align(flat, box, 7), 3.0, atol=1e-6)
        np.testing.assert_allclose(roi.crop_and_resize(flat, box, 14), 3.0, atol=1e-6)
    # Past the picture both give 0: CropAndResize from the first sample beyond H-1, RoIAlign
    # only beyond H (the box below spans 1.0 .. 1.5 of the height: the crop is all zero).
    assert roi.crop_and_resize(flat, [0, 1.05, 1, 1.5], 4).max() == 0
    assert roi.roi_align(flat, [0, 1.2, 1, 1.5], 4).max() == 0


def test_bilinear_names_its_border_rules():
    feats = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    y, x = np.array([2.5, -0.5, 3.5]), np.array([1.0, 1.0, 1.0])
    assert roi.bilinear(feats, y, x, "zero").tolist() == [[0.0, 0.0, 0.0]]
    assert roi.bilinear(feats, y, x, "clamp").tolist() == [[9.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="border must be"):
        roi.bilinear(feats, y, x, "wrap")


def test_crop_and_resize_is_what_opencv_computes_at_the_borders():
    """OpenCV's CropAndResize layer (the shapes graph's box head) is the second implementation:
    its crops of the 100 proposals of a scene cut so that objects leave the picture on every
    side, among them proposals clipped to every picture edge."""
    model = load_model("shapes")
    features = anatomy.backbone_taps(model)[1]
    crops_layer = anatomy.tap("crops")
    raw = model.forward(make_scene(1_000_003).image[40:216, 40:216], taps=[features, crops_layer])
    boxes = raw.detection_out.reshape(-1, 7)[:, 3:7]
    for side, edge in ((0, 0.0), (1, 0.0), (2, 1.0), (3, 1.0)):
        assert (boxes[:, side] == edge).any(), f"no proposal touches edge {side}"
    crops = raw.taps[crops_layer]
    ours = np.stack([roi.crop_and_resize(raw.taps[features][0], b, crops.shape[-1]) for b in boxes])
    np.testing.assert_allclose(ours, crops, atol=1e-4 * np.abs(crops).max())
