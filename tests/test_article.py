"""explain.article: the LearnOpenCV script's reading and mask placement, re-implemented.

The script's masks are checked against a second, independent computation of its rule (written
here with numpy and the package's own paste_mask), and its reader against cv2.imread.
"""

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.explain import article
from maskrcnn_tutorial.postprocess import paste_mask, postprocess

from .conftest import make_raw


def ramp_masks(n: int = 100, classes: int = 3) -> np.ndarray:
    """Masks whose rows differ (a top-to-bottom ramp), so a vertical shift shows."""
    masks = np.zeros((n, classes, 15, 15), np.float32)
    masks[:] = np.linspace(0, 1, 15, dtype=np.float32)[:, None]
    return masks


def expected_article_mask(raw, i, labels, shape, mask_threshold=0.3):
    """The script's rule, computed independently: the box as the script clamps it, the top
    moved below the label, the class slice pasted into what is left of the box."""
    height, width = shape
    row = raw.detection_out_final[0, 0, i]
    corners = [int(width * row[3]), int(height * row[4]), int(width * row[5]), int(height * row[6])]
    left, right = (min(max(v, 0), width - 1) for v in corners[0::2])
    top, bottom = (min(max(v, 0), height - 1) for v in corners[1::2])
    text = f"{labels[int(row[1])]}:{row[2]:.2f}"
    moved = max(top, cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][1])
    full = np.zeros(shape, bool)
    small = raw.detection_masks[i, int(row[1])]
    full[moved : bottom + 1, left : right + 1] = paste_mask(
        small, (left, moved, right, bottom), mask_threshold
    )
    return full, moved != top


LABELS = ["zero", "one", "two"]


def test_a_box_at_the_top_edge_gets_a_shifted_squashed_mask():
    # box 0 starts at the frame's top edge, box 1 well below it (100 x 200 frame)
    raw = make_raw([[1, 0.9, 0.05, 0.0, 0.45, 0.5], [2, 0.8, 0.5, 0.4, 0.95, 0.95]], ramp_masks())
    found = article.article_masks(raw, LABELS)
    ours = postprocess(raw, labels=LABELS)
    assert [d.row for d in found] == ours.rows.tolist()
    assert [d.box for d in found] == [tuple(b) for b in ours.boxes.tolist()]
    for det in found:
        expected, moved = expected_article_mask(raw, det.row, LABELS, (100, 200))
        np.testing.assert_array_equal(det.full_mask((100, 200)), expected)
        assert det.shifted == moved
    assert found[0].shifted and found[0].mask_top == article.label_height("one:0.90") > 0
    assert found[0].mask.shape == (50 - found[0].mask_top + 1, 90 - 10 + 1)
    assert not np.array_equal(found[0].full_mask((100, 200)), ours.full_mask(0))
    # a box below the label's height: exactly the package's mask
    assert not found[1].shifted
    np.testing.assert_array_equal(found[1].full_mask((100, 200)), ours.full_mask(1))


def test_the_threshold_is_strict_and_rows_below_it_are_skipped():
    raw = make_raw([[1, 0.5, 0.1, 0.3, 0.4, 0.6], [1, 0.51, 0.1, 0.3, 0.4, 0.6]])
    assert [d.row for d in article.article_masks(raw, LABELS)] == [1]
    assert article.article_masks(raw, LABELS, conf_threshold=0.6) == []


def test_a_box_shorter_than_the_label_gets_no_mask_where_the_script_would_stop():
    raw = make_raw([[1, 0.9, 0.1, 0.0, 0.4, 0.05]])  # bottom 5 px, the label is taller
    (det,) = article.article_masks(raw, LABELS)
    assert det.shifted and det.mask.size == 0
    assert not det.full_mask((100, 200)).any()
    drawn = article.draw_like_article(np.zeros((100, 200, 3), np.uint8), [det], [(0, 0, 255)])
    assert drawn.any()  # the box and label are still drawn


def test_drawing_blends_the_mask_as_the_script_does():
    raw = make_raw([[1, 0.9, 0.25, 0.4, 0.75, 0.9]])  # no shift: top 40
    (det,) = article.article_masks(raw, LABELS)
    frame = np.full((100, 200, 3), 100, np.uint8)
    out = article.draw_like_article(frame, [det], [(0, 0, 0), (200, 100, 0)])
    assert not np.shares_memory(out, frame) and (frame == 100).all()
    # a pixel deep inside the mask, away from contour and box lines: 0.3 * colour + 0.7 * 100
    assert out[70, 100].tolist() == [int(0.3 * 200 + 70), int(0.3 * 100 + 70), 70]


def test_reading_a_png_gives_imread_pixels_and_a_jpeg_is_read(tmp_path):
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8), (5, 5), 0)
    png, jpg = tmp_path / "a.png", tmp_path / "a.jpg"
    cv2.imwrite(str(png), image)
    cv2.imwrite(str(jpg), image)
    frame, backend = article.read_like_article(png)
    assert backend and np.array_equal(frame, image)
    frame, backend = article.read_like_article(jpg)
    assert frame.shape == image.shape
    if backend == "FFMPEG":  # FFmpeg decodes JPEG itself: not libjpeg's pixels
        assert not np.array_equal(frame, cv2.imread(str(jpg)))


@pytest.mark.parametrize("name", ["missing.jpg", "empty.jpg", "folder"])
def test_an_unreadable_path_is_one_clear_error(tmp_path, name):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    with pytest.raises(UserError, match="cannot read"):
        article.read_like_article(tmp_path / name)


def test_outlines_show_both_masks_in_their_colours():
    image = np.full((60, 80, 3), 128, np.uint8)
    ours, theirs = np.zeros((60, 80), bool), np.zeros((60, 80), bool)
    ours[10:30, 10:30] = True
    theirs[20:40, 40:60] = True
    out = article.render_mask_outlines(image, ours, theirs, (5, 5, 70, 50), margin=4, scale=3)
    assert out.shape == ((54 - 1 + 1) * 3, (74 - 1 + 1) * 3, 3)
    green = (out == (0, 220, 0)).all(axis=2)
    red = (out == (0, 0, 255)).all(axis=2)
    # the green outline lies around ours (the crop starts at 1, 1; lines are 2 px), the red
    # one around theirs
    ys, xs = np.nonzero(green)
    assert 25 <= ys.min() and ys.max() < 92 and 25 <= xs.min() and xs.max() < 92
    ys, xs = np.nonzero(red)
    assert 55 <= ys.min() and ys.max() < 122 and 115 <= xs.min() and xs.max() < 182
