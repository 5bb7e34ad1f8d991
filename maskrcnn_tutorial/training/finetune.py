"""Fine-tuning the shipped ``shapes`` model to your own classes (needs torch).

Three steps, each a function: :func:`replace_heads` keeps every layer of the shipped model but
gives the three class-dependent outputs (the classifier, the class-specific box deltas and the
mask outputs) one slot per class of the new list, copying the slots of classes the old model
knew; :func:`fine_tune` trains it on a :class:`~.dataset.Dataset` with a progress bar, logging
the five losses every step and keeping a checkpoint that an interrupted run resumes from;
:func:`export_model` writes the ``.pb``/``.pbtxt`` pair OpenCV reads and
:func:`opencv_parity` checks OpenCV against the PyTorch model on a picture.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from maskrcnn_tutorial.boxes import normalized
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.net import read_net
from maskrcnn_tutorial.inference import make_blob
from maskrcnn_tutorial.io.files import temp_beside
from maskrcnn_tutorial.training import layers
from maskrcnn_tutorial.training.dataset import Dataset
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN
from maskrcnn_tutorial.training.train import Batch, losses

#: The layers whose size depends on the number of classes: (graph name, rows per class,
#: rows before the first class). The classifier has a background row first.
CLASS_HEADS = (
    (names.CLASS_FC, 1, 1),
    (names.BOX_FC, 4, 0),
    (names.MASK_OUT, 1, 0),
)

#: The five losses, as the log and the plots name them.
LOSSES = {
    "rpn_cls": "RPN objectness",
    "rpn_box": "RPN box",
    "cls": "classifier",
    "box": "box",
    "mask": "mask",
}

CHECKPOINT = "checkpoint.pt"


def replace_heads(base: ShapesMaskRCNN, classes: tuple[str, ...], seed: int = 0) -> ShapesMaskRCNN:
    """A copy of ``base`` whose class-dependent heads have one slot per name in ``classes``.

    Every other layer (backbone, RPN, second stage, the mask head's hidden convolution) keeps
    ``base``'s weights. In the classifier, the box deltas and the mask outputs, the slots of
    classes ``base`` knows by name (and the classifier's background row) are copied; the slots
    of new classes start as a fresh model's do (small random weights drawn from ``seed``,
    zero bias).
    """
    if not classes or len(set(classes)) != len(classes):
        raise UserError(f"the class list {classes} must be non-empty and without repeats")
    with torch.random.fork_rng():  # the same fresh slots every time, whatever ran before
        torch.manual_seed(seed)
        model = ShapesMaskRCNN(replace(base.spec, labels=tuple(classes)))
    old = dict(base.named_layers())
    with torch.no_grad():
        for name, layer in model.named_layers():
            source = old[name]
            heads = {head: (per, lead) for head, per, lead in CLASS_HEADS}
            if name not in heads:
                layer.load_state_dict(source.state_dict())
                continue
            per, lead = heads[name]
            layer.weight[:lead] = source.weight[:lead]
            layer.bias[:lead] = source.bias[:lead]
            for k, label in enumerate(classes):
                if label in base.spec.labels:
                    j = base.spec.labels.index(label)
                    new = slice(lead + k * per, lead + (k + 1) * per)
                    got = slice(lead + j * per, lead + (j + 1) * per)
                    layer.weight[new] = source.weight[got]
                    layer.bias[new] = source.bias[got]
    return model


def new_classes(base: ShapesMaskRCNN, classes: tuple[str, ...]) -> list[str]:
    """The names in ``classes`` that ``base`` has never seen (their slots start fresh)."""
    return [c for c in classes if c not in base.spec.labels]


@dataclass
class Schedule:
    """How to train: steps, pictures per step, peak learning rate, seed, checkpoint period."""

    steps: int = 400
    batch: int = 4
    lr: float = 1e-3
    seed: int = 0
    warmup: int = 20
    checkpoint_every: int = 25
    mask_jitter: float = 0.05

    def rate(self, step: int) -> float:
        """Learning rate of ``step``: linear warm-up, then cosine decay to 1% of the peak."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        done = (step - self.warmup) / max(self.steps - self.warmup, 1)
        return self.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * done)))


class Pictures:
    """The dataset's pictures resized to the network's input, kept in memory after first use,
    and drawn into batches (random pictures, half of them mirrored left to right)."""

    def __init__(self, dataset: Dataset, input_hw: tuple[int, int]) -> None:
        self.dataset, self.input_hw = dataset, input_hw
        self._cache: dict[int, tuple] = {}

    def item(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """RGB float (3, H, W) at the input size, class ids, normalised boxes, masks."""
        if index not in self._cache:
            height, width = self.input_hw
            image = cv2.resize(self.dataset.image(index), (width, height))
            ids, boxes, masks = self.dataset.targets(index)
            s = self.dataset.samples[index]
            boxes = normalized(boxes, (s.height, s.width))
            rgb = image[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)
            self._cache[index] = (rgb, ids, boxes.astype(np.float32), masks)
        return self._cache[index]

    def batch(self, rng: np.random.Generator, size: int) -> Batch:
        """``size`` pictures drawn with ``rng``, each mirrored with probability one half."""
        images, boxes, classes, masks = [], [], [], []
        for index in rng.integers(len(self.dataset), size=size):
            rgb, ids, box, mask = self.item(int(index))
            if rng.random() < 0.5:
                rgb, mask = rgb[:, :, ::-1], mask[:, :, ::-1]
                box = np.stack([1 - box[:, 2], box[:, 1], 1 - box[:, 0], box[:, 3]], 1)
            images.append(np.ascontiguousarray(rgb))
            boxes.append(box.astype(np.float32))
            classes.append(ids)
            masks.append(np.ascontiguousarray(mask))
        return Batch(torch.from_numpy(np.stack(images)), boxes, classes, masks)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl+C during :func:`fine_tune`, after the checkpoint of the steps done was saved."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(
            f"interrupted after step {step}; {checkpoint} holds it: resume to continue"
        )
        self.step, self.checkpoint = step, checkpoint


def _save(state: dict, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: never half-written."""
    temp = temp_beside(path)
    try:
        torch.save(state, temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint written by :func:`fine_tune` (plain tensors and numbers only: loaded with
    ``weights_only=True``, so a file from elsewhere cannot run code)."""
    try:
        state = torch.load(path, weights_only=True)
    except Exception as exc:  # a truncated or foreign file: pickle, zip or torch errors
        raise UserError(
            f"{path} is not a readable training checkpoint ({exc}); delete it"
        ) from None
    if not isinstance(state, dict) or not {"step", "model", "optimizer", "log"} <= set(state):
        raise UserError(f"{path} is not a checkpoint written by fine-tuning; delete it")
    return state


def fine_tune(
    model: ShapesMaskRCNN,
    dataset: Dataset,
    workdir: str | Path,
    schedule: Schedule | None = None,
    resume: bool = False,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` (in place) on ``dataset``; returns the log, one entry per step.

    Every entry holds ``step``, ``seconds`` (of training, over all runs), ``lr``, the five
    losses (:data:`LOSSES`) and their ``total``. ``workdir/checkpoint.pt`` is written every
    ``schedule.checkpoint_every`` steps, at the end, and when the run is interrupted (Ctrl+C:
    the checkpoint is saved, then the interruption goes on). With ``resume`` the run continues
    from that checkpoint; each step's pictures and samples depend only on (seed, step), so a
    resumed run takes the same steps as one that was never interrupted.
    """
    schedule = schedule or Schedule()
    if tuple(model.spec.labels) != tuple(dataset.classes):
        raise UserError(
            f"the model's classes {model.spec.labels} are not the dataset's {dataset.classes}; "
            "call replace_heads(model, dataset.classes) first"
        )
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / CHECKPOINT
    torch.manual_seed(schedule.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=schedule.lr, weight_decay=1e-4)
    start, log, seconds = 0, [], 0.0
    if resume:
        if not path.is_file():
            raise UserError(f"no checkpoint to resume from in {workdir}; start without resume")
        state = load_checkpoint(path)
        if list(state.get("classes", [])) != list(dataset.classes):
            raise UserError(
                f"{path} was trained for classes {state.get('classes')}, not "
                f"{list(dataset.classes)}; use another working folder"
            )
        if state.get("schedule") != asdict(schedule):
            raise UserError(
                f"{path} was trained with another schedule ({state.get('schedule')}); resume "
                "with the same one, or use another working folder"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, log = int(state["step"]), list(state["log"])
        seconds = float(log[-1]["seconds"]) if log else 0.0
    spec = model.spec
    anchors = layers.prior_boxes(
        spec.feature_hw(), spec.input_hw, spec.feature_stride, spec.anchors_hw
    )
    pictures = Pictures(dataset, spec.input_hw)

    def save(step: int) -> None:
        _save(
            {
                "step": step,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "log": log,
                "classes": list(dataset.classes),
                "schedule": asdict(schedule),
            },
            path,
        )

    model.train()
    bar = tqdm(
        total=schedule.steps, initial=start, desc="fine-tune", unit="step", disable=not progress
    )
    step = start
    began = time.perf_counter() - seconds
    try:
        for step in range(start, schedule.steps):
            rng = np.random.default_rng([schedule.seed, step])
            batch = pictures.batch(rng, schedule.batch)
            parts = losses(model, batch, anchors, rng, schedule.mask_jitter)
            total = sum(parts.values())
            for group in opt.param_groups:
                group["lr"] = schedule.rate(step)
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            entry = {"step": step + 1, "seconds": time.perf_counter() - began}
            entry.update({k: float(v.item()) for k, v in parts.items()})
            entry.update(total=float(total.item()), lr=schedule.rate(step))
            log.append(entry)
            bar.update(1)
            bar.set_postfix(loss=f"{entry['total']:.3f}", refresh=False)
            if (step + 1) % schedule.checkpoint_every == 0:
                save(step + 1)
        step = schedule.steps
    except KeyboardInterrupt as exc:
        save(len(log))
        bar.close()
        raise TrainingInterrupted(len(log), path) from exc
    bar.close()
    save(step)
    model.eval()
    return log


def opencv_parity(model: ShapesMaskRCNN, pb: Path, pbtxt: Path, image: np.ndarray) -> dict:
    """Run the exported files in OpenCV and ``model`` in PyTorch on one BGR picture.

    Returns the largest absolute difference of the RPN outputs (``rpn``), of the final
    detection rows (``detections``: class, score, box) and of their masks (``masks``), and the
    number of detections both found (``count``). Rows are paired by nearest match, since equal
    scores may come out in either order.
    """
    height, width = model.spec.input_hw
    blob = make_blob(cv2.resize(image, (width, height)), model.spec.input_hw)
    net = read_net(str(pb), str(pbtxt))
    net.setInput(blob)
    stages = [names.RPN_BOX_FLAT, names.RPN_SCORES_FLAT, names.DETECTION_OUT_FINAL]
    outputs = [*stages, names.DETECTION_MASKS]
    got = dict(zip(outputs, net.forward(outputs), strict=True))
    want = model.infer(blob)
    rpn = max(float(np.abs(got[s].reshape(-1) - want[s].reshape(-1)).max()) for s in stages[:2])
    rows_got = got[names.DETECTION_OUT_FINAL].reshape(-1, 7)
    rows_want = want[names.DETECTION_OUT_FINAL].reshape(-1, 7)
    live = np.flatnonzero(rows_want[:, 2] > 0)
    diff = np.abs(rows_got[:, None, 1:] - rows_want[None, live, 1:]).max(-1)
    pairs = diff.argmin(0) if len(live) else np.zeros(0, np.int64)
    detections = float(diff[pairs, np.arange(len(live))].max()) if len(live) else 0.0
    masks = got[names.DETECTION_MASKS].reshape(len(rows_got), -1)[pairs]
    masks_want = want[names.DETECTION_MASKS].reshape(len(rows_want), -1)[live]
    return {
        "rpn": rpn,
        "detections": detections,
        "masks": float(np.abs(masks - masks_want).max()) if len(live) else 0.0,
        "count": int(len(live)),
    }
