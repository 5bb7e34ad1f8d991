"""The notebooks' figures (explain/figures.py): what each function draws, where, and named how."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from maskrcnn_tutorial.explain import figures  # noqa: E402

IMAGE = np.zeros((60, 80, 3), np.uint8)
IMAGE[..., 0] = 255  # blue in BGR


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def rectangles(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def corners(patch: Rectangle) -> list[float]:
    x, y = patch.get_xy()
    return [x, y, x + patch.get_width(), y + patch.get_height()]


def test_show_image_flips_bgr_to_rgb_and_hides_the_axes(ax):
    shown = figures.show_image(ax, IMAGE, "a title")
    assert shown.get_array()[0, 0].tolist() == [0, 0, 255]  # blue stays blue on screen
    assert ax.get_title() == "a title" and not ax.axison


def test_show_pictures_titles_each_and_blanks_the_rest():
    fig, axes = plt.subplots(1, 3)
    figures.show_pictures(axes, {"one": IMAGE, "two": IMAGE[..., 0]})
    assert [a.get_title() for a in axes] == ["one", "two", ""]
    assert len(axes[2].images) == 0 and not axes[2].axison
    with pytest.raises(ValueError, match="3 pictures but only 1 axes"):
        figures.show_pictures(axes[:1], {"a": IMAGE, "b": IMAGE, "c": IMAGE})
    plt.close(fig)


def test_draw_boxes_puts_each_box_at_its_corners_and_labels_the_group_once(ax):
    drawn = figures.draw_boxes(ax, [[1, 2, 11, 22], [5, 5, 6, 9]], color="red", label="x")
    assert [corners(p) for p in drawn] == [[1, 2, 11, 22], [5, 5, 6, 9]]
    assert [p.get_label() for p in drawn][0] == "x" and drawn[1].get_label().startswith("_")
    assert all(p.get_edgecolor() == to_rgba("red") and not p.get_fill() for p in drawn)
    with pytest.raises(ValueError, match="finite"):
        figures.draw_boxes(ax, [[0, 0, np.nan, 1]])


def test_draw_boxes_takes_one_colour_per_box(ax):
    drawn = figures.draw_boxes(ax, [[0, 0, 1, 1], [0, 0, 2, 2]], color=["red", "blue"])
    assert [p.get_edgecolor() for p in drawn] == [to_rgba("red"), to_rgba("blue")]


def test_box_intersection_fills_exactly_the_shared_region(ax):
    first, second, shared = figures.box_intersection(ax, [20, 20, 120, 100], [60, 40, 160, 130])
    assert corners(first) == [20, 20, 120, 100] and corners(second) == [60, 40, 160, 130]
    assert corners(shared) == [60, 40, 120, 100] and shared.get_fill()
    apart = figures.box_intersection(ax, [0, 0, 10, 10], [20, 20, 30, 30])
    assert len(apart) == 2  # disjoint boxes share nothing to fill


def test_proposals_are_dashed_beside_solid_detections(ax):
    figures.proposals_and_detections(
        ax, IMAGE, [[10, 10, 40, 40]], [[12, 11, 38, 42]], ["star 0.97"]
    )
    dashed = [p for p in rectangles(ax) if p.get_linestyle() == "--"]
    solid = [p for p in rectangles(ax) if p.get_linestyle() == "-"]
    assert [corners(p) for p in dashed] == [[10, 10, 40, 40]]
    assert [corners(p) for p in solid] == [[12, 11, 38, 42]]
    assert [t.get_text() for t in ax.texts] == ["star 0.97"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["proposal", "detection"]
    with pytest.raises(ValueError, match="one proposal and one name"):
        figures.proposals_and_detections(ax, IMAGE, [[0, 0, 1, 1]], [], [])


def test_anchor_is_dotted_and_joined_to_its_refined_box_in_one_colour(ax):
    anchors = [[0, 0, 20, 20], [40, 40, 60, 60]]
    refined = [[2, 4, 26, 24], [38, 30, 70, 58]]
    bar = figures.anchors_to_boxes(
        ax, IMAGE, anchors, refined, values=[0.5, 2.5], value_label="logit"
    )
    dotted = [p for p in rectangles(ax) if p.get_linestyle() == ":"]
    solid = [p for p in rectangles(ax) if p.get_linestyle() == "-"]
    assert [corners(p) for p in dotted] == anchors and [corners(p) for p in solid] == refined
    for a, b in zip(dotted, solid, strict=True):
        assert a.get_edgecolor() == b.get_edgecolor()
    assert dotted[0].get_edgecolor() != dotted[1].get_edgecolor()  # coloured by value
    # one line per pair, from the anchor's centre to the refined box's centre
    assert [line.get_xydata().tolist() for line in ax.lines] == [
        [[10, 10], [14, 14]],
        [[50, 50], [54, 44]],
    ]
    assert bar.ax.get_ylabel() == "logit" and (bar.vmin, bar.vmax) == (0.5, 2.5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["anchor", "after its deltas"]


def test_anchor_shapes_colours_by_group_with_a_legend(ax):
    anchors = [[0, 0, 4, 4], [0, 0, 8, 8], [1, 1, 5, 5]]
    figures.anchor_shapes(ax, IMAGE, anchors, ["small", "large", "small"])
    colours = [p.get_edgecolor() for p in rectangles(ax)]
    by_box = {tuple(corners(p)): p.get_edgecolor() for p in rectangles(ax)}
    assert by_box[(0, 0, 4, 4)] == by_box[(1, 1, 5, 5)] != by_box[(0, 0, 8, 8)]
    assert len(colours) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small", "large"]


def test_class_boxes_name_each_class_in_the_legend(ax):
    figures.class_boxes(
        ax, IMAGE, [5, 5, 30, 30], {"as star": [6, 6, 28, 31], "as ring": [4, 5, 33, 30]}
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["proposal", "as star", "as ring"]
    assert [corners(p) for p in rectangles(ax)][1:] == [[6, 6, 28, 31], [4, 5, 33, 30]]


def test_class_boxes_zoom_to_the_boxes(ax):
    figures.class_boxes(ax, IMAGE, [10, 10, 30, 20], {"as star": [12, 8, 30, 22]}, zoom=0.5)
    assert ax.get_xlim() == (0.0, 40.0) and ax.get_ylim() == (29.0, 1.0)


def test_map_over_image_covers_the_picture_with_a_colour_bar(ax):
    values = np.linspace(0, 1, 12).reshape(3, 4)
    bar = figures.map_over_image(ax, IMAGE, values, label="objectness")
    picture, overlay = ax.images
    assert picture.get_array().shape == (60, 80, 3)
    assert overlay.get_extent() == [0, 80, 60, 0]  # each cell over the pixels it stands for
    assert overlay.get_alpha() == 0.6 and overlay.get_clim() == (0.0, 1.0)
    assert bar.ax.get_ylabel() == "objectness"
    with pytest.raises(ValueError, match="2-D"):
        figures.map_over_image(ax, IMAGE, np.zeros(5), label="x")


def test_map_over_image_shifts_cells_onto_their_anchor_centres(ax):
    figures.map_over_image(ax, IMAGE, np.zeros((3, 4)), label="x", shift=-0.5)
    assert ax.images[1].get_extent() == [-10, 70, 50, -10]  # cells 20 wide, 20 high
    assert ax.get_xlim() == (0, 80) and ax.get_ylim() == (60, 0)


def test_class_heatmap_names_its_rows(ax):
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5]])
    bar = figures.class_heatmap(ax, probs, ["background", "circle", "star"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["background", "circle", "star"]
    assert ax.images[0].get_array().shape == (3, 2)  # rows: classes, columns: proposals
    assert ax.get_xlabel() == "proposal" and bar.ax.get_ylabel() == "probability"
    with pytest.raises(ValueError, match="2 names"):
        figures.class_heatmap(ax, probs, ["a", "b"])


def test_tensor_map_titles_with_the_grid_size(ax):
    bar = figures.tensor_map(ax, np.zeros((15, 15)), "after ResizeBilinear", vmin=-1, vmax=2)
    assert ax.get_title() == "after ResizeBilinear\n15x15"
    assert ax.images[0].get_interpolation() == "nearest"
    assert ax.images[0].get_clim() == (-1, 2) and (bar.vmin, bar.vmax) == (-1, 2)


def test_histogram_has_named_axes_and_counts_every_value(ax):
    bars = figures.histogram(ax, [[0.0, 0.1], [0.1, np.inf]], xlabel="dx", bins=2)
    assert sum(b.get_height() for b in bars) == 3  # the infinite value is left out
    assert ax.get_xlabel() == "dx" and ax.get_ylabel() == "count"
    figures.histogram(ax, [1.0, 2.0], xlabel="w", log=True)
    assert ax.get_ylabel() == "count (log)" and ax.get_yscale() == "log"


def test_stage_diagram_boxes_every_stage_and_joins_them_in_order(ax):
    stages = [("input", 2, (1, 3, 8, 8)), ("backbone", 1, (1, 4, 2, 2)), ("RPN", 3, (1, 16))]
    boxes = figures.stage_diagram(ax, stages)
    assert [b.get_text() for b in boxes] == [
        "input\n2 layers\n1 x 3 x 8 x 8",
        "backbone\n1 layer\n1 x 4 x 2 x 2",
        "RPN\n3 layers\n1 x 16",
    ]
    assert [b.get_position()[0] for b in boxes] == [0, 1, 2]  # left to right, in flow order
    arrows = [t for t in ax.texts if t not in boxes]
    assert len(arrows) == 2  # one arrow between each pair of neighbours
