"""Loading a Mask R-CNN text graph with OpenCV DNN and running it.

The same call loads both models: ``cv2.dnn.readNetFromTensorflow(weights.pb, graph.pbtxt)``
(:func:`maskrcnn_tutorial.graph.net.read_net`, which picks OpenCV 5's classic engine).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.net import read_net
from maskrcnn_tutorial.io.images import check_image

if TYPE_CHECKING:
    from maskrcnn_tutorial.graph.split import SplitNet
    from maskrcnn_tutorial.models.spec import ModelSpec

#: The three outputs every Mask R-CNN graph here provides, by layer name.
OUTPUT_NAMES = names.OUTPUTS

TARGETS = {"cpu": cv2.dnn.DNN_TARGET_CPU, "opencl": cv2.dnn.DNN_TARGET_OPENCL}

#: How the mask branch runs: ``full`` runs the whole graph, as OpenCV and the tutorial do (masks
#: for all rows of ``detection_out_final``); ``kept`` runs it only for the rows above the
#: confidence threshold (see :mod:`maskrcnn_tutorial.graph.split`): the same results, less time.
MASK_BRANCHES = ("full", "kept")


@dataclass
class RawOutputs:
    """What one forward pass returns, before any post-processing.

    ``detection_out_final`` is [1, 1, N, 7] with rows [batch, class_id, score, x1, y1, x2, y2]
    (corners normalised to [0, 1]); ``detection_masks`` is [N, C, 15, 15] sigmoid
    probabilities; ``detection_out`` holds the stage-1 proposals in the 7-column layout.

    After a ``kept`` forward pass only the rows in ``mask_rows`` have masks; the others are
    NaN (never computed). ``features`` is the feature map the mask branch crops from, which
    :meth:`Model.box_masks` needs to predict masks for any other box.
    """

    detection_out_final: np.ndarray
    detection_masks: np.ndarray
    detection_out: np.ndarray
    blob_shape: tuple[int, ...]
    image_shape: tuple[int, int]
    """(height, width) of the image the outputs belong to."""
    time_ms: float
    taps: dict[str, np.ndarray] = field(default_factory=dict)
    """Intermediate outputs asked for with ``Model.forward(image, taps=[...])``, by layer name
    (:data:`.anatomy.TAPS` names the useful ones by stage)."""
    mask_rows: np.ndarray | None = None
    """Rows of ``detection_out_final`` whose masks were computed; ``None``: all of them."""
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Check the tensors where they enter (a hand-built or loaded ``RawOutputs`` too): a
        :class:`UserError` names what does not fit, instead of a traceback deep in
        post-processing."""
        final = np.asarray(self.detection_out_final)
        masks = np.asarray(self.detection_masks)
        if final.ndim == 0 or final.shape[-1] != 7:
            raise UserError(
                f"RawOutputs: detection_out_final must end in 7 columns [batch, class_id, "
                f"score, x1, y1, x2, y2], got shape {final.shape}"
            )
        if not np.isfinite(final).all():
            raise UserError("RawOutputs: detection_out_final holds NaN or infinite values")
        rows = final.size // 7
        if masks.ndim != 4 or masks.shape[0] != rows:
            raise UserError(
                f"RawOutputs: detection_masks must be [N, classes, height, width] with one "
                f"row per detection ({rows}), got shape {masks.shape}"
            )
        shape = tuple(self.image_shape)
        if len(shape) != 2 or not all(isinstance(v, int | np.integer) and v >= 1 for v in shape):
            raise UserError(
                f"RawOutputs: image_shape must be (height, width) in whole pixels, got {shape}"
            )
        self.image_shape = (int(shape[0]), int(shape[1]))

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The three tensors under their layer names (the ``--raw`` .npz layout)."""
        return {name: getattr(self, name) for name in OUTPUT_NAMES}


InputSize = str | int | tuple[int, int] | None
"""How the frame is sized for the network (see :func:`parse_input_size`); a tuple is
(height, width), the text form ``WxH`` (width first, as sizes are written)."""

INPUT_SIZE_CHOICES = "native, asis, N (smaller side N pixels) or WxH"
#: Longest side of the network's input, in pixels (also the largest ``--input-size``): a frame
#: sized past it (``N`` on a long, thin picture, ``asis`` on a large photo) is scaled down, its
#: aspect kept, so no picture can make the blob (and the network's memory) grow without bound.
MAX_BLOB_SIDE = 4096


def parse_input_size(value: InputSize) -> InputSize:
    """Check an input-size choice and return it in canonical form.

    - ``None`` or ``"native"``: the model's own choice (the default): ``coco`` takes the frame
      as it is, as the LearnOpenCV tutorial does; ``shapes`` resizes to the 256 x 256 it was
      trained on.
    - ``"asis"``: the frame as it is, whatever the model.
    - ``N`` (an int, or its text): the smaller side resized to ``N`` pixels, the aspect ratio
      kept, as the TensorFlow model's own ``keep_aspect_ratio_resizer`` does with 800.
    - ``(H, W)`` (numpy's order) or ``"WxH"`` (as sizes are written: ``"800x600"`` is 800
      wide): exactly that size, as OpenCV's ``mask_rcnn.py`` sample does with 800 x 800.
    """
    if value is None or value == "native":
        return None
    if value == "asis":
        return "asis"
    given = value
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            value = tuple(int(part) for part in text.split("x"))[::-1] if "x" in text else int(text)
        except ValueError:
            raise UserError(f"input size {value!r} is not one of: {INPUT_SIZE_CHOICES}") from None
    sizes = value if isinstance(value, tuple) else (value,)
    if len(sizes) not in (1, 2) or not all(32 <= int(v) <= MAX_BLOB_SIDE for v in sizes):
        raise UserError(
            f"input size {given!r} must be {INPUT_SIZE_CHOICES}, "
            f"with sides from 32 to {MAX_BLOB_SIDE}"
        )
    return tuple(int(v) for v in sizes) if isinstance(value, tuple) else int(value)


def format_input_size(size: InputSize) -> str:
    """The text form of a canonical input size, which :func:`parse_input_size` reads back."""
    if size is None:
        return "native"
    if isinstance(size, tuple):
        height, width = size
        return f"{width}x{height}"
    return str(size)


def blob_hw(
    image_shape: tuple[int, ...], input_size: InputSize, native_hw: tuple[int, int] | None = None
) -> tuple[int, int] | None:
    """(height, width) the frame is resized to for ``input_size``; ``None`` keeps it as it is.

    ``native_hw`` is the model's own size (``ModelSpec.input_hw``), used when ``input_size`` is
    ``None``. Whatever the choice, the result's longer side is at most :data:`MAX_BLOB_SIDE`
    (the aspect kept): ``--input-size 256`` on a 4 x 2000 picture gives 8 x 4096, not
    256 x 128000; every entry point (command line, app, API) sizes its blob here.
    """
    size = parse_input_size(input_size)
    height, width = image_shape[:2]
    if size is None:
        size_hw = native_hw
    elif size == "asis":
        size_hw = None
    elif isinstance(size, tuple):
        size_hw = size
    else:
        scale = size / min(height, width)
        size_hw = max(1, round(height * scale)), max(1, round(width * scale))
    high, wide = size_hw or (height, width)
    if max(high, wide) <= MAX_BLOB_SIDE:
        return size_hw
    scale = MAX_BLOB_SIDE / max(high, wide)
    return max(1, round(high * scale)), max(1, round(wide * scale))


def make_blob(image: np.ndarray, size_hw: tuple[int, int] | None = None) -> np.ndarray:
    """The network's input: NCHW float32, RGB order, pixel values 0..255 (the graph scales).

    ``size_hw`` (height, width) resizes the image first; ``None`` keeps its size, as the
    LearnOpenCV tutorial does for the COCO model.
    """
    if size_hw is not None:
        height, width = size_hw
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.dnn.blobFromImage(image, swapRB=True, crop=False)


@dataclass
class Model:
    """A loaded network plus the spec it came from."""

    spec: ModelSpec
    net: cv2.dnn.Net
    target: str = "cpu"
    notices: list[str] = field(default_factory=list)
    input_size: InputSize = None
    """How frames are sized for the network (:func:`parse_input_size`); ``None``: native."""
    _split: SplitNet | None = field(default=None, repr=False)

    @classmethod
    def load(cls, spec: ModelSpec, target: str = "cpu", input_size: InputSize = None) -> Model:
        """Read ``spec``'s files and pick a DNN target (falling back to cpu with a notice);
        ``input_size`` chooses how frames are sized (:func:`parse_input_size`)."""
        input_size = parse_input_size(input_size)
        if not spec.available:
            missing = next(path for path in spec.files if not path.is_file())
            raise UserError(
                f"model {spec.name!r} is not available ({missing} is missing); "
                f"get it with: {spec.how_to_get}"
            )
        if target not in TARGETS:
            raise UserError(f"unknown target {target!r}; choose one of: {', '.join(TARGETS)}")
        damaged = spec.damaged_files()
        if damaged:
            raise UserError(
                f"model {spec.name!r}: {', '.join(damaged)} in {spec.weights.parent} "
                f"is damaged (its sha256 checksum does not match); {spec.repair}"
            )
        net = read_net(str(spec.weights), str(spec.config), fix=spec.repair)
        model = cls(spec=spec, net=net, input_size=input_size)
        model.set_target(target)
        return model

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels

    def set_target(self, target: str) -> None:
        """Run on ``cpu`` or ``opencl``; an unavailable OpenCL device falls back to cpu."""
        if target == "opencl" and not cv2.ocl.haveOpenCL():
            self.notices.append("OpenCL is not available here; running on the CPU instead")
            target = "cpu"
        for net in (self.net, *(self._split.nets if self._split else ())):
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            net.setPreferableTarget(TARGETS[target])
        self.target = target

    def with_input_size(self, input_size: InputSize) -> Model:
        """The same loaded network, sizing frames as ``input_size`` says (no second load)."""
        return dataclasses.replace(self, input_size=parse_input_size(input_size), notices=[])

    def blob(self, image: np.ndarray) -> np.ndarray:
        """The network's input for ``image``, sized as :attr:`input_size` says."""
        image = check_image(image)
        return make_blob(image, blob_hw(image.shape, self.input_size, self.spec.input_hw))

    @property
    def split(self) -> SplitNet:
        """The detector and the mask head (:mod:`.graph.split`), loaded on first use."""
        if self._split is None:
            from maskrcnn_tutorial.graph.split import SplitNet

            self._split = SplitNet.load(self.spec.weights, self.spec.config)
            self.set_target(self.target)
        return self._split

    def forward(
        self,
        image: np.ndarray,
        taps: Sequence[str] = (),
        mask_branch: str = "full",
        conf_threshold: float = 0.5,
    ) -> RawOutputs:
        """Run the network on a BGR uint8 image and return its raw outputs.

        ``taps`` names further layers whose outputs the same forward pass returns, in
        ``RawOutputs.taps`` (each costs a copy of its tensor: ask only for what you show).

        ``mask_branch="full"`` runs the whole graph, as OpenCV does: masks for all rows.
        ``"kept"`` runs the mask branch only for the rows scoring above ``conf_threshold``
        (those post-processing with that threshold keeps): their masks are the same, the other
        rows' are NaN, and ``RawOutputs.features`` holds the feature map the masks are cropped
        from. See :mod:`.split`.
        """
        if mask_branch not in MASK_BRANCHES:
            raise UserError(
                f"unknown mask branch {mask_branch!r}; choose one of: {', '.join(MASK_BRANCHES)}"
            )
        if taps and mask_branch != "full":
            raise UserError("taps come from the whole graph: use them with mask_branch='full'")
        unknown = [name for name in taps if self.net.getLayerId(name) < 0]
        if unknown:
            raise UserError(
                f"model {self.name!r} has no layer {unknown[0]!r}; "
                "pick a name from anatomy.TAPS or model.net.getLayerNames()"
            )
        image = check_image(image)
        extra = [name for name in dict.fromkeys(taps) if name not in OUTPUT_NAMES]
        split = self.split if mask_branch == "kept" else None
        blob = self.blob(image)
        start = time.perf_counter()
        rows = features = None
        if split is None:
            self.net.setInput(blob)
            final, masks, proposals, *tapped = self.net.forward([*OUTPUT_NAMES, *extra])
        else:
            final, proposals, features = split.detect(blob)
            rows = np.flatnonzero(final.reshape(-1, 7)[:, 2] > conf_threshold)
            masks, tapped = split.masks_for_rows(features, final, rows), []
        elapsed = (time.perf_counter() - start) * 1000.0
        outputs = dict(zip(OUTPUT_NAMES, (final, masks, proposals), strict=True))
        outputs.update(zip(extra, tapped, strict=True))
        return RawOutputs(
            detection_out_final=final,
            detection_masks=masks,
            detection_out=proposals,
            blob_shape=tuple(blob.shape),
            image_shape=(image.shape[0], image.shape[1]),
            time_ms=elapsed,
            taps={name: outputs[name] for name in taps},
            mask_rows=rows,
            features=features,
        )

    def box_masks(self, raw: RawOutputs, boxes: np.ndarray) -> np.ndarray:
        """[K, C, 15, 15]: the masks the mask head predicts for any K pixel boxes ``[left, top,
        right, bottom]`` on the picture ``raw`` came from, for every class.

        The head crops ``raw.features`` (set by a ``kept`` forward pass) at each box: it never
        learns whether an object is there, it only says what it would draw inside the box.
        """
        from maskrcnn_tutorial.graph.split import box_rows

        if raw.features is None:
            raise UserError("box_masks needs the feature map: run forward(mask_branch='kept')")
        try:
            boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        except (TypeError, ValueError):
            raise UserError(
                "box_masks: boxes must be K rows of 4 pixel coordinates [left, top, right, bottom]"
            ) from None
        if not np.isfinite(boxes).all():  # OpenCV's crop crashes the process on NaN
            raise UserError("box_masks: a box coordinate is NaN or infinite; pass finite pixels")
        if len(boxes) == 0:
            raise UserError("box_masks: no boxes given; pass [left, top, right, bottom] rows")
        return self.split.masks(raw.features, box_rows(boxes, raw.image_shape))

    def layer_profile(self) -> list[tuple[str, str, float]]:
        """(layer name, layer type, milliseconds) of the last forward pass, in graph order."""
        _, timings = self.net.getPerfProfile()
        ticks_per_ms = cv2.getTickFrequency() / 1000.0
        layer_names = self.net.getLayerNames()
        rows = []
        for name, ticks in zip(layer_names, np.asarray(timings).ravel(), strict=False):
            layer = self.net.getLayer(name)
            rows.append((name, layer.type, float(ticks) / ticks_per_ms))
        return rows
