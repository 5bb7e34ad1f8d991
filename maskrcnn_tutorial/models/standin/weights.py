"""Seeded values for the stand-in's constants, chosen so its forward pass looks like the real one.

Plain random weights give a network whose second stage is never confident: no detection
passes the graph's own score threshold (0.3), so nothing downstream would run. The values are
therefore built in two steps:

1. Every kernel He-initialised, batch norms close to identity, small box deltas: activations
   keep a sensible scale through all 69 convolution layers, and boxes move a little from
   their anchors, as trained ones do.
2. A calibration pass on a few seeded images reads the 1024-d pooled features of the 100
   proposals; the second-stage classifier's weight columns for a handful of classes are
   pointed along the features' top principal directions (both signs), every other class is
   switched off with a low bias. Each proposal then goes, confidently, to the class its
   features lean to most: dozens of detections above 0.5 over several classes and anchor
   sizes on any image. The mask head's last layer is scaled so masks are smooth blobs that
   cross the 0.3 and 0.5 thresholds, not flat grey.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.graphdef import const, to_binary
from maskrcnn_tutorial.graph.textgraph import external_inputs, read_text_graph
from maskrcnn_tutorial.io.files import atomic_write_bytes, check_writable, staged
from maskrcnn_tutorial.models.standin.manifest import Constant, derive, load, parameter_count

WEIGHTS_NAME = "frozen_inference_graph.pb"
GRAPH_NAME = "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt"

#: Classes (0-based COCO slots) the calibrated classifier spreads the proposals over.
CLASSES = (0, 2, 15, 16, 17, 46, 52, 62, 43, 56)
"""person, car, bird, cat, dog, cup, apple, chair, bottle, carrot."""
FEATURES = names.ROI_FLAT
CLASSIFIER = names.CLASS_FC
RPN_CLASSIFIER = names.RPN_CLASS
MASK_LOGITS = names.MASK_OUT
MASK_FEATURES = names.MASK_FEATURES
MASK_LOGITS_LAYER = names.MASK_LOGITS
CALIBRATION_HW = ((480, 640), (640, 480), (600, 800), (512, 512))
"""(height, width) of the calibration images."""


def _initial(constant: Constant, rng: np.random.Generator) -> np.ndarray:
    shape = constant.shape
    if constant.role == "fixed":
        return np.array(constant.value, np.int32 if constant.dtype == "int32" else np.float32)
    if constant.role in ("kernel", "depthwise"):
        fan_in = shape[0] * shape[1] * shape[2]
        gain = 0.5 if "BoxEncodingPredictor" in constant.name else 2.0
        return rng.normal(0.0, np.sqrt(gain / fan_in), shape).astype(np.float32)
    if constant.role == "dense":
        scale = 0.02 if "BoxEncodingPredictor" in constant.name else 0.0
        return rng.normal(0.0, scale, shape).astype(np.float32)
    field_name = constant.role.split("/")[-1]
    if field_name == "gamma":
        return rng.uniform(0.9, 1.1, shape).astype(np.float32)
    if field_name == "moving_variance":
        return rng.uniform(0.8, 1.2, shape).astype(np.float32)
    if field_name in ("beta", "moving_mean"):
        return rng.normal(0.0, 0.05, shape).astype(np.float32)
    return np.zeros(shape, np.float32)  # biases


def _write(values: dict[str, np.ndarray], path: Path) -> None:
    atomic_write_bytes(path, to_binary([const(name, array) for name, array in values.items()]))


def calibration_images(seed: int) -> list[np.ndarray]:
    """Seeded BGR images of several sizes: smooth colour fields with a few filled shapes, and
    one of plain noise."""
    rng = np.random.default_rng(seed)
    images = []
    for height, width in CALIBRATION_HW:
        coarse = rng.uniform(0, 255, (6, 8, 3)).astype(np.float32)
        image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        for _ in range(6):
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            axes = (int(rng.integers(20, width // 4)), int(rng.integers(20, height // 4)))
            color = tuple(float(c) for c in rng.uniform(0, 255, 3))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, color, -1)
        images.append(np.clip(image, 0, 255).astype(np.uint8))
    images.append(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))  # texture everywhere
    return images


def _tap(weights: Path, graph: Path, images: list[np.ndarray], layer: str) -> list[np.ndarray]:
    """Layer ``layer``'s output for each image, from the draft weights."""
    from maskrcnn_tutorial.inference import make_blob, read_net

    net = read_net(str(weights), str(graph))
    outputs = []
    for image in images:
        net.setInput(make_blob(image))
        outputs.append(net.forward(layer).copy())
    return outputs


def balance_objectness(values: dict[str, np.ndarray], logits: list[np.ndarray]) -> None:
    """Give every anchor shape the same spread of RPN objectness (in place).

    ``logits`` are the first-stage class predictor's outputs [1, 2A, H, W] (NCHW; channel
    ``2a + 1`` is anchor ``a``'s object score, ``2a`` its background). Random weights favour
    some anchor shapes everywhere, so all proposals would have one size; standardising each
    anchor's object-minus-background logit makes the proposals' sizes follow the image.
    """
    weights = values[f"{RPN_CLASSIFIER}/weights"]
    biases = values[f"{RPN_CLASSIFIER}/biases"]
    stacked = np.concatenate([x.reshape(x.shape[1], -1) for x in logits], axis=1)
    for anchor in range(stacked.shape[0] // 2):
        margin = stacked[2 * anchor + 1] - stacked[2 * anchor]
        scale = 2.0 / (margin.std() + 1e-6)
        weights[..., 2 * anchor + 1] = weights[..., 2 * anchor] + scale * (
            weights[..., 2 * anchor + 1] - weights[..., 2 * anchor]
        )
        biases[2 * anchor + 1] = biases[2 * anchor] - scale * float(margin.mean())


def calibrate(
    values: dict[str, np.ndarray], features: list[np.ndarray], scale: float = 12.0
) -> None:
    """Point the classifier's columns of :data:`CLASSES` along the proposal features'
    principal directions of variation within an image (in place); every other class,
    background included, gets a bias of -20.

    Directions along which whole images differ (brightness, texture) are projected out first,
    so that on a new image the proposals still spread over several classes instead of all
    leaning one way.
    """
    features = [f.reshape(f.shape[0], -1).astype(np.float64) for f in features]
    mean = np.concatenate(features).mean(axis=0)
    image_means = np.array([f.mean(axis=0) for f in features])
    _, _, between = np.linalg.svd(image_means - image_means.mean(axis=0), full_matrices=False)
    within = np.concatenate([f - f.mean(axis=0) for f in features])
    within -= (within @ between.T) @ between
    _, singular, vt = np.linalg.svd(within, full_matrices=False)
    spread = singular / np.sqrt(len(within))
    weights = np.zeros_like(values[f"{CLASSIFIER}/weights"])
    biases = np.full_like(values[f"{CLASSIFIER}/biases"], -20.0)
    for k, class_id in enumerate(CLASSES):
        direction = vt[k // 2] * (1 if k % 2 == 0 else -1) / spread[k // 2]
        weights[:, class_id + 1] = scale * direction
        biases[class_id + 1] = -scale * float(mean @ direction)
    values[f"{CLASSIFIER}/weights"] = weights.astype(np.float32)
    values[f"{CLASSIFIER}/biases"] = biases.astype(np.float32)


def flatten_mask_offsets(
    values: dict[str, np.ndarray], features: list[np.ndarray], k: int = 16
) -> None:
    """Make each class's mask logits blind to the directions along which whole detections'
    mean features differ (in place), so that a mask's shape, not a per-detection offset,
    decides which pixels pass the threshold.

    ``features`` are the mask head's first convolution outputs [N, 256, 15, 15]. The sum of
    each class's 3 x 3 kernel over positions is projected off the top ``k`` principal
    directions of the detections' spatially averaged features; the spatial pattern of the
    kernel is kept.
    """
    means = np.concatenate([f.mean(axis=(2, 3)) for f in features]).astype(np.float64)
    _, _, vt = np.linalg.svd(means - means.mean(axis=0), full_matrices=False)
    basis = vt[:k]
    kernels = values[f"{MASK_LOGITS}/weights"]  # [3, 3, 256, C]
    summed = kernels.sum(axis=(0, 1))  # [256, C]
    removed = basis.T @ (basis @ summed)
    kernels -= (removed / 9.0).astype(np.float32)[None, None]


def mask_logits(features: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """The mask head's last convolution, before its bias, computed in numpy: ``features`` are
    the outputs of the layer before it [N, 256, 15, 15] (NCHW), ``kernels`` its weights
    [3, 3, 256, C] (TensorFlow's height, width, in, out); SAME padding, stride 1. Returns
    [N, C, 15, 15] (float64).

    Only the last layer's weights change between the mask-offset step and the sharpness step,
    so its outputs follow from the features already read, without a third pass of the network.
    """
    n, _, height, width = features.shape
    padded = np.pad(features.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, height, width, kernels.shape[3]))
    for dy in range(3):
        for dx in range(3):
            window = padded[:, :, dy : dy + height, dx : dx + width]  # [N, 256, H, W]
            out += np.tensordot(window, kernels[dy, dx].astype(np.float64), axes=([1], [0]))
    return out.transpose(0, 3, 1, 2)


def sharpen_masks(values: dict[str, np.ndarray], logits: list[np.ndarray]) -> None:
    """Rescale each class's mask logits to spread about 0 with a within-mask spread of 3 (in
    place), so sigmoid masks are blobs crossing 0.5 rather than flat grey tiles.

    ``logits`` are the mask head's last convolution outputs [N, C, 15, 15] before the bias.
    """
    stacked = np.concatenate(logits)
    within = stacked.std(axis=(2, 3)).mean(axis=0) + 1e-6
    scale = 3.0 / within
    values[f"{MASK_LOGITS}/weights"] *= scale.astype(np.float32)
    values[f"{MASK_LOGITS}/biases"] = (-scale * stacked.mean(axis=(0, 2, 3))).astype(np.float32)


def constants_for(graph: str | Path) -> list[Constant]:
    """The shipped manifest when ``graph`` reads exactly its constants, else derived afresh
    from ``graph`` (another revision of the text graph)."""
    shipped = load()
    names = external_inputs(read_text_graph(graph))
    if names == [c.name for c in shipped]:
        return shipped
    return derive(graph)


#: The steps of :func:`write_standin`, as its progress bar names them.
STEPS = ("draft", "objectness", "classifier", "mask offsets", "mask sharpness", "write")


def write_standin(
    out: str | Path, graph: str | Path, seed: int = 0, progress: bool = False
) -> tuple[Path, Path, int]:
    """Write ``frozen_inference_graph.pb`` and a copy of the text graph ``graph`` into ``out``.

    Returns the two paths and the parameter count. The same ``seed`` gives the same bytes on
    one machine, on OpenCV 4.x and 5.x, whatever the number of OpenCV or BLAS threads
    (numpy's BLAS runs on one thread here: its number of threads changes the last bits).
    The graph is read, and both outputs checked writable, before ``out`` is created; each file
    is written to a temporary name and renamed into place; the draft weights live in a
    temporary folder removed even when interrupted. ``progress`` shows a bar of the
    :data:`STEPS` on stderr (three calibration passes of the network: minutes on a
    laptop).
    """
    out = Path(out)
    constants = constants_for(graph)  # a graph that is not the real one fails here, first
    weights, text = out / WEIGHTS_NAME, out / GRAPH_NAME
    if out.is_dir():
        for path in (weights, text):
            check_writable(path)  # a folder named like an output: said now, not after the work
    created = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    try:
        count = _build(constants, graph, weights, text, seed, progress)
    except BaseException:
        for path in created:  # the folders made here, when still empty
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise
    return weights, text, count


def _build(
    constants: list[Constant], graph: str | Path, weights: Path, text: Path, seed: int,
    progress: bool,
) -> int:  # fmt: skip
    rng = np.random.default_rng(seed)
    values = {c.name: _initial(c, rng) for c in constants}
    bar = tqdm(
        total=len(STEPS),
        desc="stand-in (minutes)",
        unit="step",
        disable=not progress,
        file=sys.stderr,
    )
    # numpy's BLAS on one thread: its number of threads changes the calibration's last bits
    with bar, tempfile.TemporaryDirectory() as tmp, threadpool_limits(1, user_api="blas"):
        draft = Path(tmp) / WEIGHTS_NAME
        images = calibration_images(seed)
        steps = iter(STEPS)

        def step() -> None:
            bar.set_postfix_str(next(steps))
            bar.update(1)

        graph_copy = Path(tmp) / GRAPH_NAME
        graph_copy.write_bytes(Path(graph).read_bytes())
        _write(values, draft)
        step()
        balance_objectness(values, _tap(draft, graph_copy, images, f"{RPN_CLASSIFIER}/Conv2D"))
        _write(values, draft)
        step()
        calibrate(values, _tap(draft, graph_copy, images, FEATURES))
        _write(values, draft)
        step()
        features = _tap(draft, graph_copy, images, MASK_FEATURES)
        flatten_mask_offsets(values, features)
        step()
        kernels = values[f"{MASK_LOGITS}/weights"]
        sharpen_masks(values, [mask_logits(f, kernels) for f in features])
        step()
        with staged():  # the two files land together
            if Path(graph).resolve() != text.resolve():
                atomic_write_bytes(text, graph_copy.read_bytes())
            _write(values, weights)
        step()
    return parameter_count(constants)
