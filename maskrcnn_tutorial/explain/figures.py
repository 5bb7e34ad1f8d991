"""The notebooks' matplotlib figures, as named drawing functions: data in, drawn on an Axes.

A figure cell then reads as the algorithm it shows (``figures.anchors_to_boxes(ax, image,
anchors, proposals)``) instead of a loop of rectangles, and the tests can check what was drawn.
Every function draws on the ``Axes`` it is given and returns the artists it added (or the
colour bar), so a caller can add titles or legends. Boxes are ``[x1, y1, x2, y2]`` in pixels of
the picture shown (multiply normalised boxes by ``[width, height, width, height]`` first);
pictures are BGR, as OpenCV gives them.

Organised by kind of figure:

- pictures: :func:`show_image`, :func:`show_pictures`;
- boxes: :func:`draw_boxes`, :func:`box_intersection`, :func:`proposals_and_detections`,
  :func:`anchors_to_boxes`, :func:`anchor_shapes`, :func:`class_boxes`;
- maps: :func:`map_over_image`, :func:`class_heatmap`, :func:`tensor_map`;
- distributions: :func:`histogram`;
- diagrams: :func:`stage_diagram`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.container import BarContainer
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

#: Line styles that say what a box is, the same in every figure.
ANCHOR_STYLE = ":"
PROPOSAL_STYLE = "--"
DETECTION_STYLE = "-"


def _boxes(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not np.isfinite(boxes).all():
        raise ValueError("boxes must be finite [x1, y1, x2, y2] corners")
    return boxes


def _map(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    if values.ndim != 2:
        raise ValueError(f"a map is 2-D, got shape {values.shape}")
    return values


def _colorbar(ax: Axes, mappable, label: str) -> Colorbar:
    bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02)
    bar.set_label(label)
    return bar


# --- pictures ---------------------------------------------------------------------------------


def show_image(ax: Axes, image: np.ndarray, title: str | None = None) -> AxesImage:
    """``image`` (BGR, or one channel) on ``ax`` without axes, with an optional title."""
    image = np.asarray(image)
    shown = ax.imshow(image[..., ::-1] if image.ndim == 3 else image, cmap="gray")
    if title is not None:
        ax.set_title(title)
    ax.axis("off")
    return shown


def show_pictures(axes: Sequence[Axes] | np.ndarray, pictures: Mapping[str, np.ndarray]) -> None:
    """One picture per axes, titled with its key; axes left over are blanked."""
    axes = list(np.asarray(axes, dtype=object).ravel())
    if len(pictures) > len(axes):
        raise ValueError(f"{len(pictures)} pictures but only {len(axes)} axes")
    for ax, (title, picture) in zip(axes, pictures.items(), strict=False):
        show_image(ax, picture, title)
    for ax in axes[len(pictures) :]:
        ax.axis("off")


# --- boxes ------------------------------------------------------------------------------------


def draw_boxes(
    ax: Axes,
    boxes: np.ndarray,
    *,
    color="yellow",
    linestyle: str = DETECTION_STYLE,
    linewidth: float = 1.5,
    label: str | None = None,
) -> list[Rectangle]:
    """Outline every box; ``color`` is one colour or one per box. Only the first box carries
    ``label``, so a legend names the group once."""
    boxes = _boxes(boxes)
    colors = color if isinstance(color, (list, np.ndarray)) and len(color) == len(boxes) else None
    drawn = []
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        patch = Rectangle(
            (x1, y1),
            x2 - x1,
            y2 - y1,
            fill=False,
            edgecolor=colors[k] if colors is not None else color,
            linestyle=linestyle,
            linewidth=linewidth,
            label=label if k == 0 and label else "_nolegend_",
        )
        ax.add_patch(patch)
        drawn.append(patch)
    return drawn


def box_intersection(
    ax: Axes, first: np.ndarray, second: np.ndarray, color: str = "tab:green"
) -> list[Rectangle]:
    """Two boxes outlined (blue, orange) and the region they share filled: the picture of IoU's
    numerator. Returns the two outlines, then the filled intersection (none if they are
    disjoint)."""
    (a,), (b,) = _boxes([first]), _boxes([second])
    drawn = draw_boxes(ax, np.stack([a, b]), color=["tab:blue", "tab:orange"], linewidth=2)
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    if x2 > x1 and y2 > y1:
        patch = Rectangle((x1, y1), x2 - x1, y2 - y1, color=color, alpha=0.4)
        ax.add_patch(patch)
        drawn.append(patch)
    return drawn


def proposals_and_detections(
    ax: Axes,
    image: np.ndarray,
    proposals: np.ndarray,
    detections: np.ndarray,
    names: Sequence[str],
) -> list[Rectangle]:
    """Each detection (solid, green) beside the stage-1 proposal it was refined from (dashed,
    yellow), the detection named at its top-left corner; ``proposals[k]`` belongs to
    ``detections[k]``."""
    proposals, detections = _boxes(proposals), _boxes(detections)
    if not len(proposals) == len(detections) == len(names):
        raise ValueError("one proposal and one name per detection")
    show_image(ax, image)
    drawn = draw_boxes(
        ax, proposals, color="yellow", linestyle=PROPOSAL_STYLE, linewidth=2, label="proposal"
    )
    drawn += draw_boxes(ax, detections, color="lime", linewidth=2, label="detection")
    for (x1, y1, _, _), name in zip(detections, names, strict=True):
        ax.text(x1 + 2, y1 + 2, name, color="black", fontsize=8, va="top",
                bbox={"facecolor": "lime", "pad": 1, "linewidth": 0})  # fmt: skip
    if len(drawn):
        ax.legend(loc="lower right", fontsize=8)
    return drawn


def anchors_to_boxes(
    ax: Axes,
    image: np.ndarray,
    anchors: np.ndarray,
    boxes: np.ndarray,
    values: np.ndarray | None = None,
    *,
    value_label: str = "rank",
    cmap: str = "plasma",
) -> Colorbar:
    """Each anchor (dotted) joined to the box its deltas made of it (solid), both in one colour
    taken from ``values`` (default: the rank 0, 1, 2 ... in the order given), with a colour bar
    named ``value_label``. The line joins the two centres: how far the deltas moved the box."""
    anchors, boxes = _boxes(anchors), _boxes(boxes)
    if len(anchors) != len(boxes):
        raise ValueError("one refined box per anchor")
    values = np.arange(len(boxes), dtype=np.float64) if values is None else np.asarray(values)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    norm = mpl.colors.Normalize(low, high)
    colors = mpl.colormaps[cmap](norm(values))
    show_image(ax, image)
    draw_boxes(ax, anchors, color=list(colors), linestyle=ANCHOR_STYLE, linewidth=1.2)
    draw_boxes(ax, boxes, color=list(colors), linewidth=1.8)
    for a, b, c in zip(anchors, boxes, colors, strict=True):
        ax.plot([(a[0] + a[2]) / 2, (b[0] + b[2]) / 2], [(a[1] + a[3]) / 2, (b[1] + b[3]) / 2],
                color=c, linewidth=1)  # fmt: skip
    ax.legend(
        handles=[
            Line2D([], [], color="gray", linestyle=ANCHOR_STYLE, label="anchor"),
            Line2D([], [], color="gray", linestyle=DETECTION_STYLE, label="after its deltas"),
        ],
        loc="lower right",
        fontsize=8,
    )
    return _colorbar(ax, mpl.cm.ScalarMappable(norm, cmap), value_label)


def anchor_shapes(
    ax: Axes,
    image: np.ndarray,
    anchors: np.ndarray,
    groups: Sequence[str],
) -> list[Rectangle]:
    """The anchors of one cell, one colour per group (e.g. its size as the graph lists it),
    with a legend naming the groups in their first-seen order."""
    anchors = _boxes(anchors)
    if len(groups) != len(anchors):
        raise ValueError("one group per anchor")
    names = list(dict.fromkeys(groups))
    show_image(ax, image)
    drawn = []
    for g, name in enumerate(names):
        members = anchors[[k for k, group in enumerate(groups) if group == name]]
        drawn += draw_boxes(ax, members, color=mpl.colormaps["tab10"](g % 10), label=name)
    ax.legend(loc="lower right", fontsize=8)
    return drawn


def class_boxes(
    ax: Axes,
    image: np.ndarray,
    proposal: np.ndarray,
    refined: Mapping[str, np.ndarray],
    zoom: float | None = None,
) -> list[Rectangle]:
    """One proposal (dashed) and the box each class's own deltas make of it (solid, one colour
    per class, named in the legend by the keys of ``refined``). With ``zoom``, the view is cut
    to the boxes plus that fraction of their extent on every side, so small differences show."""
    show_image(ax, image)
    drawn = draw_boxes(ax, proposal, color="yellow", linestyle=PROPOSAL_STYLE, linewidth=2,
                       label="proposal")  # fmt: skip
    for k, (name, box) in enumerate(refined.items()):
        color = ("lime", "orange", "magenta", "cyan", "red")[k % 5]
        drawn += draw_boxes(ax, box, color=color, linewidth=2, label=name)
    ax.legend(loc="lower right", fontsize=8)
    if zoom is not None:
        every = np.vstack([_boxes(proposal), *(_boxes(b) for b in refined.values())])
        (x1, y1), (x2, y2) = every[:, :2].min(0), every[:, 2:].max(0)
        mx, my = zoom * (x2 - x1), zoom * (y2 - y1)
        ax.set(xlim=(x1 - mx, x2 + mx), ylim=(y2 + my, y1 - my))
    return drawn


# --- maps -------------------------------------------------------------------------------------


def map_over_image(
    ax: Axes,
    image: np.ndarray,
    values: np.ndarray,
    *,
    label: str,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    alpha: float = 0.6,
    shift: float = 0.0,
) -> Colorbar:
    """A coarse map (one value per feature cell) stretched over the picture it was computed on,
    half transparent, so each cell sits over the pixels it stands for; a colour bar says what
    the colours mean. ``shift`` moves the map by that fraction of a cell: -0.5 centres cell
    ``j`` on ``x = j * step``, where anchors sit when PriorBox's ``offset`` is 0."""
    values = _map(values)
    height, width = np.asarray(image).shape[:2]
    dx, dy = shift * width / values.shape[1], shift * height / values.shape[0]
    show_image(ax, image)
    extent = (dx, width + dx, height + dy, dy)
    shown = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, alpha=alpha, extent=extent,
                      interpolation="nearest")  # fmt: skip
    ax.set(xlim=(0, width), ylim=(height, 0))  # the picture's frame, whatever the shift
    return _colorbar(ax, shown, label)


def class_heatmap(
    ax: Axes,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    xlabel: str = "proposal",
    label: str = "probability",
) -> Colorbar:
    """A (N, C) table as a heat map with one named row per class (columns: the N items), on a
    fixed 0..1 scale with a colour bar."""
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(f"{len(class_names)} names for a table of shape {probabilities.shape}")
    shown = ax.imshow(probabilities.T, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest")  # fmt: skip
    ax.set_yticks(range(len(class_names)), list(class_names))
    ax.set_xlabel(xlabel)
    return _colorbar(ax, shown, label)


def tensor_map(
    ax: Axes,
    values: np.ndarray,
    title: str,
    *,
    cmap: str = "viridis",
    label: str = "value",
    vmin: float | None = None,
    vmax: float | None = None,
) -> Colorbar:
    """One 2-D slice of a tensor, cell by cell (no smoothing, so the grid size shows), titled
    with its shape and with a colour bar; ``vmin``/``vmax`` fix the scale (to compare maps)."""
    values = _map(values)
    shown = ax.imshow(values, cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
    ax.set_title(f"{title}\n{values.shape[0]}x{values.shape[1]}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return _colorbar(ax, shown, label)


# --- distributions ----------------------------------------------------------------------------


def histogram(
    ax: Axes,
    values: np.ndarray,
    *,
    xlabel: str,
    ylabel: str = "count",
    title: str | None = None,
    bins: int = 60,
    log: bool = False,
) -> BarContainer:
    """A histogram of ``values`` (any shape) with both axes named; ``log`` counts on a log
    scale (for values where a few bins hold nearly everything)."""
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    _, _, bars = ax.hist(values, bins=bins, color="steelblue", log=log)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (log)" if log else ""))
    if title is not None:
        ax.set_title(title, fontsize=10)
    return bars


# --- diagrams ---------------------------------------------------------------------------------


def stage_diagram(ax: Axes, stages: Sequence[tuple[str, int, tuple[int, ...]]]) -> list[Text]:
    """The network's stages left to right, each a box naming the stage, its number of layers
    and the output shape of its last layer (``anatomy.stage_summary`` rows), joined by arrows
    in the order data flows."""
    boxes = []
    for k, (stage, count, shape) in enumerate(stages):
        text = f"{stage}\n{count} layer{'s' * (count != 1)}\n{' x '.join(map(str, shape))}"
        frame = {"boxstyle": "round", "facecolor": "lightsteelblue"}
        boxes.append(ax.text(k, 0, text, ha="center", va="center", fontsize=9, bbox=frame))
        if k:
            ax.annotate("", (k - 0.38, 0), (k - 0.62, 0), arrowprops={"arrowstyle": "->"})
    ax.set(xlim=(-0.6, len(stages) - 0.4), ylim=(-0.5, 0.5))
    ax.axis("off")
    return boxes
