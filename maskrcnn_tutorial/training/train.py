"""The training loop: RPN, second-stage box/class and mask losses on freshly drawn scenes."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from maskrcnn_tutorial.boxes import normalized
from maskrcnn_tutorial.synthetic.scenes import EVAL_SEED_START, make_scene
from maskrcnn_tutorial.training import layers, targets
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN, tf_to_xy
from maskrcnn_tutorial.training.spec import Spec

ROIS_PER_IMAGE = 32
MASKS_PER_IMAGE = 10  # at most this many foreground regions per image train the mask head


def jitter(boxes: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Normalised boxes with each side moved by a normal offset of ``sigma`` times the box's
    width or height (kept at least a fifth of its size, inside the image)."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    out = boxes + rng.normal(0, sigma, (len(boxes), 4)) * np.stack([w, h, w, h], 1)
    out[:, 2] = np.maximum(out[:, 2], out[:, 0] + 0.2 * w)
    out[:, 3] = np.maximum(out[:, 3], out[:, 1] + 0.2 * h)
    return np.clip(out, 0, 1).astype(np.float32)


@dataclass
class Batch:
    """Images (B, 3, H, W) RGB floats and per-image ground truth (normalised boxes)."""

    images: torch.Tensor
    boxes: list[np.ndarray]
    classes: list[np.ndarray]
    masks: list[np.ndarray]


def scene_seeds(seed: int, step: int, batch: int) -> list[int]:
    """Training scene seeds of one step: distinct per (seed, step), always below 1,000,000."""
    start = (seed * 7919 * 1000 + step * batch) % (EVAL_SEED_START - batch)
    return list(range(start, start + batch))


def make_batch(seeds: list[int], spec: Spec) -> Batch:
    """Draw the scenes and convert them to the mirror's input layout."""
    h, w = spec.input_hw
    images, boxes, classes, masks = [], [], [], []
    for s in seeds:
        scene = make_scene(s, size_hw=(h, w))
        images.append(scene.image[:, :, ::-1].transpose(2, 0, 1).astype(np.float32))
        boxes.append(normalized(scene.boxes, (h, w)))
        classes.append(scene.class_ids)
        masks.append(scene.masks)
    return Batch(torch.from_numpy(np.stack(images)), boxes, classes, masks)


def mask_targets(masks: np.ndarray, rois: np.ndarray, size: int) -> torch.Tensor:
    """Soft targets: each mask sampled at the centres of a size x size grid over its region."""
    m = torch.from_numpy(masks.astype(np.float32))[:, None]
    r = torch.from_numpy(rois)
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    xs = r[:, 0:1] + (r[:, 2:3] - r[:, 0:1]) * t
    ys = r[:, 1:2] + (r[:, 3:4] - r[:, 1:2]) * t
    n = len(rois)
    grid = torch.stack(
        [
            (2 * xs - 1)[:, None, :].expand(n, size, size),
            (2 * ys - 1)[:, :, None].expand(n, size, size),
        ],
        -1,
    )
    return F.grid_sample(m, grid, mode="bilinear", align_corners=False)[:, 0]


def losses(
    model: ShapesMaskRCNN,
    batch: Batch,
    anchors: np.ndarray,
    rng: np.random.Generator,
    mask_jitter: float = 0.0,
) -> dict[str, torch.Tensor]:
    """All five Mask R-CNN losses for one batch.

    The mask head trains on foreground proposals, or with ``mask_jitter`` > 0 on the
    ground-truth boxes jittered by that fraction of their size (close to the refined boxes it
    sees at inference).
    """
    spec = model.spec
    feats = model.features(batch.images)
    box, logits = model.rpn_heads(feats)
    b = len(batch.boxes)

    rpn = [targets.rpn_targets(anchors, g, spec.variances, rng) for g in batch.boxes]
    labels = torch.from_numpy(np.stack([t.labels for t in rpn]))
    deltas = torch.from_numpy(np.stack([t.deltas for t in rpn]))
    valid, pos = labels >= 0, labels == 1
    out = {
        "rpn_cls": F.cross_entropy(logits[valid], labels[valid]),
        "rpn_box": F.smooth_l1_loss(box[pos], deltas[pos], reduction="sum")
        / max(int(pos.sum()), 1),
    }

    with torch.no_grad():
        scores = torch.softmax(logits, -1)[..., 1].numpy()
        box_xy = tf_to_xy(box).numpy()
    rois, mask_rois, mask_gt, mask_cls, mask_w = [], [], [], [], []
    roi_labels, roi_deltas = [], []
    for i in range(b):
        props = targets.proposals_from_rpn(
            box_xy[i], scores[i], anchors, spec.variances, pre_nms=300, keep=spec.proposals
        )
        t = targets.roi_targets(
            props,
            batch.boxes[i],
            batch.classes[i],
            spec.variances,
            rng,
            count=ROIS_PER_IMAGE,
            fg_fraction=0.33,
        )
        rois.append(t.rois)
        roi_labels.append(t.labels)
        roi_deltas.append(t.deltas)
        if mask_jitter > 0:
            fg = np.arange(min(len(batch.boxes[i]), MASKS_PER_IMAGE))
            m_rois, m_index = jitter(batch.boxes[i][fg], rng, mask_jitter), fg
            m_labels = batch.classes[i][fg] + 1
        else:
            fg = np.flatnonzero(t.labels > 0)[:MASKS_PER_IMAGE]
            m_rois, m_index, m_labels = t.rois[fg], t.gt_index[fg], t.labels[fg]
        pad = MASKS_PER_IMAGE - len(fg)
        mr = np.concatenate([m_rois, np.tile([[0, 0, 1, 1]], (pad, 1))]).astype(np.float32)
        mask_rois.append(mr)
        gt = batch.masks[i][m_index] if len(fg) else batch.masks[i][:0]
        target = (
            mask_targets(gt, m_rois, spec.mask_size)
            if len(fg)
            else torch.zeros(0, spec.mask_size, spec.mask_size)
        )
        mask_gt.append(torch.cat([target, torch.zeros(pad, spec.mask_size, spec.mask_size)]))
        mask_cls.append(np.concatenate([m_labels - 1, np.zeros(pad, np.int64)]))
        mask_w.append(np.concatenate([np.ones(len(fg)), np.zeros(pad)]))

    pred_deltas, cls_logits = model.box_head(feats, torch.from_numpy(np.stack(rois)))
    lab = torch.from_numpy(np.concatenate(roi_labels))
    tgt = torch.from_numpy(np.concatenate(roi_deltas))
    out["cls"] = F.cross_entropy(cls_logits, lab)
    fg = torch.nonzero(lab > 0)[:, 0]
    picked = pred_deltas.reshape(-1, spec.num_classes, 4)[fg, lab[fg] - 1]
    out["box"] = F.smooth_l1_loss(picked, tgt[fg], reduction="sum") / max(len(fg), 1)

    mask_logits = model.mask_head(feats, torch.from_numpy(np.stack(mask_rois)))
    cls_idx = torch.from_numpy(np.concatenate(mask_cls))
    chosen = mask_logits[torch.arange(len(cls_idx)), cls_idx]
    weight = torch.from_numpy(np.concatenate(mask_w).astype(np.float32))
    per_roi = F.binary_cross_entropy_with_logits(chosen, torch.cat(mask_gt), reduction="none").mean(
        (1, 2)
    )
    out["mask"] = (per_roi * weight).sum() / weight.sum().clamp(min=1)
    return out


def train(
    steps: int,
    seed: int,
    workdir: Path,
    batch: int = 8,
    lr: float = 2e-3,
    log_every: int = 25,
    checkpoint_every: int = 500,
    stop_after: int | None = None,
    spec: Spec | None = None,
    init: dict[str, np.ndarray] | None = None,
    mask_weight: float = 1.0,
    mask_jitter: float = 0.0,
) -> tuple[ShapesMaskRCNN, float]:
    """Train from scratch, or fine-tune from ``init`` (exported weights by graph Const name;
    layers whose shapes differ start fresh); returns the model and the wall time in seconds.

    The learning-rate schedule (warm-up, then cosine decay) spans ``steps``; ``stop_after``
    ends training earlier on that same schedule. Checkpoints (``workdir/checkpoint.pt``) are
    written every ``checkpoint_every`` steps. ``mask_weight`` scales the mask loss and
    ``mask_jitter`` chooses the mask head's training boxes (see :func:`losses`).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = spec or Spec()
    model = ShapesMaskRCNN(spec)
    if init is not None:
        fresh = model.load_matching(init)
        print(f"fine-tuning; initialised afresh: {', '.join(fresh) or 'nothing'}", flush=True)
    anchors = layers.prior_boxes(
        spec.feature_hw(), spec.input_hw, spec.feature_stride, spec.anchors_hw
    )
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    warmup = min(200, steps // 10)

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(steps - warmup, 1))) + 0.01

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.time()
    last = min(steps, stop_after or steps)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(make_batch, scene_seeds(seed, 0, batch), spec)
        for step in range(last):
            data = pending.result()
            pending = pool.submit(make_batch, scene_seeds(seed, step + 1, batch), spec)
            parts = losses(model, data, anchors, rng, mask_jitter)
            total = sum(parts.values()) + (mask_weight - 1) * parts["mask"]
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            if step % log_every == 0 or step == last - 1:
                text = " ".join(f"{k} {v.item():.3f}" for k, v in parts.items())
                print(
                    f"step {step} {time.time() - start:.0f}s loss {total.item():.3f} {text}",
                    flush=True,
                )
            if (step + 1) % checkpoint_every == 0 or step == last - 1:
                torch.save(
                    {"step": step + 1, "seconds": time.time() - start, "model": model.state_dict()},
                    workdir / "checkpoint.pt",
                )
    return model, time.time() - start
