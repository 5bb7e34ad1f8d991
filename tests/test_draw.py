import numpy as np
import pytest

from maskrcnn_tutorial import draw
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.postprocess import postprocess

from .conftest import make_raw


@pytest.fixture
def dets(raw_two):
    return postprocess(raw_two, labels=["zero", "one", "two"])


@pytest.fixture
def grey_image():
    return np.full((100, 200, 3), 128, np.uint8)


def test_functions_return_new_images(dets, grey_image):
    before = grey_image.copy()
    for function in (draw.draw_masks, draw.draw_contours, draw.draw_boxes, draw.draw_labels):
        out = function(grey_image, dets)
        assert out is not grey_image
        assert out.shape == (100, 200, 3) and out.dtype == np.uint8
        assert not np.array_equal(out, grey_image)
    np.testing.assert_array_equal(grey_image, before)


def test_masks_blend_only_inside_the_mask(dets, grey_image):
    out = draw.draw_masks(grey_image, dets, alpha=0.5)
    changed = (out != grey_image).any(axis=2)
    np.testing.assert_array_equal(changed, dets.masks.any(axis=0))
    color = np.array(draw.detection_colors(dets)[0])
    y, x = np.argwhere(dets.full_mask(0) & ~dets.full_mask(1))[0]
    np.testing.assert_allclose(out[y, x], 0.5 * color + 0.5 * 128, atol=1)


def test_alpha_zero_leaves_the_image(dets, grey_image):
    np.testing.assert_array_equal(draw.draw_masks(grey_image, dets, alpha=0.0), grey_image)


def test_class_and_instance_colors():
    raw = make_raw([[1, 0.9, 0.0, 0.0, 0.3, 0.3], [1, 0.8, 0.5, 0.5, 0.9, 0.9]])
    same_class = postprocess(raw)
    by_class = draw.detection_colors(same_class, "class")
    by_instance = draw.detection_colors(same_class, "instance")
    assert by_class[0] == by_class[1]
    assert by_instance[0] != by_instance[1]
    with pytest.raises(UserError, match="color mode must be one of class, instance"):
        draw.detection_colors(same_class, "rainbow")


#: Drawing arguments checked where they enter (issue 20): one UserError in words each.
BAD_DRAWING = {
    "alpha 5": ({"alpha": 5}, "alpha must be between 0 and 1, got 5"),
    "alpha nan": ({"alpha": float("nan")}, "alpha must be between 0 and 1"),
    "too few colors": ({"colors": [(0, 0, 255)]}, "1 colors for 2 detections"),
    "color of 2": ({"colors": [(0, 0), (0, 0)]}, "is not a BGR color"),
    "color over 255": ({"colors": [(0, 0, 300), (0, 0, 0)]}, "three numbers from 0 to 255"),
    "color nan": ({"colors": [(0, 0, float("nan")), (0, 0, 0)]}, "is not a BGR color"),
    "color word": ({"colors": ["red", "blue"]}, "is not a BGR color"),
}


@pytest.mark.parametrize("case", sorted(BAD_DRAWING))
@pytest.mark.parametrize("function", [draw.annotate, draw.draw_masks])
def test_bad_drawing_arguments_are_named(dets, grey_image, function, case):
    options, words = BAD_DRAWING[case]
    with pytest.raises(UserError, match=words):
        function(grey_image, dets, **options)


def test_a_color_list_is_drawn_as_given(dets, grey_image):
    out = draw.draw_masks(grey_image, dets, colors=[(0, 0, 255), (255, 0, 0)], alpha=1.0)
    assert dets.masks.any(axis=0).sum() > 0
    drawn = out[dets.masks.any(axis=0)]
    assert {tuple(p) for p in drawn} <= {(0, 0, 255), (255, 0, 0)}


def test_contours_follow_the_mask_edge(dets, grey_image):
    out = draw.draw_contours(grey_image, dets, thickness=1)
    changed = (out != grey_image).any(axis=2)
    edge_pixels = np.argwhere(changed)
    mask = dets.masks.any(axis=0)
    # every outline pixel is on or next to a mask pixel
    for y, x in edge_pixels[:: max(len(edge_pixels) // 50, 1)]:
        assert mask[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].any()


def test_tags_stay_inside_the_frame():
    raw = make_raw([[0, 0.97, 0.9, 0.0, 1.0, 0.05]], image_shape=(40, 60))
    dets = postprocess(raw, labels=["a very long label"])
    assert not draw.draw_labels(np.zeros((40, 60, 3), np.uint8), dets).any()  # cannot fit
    out = draw.annotate(np.zeros((40, 60, 3), np.uint8), dets, masks=False, boxes=False)
    assert out.shape == (360, 540, 3)  # upscaled 9 times: now the tag fits
    (tag,) = draw.layout_tags(dets.scaled(9).boxes, draw.tag_texts(dets), [(9, 9, 9)], (360, 540))
    x, y, w, h = tag.rect
    assert x + w <= 540 and y >= 0 and out[y : y + h, x : x + w].any()


def test_tag_is_kept_inside_near_edges():
    image = np.zeros((30, 300, 3), np.uint8)
    draw.put_tag(image, "person: 0.99", (295, 0), (255, 255, 255))
    columns = np.flatnonzero(image.any(axis=(0, 2)))
    assert columns.max() < 300 and columns.min() < 295  # shifted left to fit


def test_legend_lists_each_label_once(dets, grey_image):
    entries = draw.legend_entries(dets)
    assert [name for name, _ in entries] == ["one", "two"]
    out = draw.draw_legend(grey_image, entries)
    assert (out[:, 100:] != grey_image[:, 100:]).any()
    assert (out[:, :50] == grey_image[:, :50]).all()  # top-right corner only


def test_annotate_converts_grey_bgra_and_16_bit(dets):
    for image in (
        np.full((100, 200), 100, np.uint8),
        np.full((100, 200, 4), 100, np.uint8),
        np.full((100, 200, 3), 40000, np.uint16),
    ):
        out = draw.annotate(image, dets, legend=True)
        assert out.shape == (300, 600, 3) and out.dtype == np.uint8  # upscaled 3x to >= 512
        assert draw.annotate(image, dets, min_side=0).shape == (100, 200, 3)


def test_annotate_with_no_detections_copies(grey_image):
    dets = postprocess(make_raw([]))
    out = draw.annotate(grey_image, dets, legend=True, min_side=0)
    np.testing.assert_array_equal(out, grey_image)
    assert out is not grey_image
    np.testing.assert_array_equal(draw.annotate(grey_image, dets)[::3, ::3], grey_image)


def test_legend_follows_the_color_mode(dets):
    assert [n for n, _ in draw.legend_entries(dets, "class")] == ["one", "two"]
    per_instance = draw.legend_entries(dets, "instance")
    assert [n for n, _ in per_instance] == draw.tag_texts(dets)
    assert [c for _, c in per_instance] == draw.detection_colors(dets, "instance")


def test_text_color_contrasts():
    assert draw.text_color((255, 255, 255)) == (0, 0, 0)
    assert draw.text_color((0, 0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    "function",
    [draw.annotate, draw.draw_masks, draw.draw_contours, draw.draw_boxes, draw.draw_labels],
)
def test_drawing_on_an_image_of_another_size_says_so(dets, function):
    with pytest.raises(UserError, match=r"belong to a 200x100 image, not to this 120x80 one"):
        function(np.zeros((80, 120, 3), np.uint8), dets)
