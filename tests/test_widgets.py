import numpy as np
import pytest

from maskrcnn_tutorial import draw
from maskrcnn_tutorial.apps import explorers
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.explain import render

from .conftest import make_raw

LABELS = ["zero", "one", "two"]


@pytest.fixture
def image():
    return np.full((100, 200, 3), 90, np.uint8)


def test_render_overlay_follows_the_thresholds(raw_two, image):
    both = render.render_overlay(image, raw_two, LABELS, conf_threshold=0.5)
    one = render.render_overlay(image, raw_two, LABELS, conf_threshold=0.7)
    none = render.render_overlay(image, raw_two, LABELS, conf_threshold=0.95)
    assert not np.array_equal(both, one)
    np.testing.assert_array_equal(none, draw.upscale(image, 3))  # nothing drawn, 3x larger
    loose = render.render_overlay(image, raw_two, LABELS, mask_threshold=0.1, boxes=False)
    tight = render.render_overlay(image, raw_two, LABELS, mask_threshold=0.9, boxes=False)
    big = draw.upscale(image, 3)
    assert (loose != big).any(axis=2).sum() > (tight != big).any(axis=2).sum()


def test_mask_grid_names_every_class_and_frames_the_detected_one(raw_two):
    grid = render.render_mask_grid(raw_two, 0, LABELS)
    shown, tiles = render.mask_grid_layout(raw_two, 0)
    assert shown[0] == 1 and sorted(shown) == [0, 1, 2]  # the detected class (1) first
    assert len(tiles) == 3
    x, y, w, h = tiles[0]
    assert (grid[y - 2, x - 2 : x + w + 2] == 255).all()  # white frame around the detected class
    assert not (grid[tiles[1][1] - 2, tiles[1][0] : tiles[1][0] + w] == 255).all()
    names = grid[y + h + 2 : y + h + 24, x : x + w]
    assert names.max() > 200  # a name is written under the tile
    assert grid.shape[1] > tiles[-1][0] + w + 40  # room for the color bar on the right


def test_mask_grid_with_many_classes_shows_the_detected_and_the_strongest_others():
    masks = np.zeros((100, 90, 15, 15), np.float32)
    masks[0, 7], masks[0, 40], masks[0, 3] = 0.9, 0.8, 0.2
    raw = make_raw([[7, 0.9, 0.1, 0.1, 0.5, 0.5]], masks=masks, classes=90)
    shown, tiles = render.mask_grid_layout(raw, 0, top=4)
    assert shown[:3] == [7, 40, 3] and len(shown) == len(tiles) == 4


def test_overlay_explorer_rerenders_on_slider_moves(raw_two, image):
    box = explorers.overlay_explorer(image, raw_two, LABELS)
    first = bytes(box.view.value)
    assert bytes(first).startswith(b"\x89PNG")
    box.mask_threshold.value = 0.9
    second = bytes(box.view.value)
    assert second != first
    box.colors.value = "instance"
    third = bytes(box.view.value)
    assert third != second  # two detections of two classes: per-instance colors differ
    box.contours.value = False
    assert bytes(box.view.value) != third
    assert box.settings() == {
        "conf_threshold": 0.5,
        "mask_threshold": 0.9,
        "alpha": 0.5,
        "colors": "instance",
        "contours": False,
    }


def test_overlay_explorer_displays_as_its_widget(raw_two, image):
    box = explorers.overlay_explorer(image, raw_two, LABELS)
    bundle = box._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.widget.model_id


def test_copy_settings_moves_every_control(raw_two, image):
    old, new = (explorers.overlay_explorer(image, raw_two, LABELS) for _ in range(2))
    old.alpha.value, old.colors.value, old.contours.value = 0.2, "instance", False
    new.copy_settings(old)
    assert new.settings() == old.settings()


def test_explorer_errors_are_loud(raw_two, image, monkeypatch):
    box = explorers.overlay_explorer(image, raw_two, LABELS)

    def broken(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(explorers, "render_overlay", broken)
    with pytest.raises(RuntimeError, match="render failed"):
        box.alpha.value = 0.2
    errors = box.errors
    assert "render failed" in "".join(o.get("text", "") for o in errors.outputs)


def test_mask_browser_lists_detections_above_threshold(raw_two):
    box = explorers.mask_browser(raw_two, LABELS, conf_threshold=0.5)
    chooser = box.detection
    assert [value for _, value in chooser.options] == [0, 1]
    first = bytes(box.view.value)
    chooser.value = 1
    assert bytes(box.view.value) != first


def test_mask_browser_with_no_detections_still_shows_row_zero():
    box = explorers.mask_browser(make_raw([]), LABELS)
    assert bytes(box.view.value).startswith(b"\x89PNG")


def test_display_width_scales_small_pictures_by_whole_factors():
    assert render.display_width(256) == 512
    assert render.display_width(500) == 500
    assert render.display_width(100) == 500
    assert render.display_width(4000) == render.MAX_DISPLAY


def test_explorer_picture_has_a_definite_width(raw_two, image):
    box = explorers.overlay_explorer(image, raw_two, LABELS)
    assert box.view.layout.width == "600px"  # 200 px wide, scaled by 3 to reach 480


def test_box_probe_picture_shows_the_chosen_class_mask_inside_the_box():
    image = np.zeros((600, 800, 3), np.uint8)  # large enough not to be upscaled
    masks = np.zeros((3, 15, 15), np.float32)
    masks[1, :, :7] = 1.0  # class 1: the left half of the box
    masks[2] = 1.0  # class 2: the whole box
    box = (100, 200, 399, 499)
    one = render.render_box_probe(image, box, masks, 1, ("a", "b", "c"))
    two = render.render_box_probe(image, box, masks, 2, ("a", "b", "c"))
    assert one.shape[0] == 600 and one.shape[1] > 800 + 15 * 12
    inside = one[260:440, 120:380].astype(int).sum(2)
    assert inside[:, :100].mean() > 3 * inside[:, -100:].mean()  # left half lit, right dark
    assert two[260:440, 300:380].sum() > one[260:440, 300:380].sum()
    assert one[:198, :800].sum() == 0 and one[:, 402:800].sum() == 0  # nothing outside the box
    # the enlarged 15x15 panel, as tall as the picture by default (legible when shown shrunk):
    # class 1's tile bright on the left, dark on the right
    panel = one[:, 808:]
    lit = np.flatnonzero((panel[:, 8 + 15 * 12] != 40).any(axis=1))  # a column of the tile
    rows = max(np.split(lit, np.flatnonzero(np.diff(lit) > 1) + 1), key=len)  # under the name
    assert len(rows) > 500
    tile = panel[rows[0] : rows[-1] + 1, 8 : 8 + len(rows)].astype(int).sum(2)
    third = len(rows) // 3
    assert tile[:, :third].mean() > 2 * tile[:, -third:].mean()
    small = render.render_box_probe(image, box, masks, 1, ("a", "b", "c"), scale=12)
    assert small.shape[1] < one.shape[1]  # an explicit scale is kept


def test_box_probe_picture_clamps_boxes_and_upscales_small_pictures():
    masks = np.full((2, 15, 15), 0.7, np.float32)
    picture = render.render_box_probe(
        np.zeros((100, 120, 3), np.uint8), (-5, 90, 500, 400), masks, 0
    )
    factor = draw.upscale_factor((100, 120))
    assert factor > 1 and picture.shape[0] == 100 * factor  # the panel fits the picture
    assert picture[: 90 * factor - 4, : 120 * factor].sum() == 0  # the box is the bottom strip


@pytest.fixture(scope="module")
def shapes_probe(shapes_model):
    from maskrcnn_tutorial.synthetic.scenes import make_scene

    model = shapes_model
    image = make_scene(1_000_051).image
    return model, image, model.forward(image)


def test_box_probe_starts_at_a_detection_and_reruns_only_the_mask_head(shapes_probe, monkeypatch):
    model, image, raw = shapes_probe
    real_forward, real_box_masks = model.forward, model.box_masks
    forwards, head_runs = [], []

    def forward(*args, **kwargs):
        forwards.append(kwargs)
        return real_forward(*args, **kwargs)

    def box_masks(raw, boxes):
        head_runs.append([tuple(int(v) for v in box) for box in boxes])
        return real_box_masks(raw, boxes)

    monkeypatch.setattr(model, "forward", forward)
    monkeypatch.setattr(model, "box_masks", box_masks)
    probe = explorers.box_probe(model, image, raw)  # from a full pass: it fetches the features
    assert [call.get("mask_branch") for call in forwards] == ["kept"]  # once, without masks
    row = probe.start.value
    final = raw.detection_out_final[0, 0, row]
    assert probe.box == explorers.pixel_box(final, image.shape[1], image.shape[0])
    assert probe.class_id.value == int(final[1])
    assert head_runs == [[probe.box]]  # moving to the start: one mask-head run, not five
    np.testing.assert_array_equal(
        probe.masks(), real_box_masks(probe.raw, np.array([probe.box]))[0]
    )
    before = probe.view.value
    probe.class_id.value = (probe.class_id.value + 1) % len(model.labels)
    assert probe.view.value != before and len(head_runs) == 1  # same box: no new run
    probe.width.value = max(2, probe.width.value // 2)
    assert head_runs[1:] == [[probe.box]]  # a new box: the head runs on it, once
    probe.start.value = -1
    assert probe.box == (0, 0, image.shape[1] - 1, image.shape[0] - 1)
    assert head_runs[-1] == [probe.box] and len(forwards) == 1  # never the whole net again


def test_box_masks_need_the_feature_map(shapes_probe):
    model, _, raw = shapes_probe
    with pytest.raises(UserError, match="mask_branch='kept'"):
        model.box_masks(raw, np.array([[0, 0, 10, 10]]))


def test_render_channels_lays_out_a_grid_scaled_per_channel():
    tensor = np.zeros((1, 5, 8, 10), np.float32)
    tensor[0, 1, :, 5:] = 3.0  # right half bright
    grid = render.render_channels(tensor, count=4, columns=2)
    scale = 6  # 8 px high, scaled to at least 48
    assert grid.shape == (2 * (8 * scale + 4), 2 * (10 * scale + 4), 3)
    cell = grid[2 : 2 + 8 * scale, 10 * scale + 4 + 2 : 2 * (10 * scale + 4) - 2]  # channel 1
    assert not np.array_equal(cell[:, 0], cell[:, -1])  # dark left, bright right
    flat = render.render_channels(np.arange(12, dtype=np.float32).reshape(1, 12))
    assert flat.shape[0] > 0 and render.as_channels(np.zeros((3, 7, 4))).shape == (1, 21, 4)
    assert render.as_channels(tensor, item=9).shape == (5, 8, 10)  # last row, not an error


def test_render_histogram_has_axes_and_bars_that_follow_the_values():
    low = render.render_histogram(np.zeros(100), bins=4, size=(160, 300))
    assert low.shape == (160, 300, 3)
    bar = np.array([180, 130, 70])  # steelblue in BGR
    spread = render.render_histogram(np.arange(100.0), bins=4, size=(160, 300))
    blue = [int((np.abs(p.astype(int) - bar).sum(axis=2) < 30).sum()) for p in (low, spread)]
    assert 0 < blue[0] < blue[1]  # one bar for the constant, four for the spread values
    # axes: a dark frame line (the spine) and tick labels, i.e. dark pixels outside the bars
    assert (spread.max(axis=2) < 60).sum() > 200
    assert "shape (2, 3)" in render.layer_summary("x", np.zeros((2, 3)))


def _trace(index=0):
    from maskrcnn_tutorial.explain.decode import ProposalTrace

    box = np.array([0.1, 0.1, 0.5, 0.5], np.float32)
    return ProposalTrace(index, box, 0.9, box + 0.05, np.array([0.2, 0.7, 0.1]),
                         np.stack([box, box + 0.1, box]), [0])  # fmt: skip


def test_render_proposal_draws_the_boxes_and_the_crop(image):
    crop = np.random.default_rng(0).random((4, 14, 14)).astype(np.float32)
    picture = render.render_proposal(image, _trace(), crop, ["a", "b", "c"])
    assert picture.shape[0] > image.shape[0] and picture.shape[1] > image.shape[1]
    drawn = picture[: image.shape[0], : image.shape[1]]
    assert (drawn == render.REFINED_COLOR).all(axis=2).any()  # the refined box of class 1
    assert (drawn == render.PROPOSAL_COLOR).all(axis=2).any()  # the proposal
    # the anchor is drawn last, on top: its top-left corner shows in its own colour
    height, width = image.shape[:2]
    x, y = round(0.1 * width), round(0.1 * height)
    assert (drawn[y - 1 : y + 2, x - 1 : x + 2] == render.ANCHOR_COLOR).all(axis=2).any()
    legend = picture[image.shape[0] :, : image.shape[1]]  # three swatches under the picture
    for color in (render.ANCHOR_COLOR, render.PROPOSAL_COLOR, render.REFINED_COLOR):
        assert (legend == color).all(axis=2).sum() >= 200


def test_layer_and_proposal_explorers_rerender(image):
    raw = make_raw([[1, 0.9, 0.1, 0.1, 0.5, 0.5]])
    raw.taps = {"a": np.random.default_rng(1).random((1, 20, 6, 6)), "b": np.ones((2, 3))}
    box = explorers.layer_explorer(raw)
    before = box.view.value
    box.layer.value = "b"
    assert box.view.value != before
    crops = np.random.default_rng(2).random((2, 4, 14, 14)).astype(np.float32)
    explorer = explorers.proposal_explorer(image, [_trace(0), _trace(1)], crops, LABELS)
    before = explorer.view.value
    explorer.proposal.value = 1
    assert explorer.view.value != before
