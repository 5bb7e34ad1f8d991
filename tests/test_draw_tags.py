"""Tags never overlap each other or the legend and never leave the frame, measured on the
rectangles the drawing code itself lays out (``draw.layout_tags``)."""

import itertools

import numpy as np
import pytest

from maskrcnn_tutorial import draw
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic.samples import FAILURE_SEED, SCENE_SEEDS
from maskrcnn_tutorial.synthetic.scenes import make_scene

from .conftest import make_raw


def assert_readable(tags, frame, avoid=()):
    height, width = frame
    for tag in tags:
        x, y, w, h = tag.rect
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, tag
    for a, b in itertools.combinations([t.rect for t in tags] + list(avoid), 2):
        assert not draw.overlaps(a, b), (a, b)


def crowded_raw(count=30, seed=3):
    """``count`` boxes piled into a small image, many sharing a top-left region."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        x1, y1 = rng.uniform(0.0, 0.6, 2)
        w, h = rng.uniform(0.1, 0.4, 2)
        rows.append([int(rng.integers(3)), rng.uniform(0.5, 1.0), x1, y1, x1 + w, y1 + h])
    rows.sort(key=lambda r: -r[1])
    return make_raw(rows, image_shape=(256, 256))


def test_overlaps_is_exact_at_the_edges():
    assert draw.overlaps((0, 0, 10, 10), (9, 9, 5, 5))
    assert not draw.overlaps((0, 0, 10, 10), (10, 0, 5, 5))  # side by side, no shared pixel
    assert not draw.overlaps((0, 0, 10, 10), (0, 10, 10, 5))


def test_thirty_crowded_detections_get_thirty_separate_tags_inside_the_frame():
    dets = postprocess(crowded_raw(), labels=["circle", "square", "triangle"], conf_threshold=0.0)
    assert len(dets) == 30
    big = dets.scaled(draw.upscale_factor(dets.image_shape))
    colors = draw.detection_colors(big, "instance")
    tags = draw.layout_tags(big.boxes, draw.tag_texts(big), colors, big.image_shape)
    assert len(tags) == 30
    assert_readable(tags, big.image_shape)
    assert any(t.leader for t in tags)  # the crowd forced some tags away from their boxes


def test_tags_avoid_the_legend_and_the_drawn_pixels_match_the_layout():
    dets = postprocess(crowded_raw(12), labels=["circle", "square", "triangle"])
    image = np.full((256, 256, 3), 128, np.uint8)
    entries = draw.legend_entries(dets, "class")
    legend = draw.legend_rect((512, 512), entries)
    big = dets.scaled(2)
    tags = draw.layout_tags(
        big.boxes, draw.tag_texts(big), draw.detection_colors(big), (512, 512), [legend]
    )
    assert_readable(tags, (512, 512), [legend])
    out = draw.annotate(image, dets, masks=False, contours=False, boxes=False, legend=True)
    assert out.shape == (512, 512, 3)
    for tag in tags:  # every laid-out tag was painted where the layout put it
        x, y, w, h = tag.rect
        assert (out[y, x : x + w] == tag.color).all(axis=1).mean() > 0.9


def test_tag_falls_back_to_smaller_text_then_a_leader_line():
    box = [[0, 0, 60, 40]]
    taken = [(0, 0, 512, 30), (0, 30, 100, 100)]
    tags = draw.layout_tags(box, ["circle: 0.99"], [(0, 0, 255)], (512, 512), taken)
    assert tags[0].leader == (0, 0)
    assert_readable(tags, (512, 512), taken)


@pytest.mark.parametrize("seed", [*SCENE_SEEDS, FAILURE_SEED])
@pytest.mark.parametrize("colors", ["class", "instance"])
def test_lead_scenes_have_readable_tags(seed, colors, shapes_model):
    model = shapes_model
    image = make_scene(seed).image
    dets = postprocess(model.forward(image), labels=model.labels, conf_threshold=0.3)
    big = dets.scaled(draw.upscale_factor(image.shape))
    entries = draw.legend_entries(dets, colors)
    legend = draw.legend_rect(big.image_shape, entries)
    tags = draw.layout_tags(
        big.boxes,
        draw.tag_texts(big),
        draw.detection_colors(big, colors),
        big.image_shape,
        [legend],
    )
    assert len(tags) == len(dets)
    assert max(big.image_shape) >= draw.MIN_SIDE
    assert_readable(tags, big.image_shape, [legend])


def test_lead_scene_is_right_and_failure_scene_keeps_its_duplicate(shapes_model):
    model = shapes_model
    lead = postprocess(model.forward(make_scene(SCENE_SEEDS[0]).image), labels=model.labels)
    truth = make_scene(SCENE_SEEDS[0])
    assert sorted(lead.labels) == sorted(model.labels[c] for c in truth.class_ids)
    failure = postprocess(model.forward(make_scene(FAILURE_SEED).image), labels=model.labels)
    assert len(failure) > len(make_scene(FAILURE_SEED).class_ids)
