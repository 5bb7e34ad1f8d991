"""Property test: post-processing random raw tensors never crashes, keeps masks inside their
boxes, and is monotone in the mask threshold."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.postprocess import postprocess

N, C = 6, 3

coords = st.floats(-0.5, 1.5, allow_nan=False, width=32)
rows = st.lists(
    st.tuples(st.integers(0, C - 1), st.floats(0, 1, width=32), coords, coords, coords, coords),
    min_size=N,
    max_size=N,
)
probabilities = arrays(np.float32, (N, C, 15, 15), elements=st.floats(0, 1, width=32))


def build(rows, masks, shape) -> RawOutputs:
    final = np.zeros((1, 1, N, 7), np.float32)
    for i, (cls, score, x1, y1, x2, y2) in enumerate(rows):
        # DetectionOutput emits x1 <= x2, y1 <= y2; clamping handles everything else.
        final[0, 0, i, 1:] = [cls, score, min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
    return RawOutputs(final, masks, final.copy(), (1, 3, *shape), shape, 0.0)


@settings(max_examples=60, deadline=None)
@given(
    rows=rows,
    masks=probabilities,
    shape=st.tuples(st.integers(1, 64), st.integers(1, 64)),
    conf=st.floats(0, 1),
    t1=st.floats(0, 1),
    t2=st.floats(0, 1),
)
def test_postprocess_properties(rows, masks, shape, conf, t1, t2):
    raw = build(rows, masks, shape)
    low, high = sorted((t1, t2))
    loose = postprocess(raw, conf_threshold=conf, mask_threshold=low)
    tight = postprocess(raw, conf_threshold=conf, mask_threshold=high)
    assert len(loose) == len(tight) == int((raw.detection_out_final[0, 0, :, 2] > conf).sum())
    height, width = shape
    for dets in (loose, tight):
        full = dets.masks
        assert full.shape == (len(dets), height, width)
        for mask, (left, top, right, bottom) in zip(full, dets.boxes, strict=True):
            assert 0 <= left <= right < width and 0 <= top <= bottom < height
            inside = np.zeros_like(mask)
            inside[top : bottom + 1, left : right + 1] = True
            assert not (mask & ~inside).any()
    for a, b in zip(loose.box_masks, tight.box_masks, strict=True):
        assert not (b & ~a).any()  # raising the threshold never adds a pixel
