"""COCO-style evaluation (pycocotools) of a model on held-out synthetic scenes.

Everything runs the way a user runs the model: OpenCV DNN through :mod:`.inference` and the
package's own :func:`.postprocess.postprocess`; the training code is not involved. Scenes
``seed, seed + 1, ...`` must lie in the evaluation range (seeds >= 1,000,000), which training
never draws from.
"""

from __future__ import annotations

import contextlib
import io

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from tqdm import tqdm

from maskrcnn_tutorial.boxes import exclusive, xywh
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.models import load_model
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic.scenes import EVAL_SEED_START, LABELS, make_scene
from maskrcnn_tutorial.training.dataset import Dataset

EVAL_CONF_THRESHOLD = 0.05
"""Keep low-scoring detections too, as COCO evaluation does (AP integrates over scores). The
mask branch runs only for the rows above it (``mask_branch="kept"``: the same masks as the whole
graph's, in half the time on ``shapes``)."""

EVAL_MASK_THRESHOLD = 0.5
"""Mask probability threshold for the evaluated masks (the usual Mask R-CNN choice)."""


def _summarise(
    gt: COCO, results: list[dict], iou_type: str, category: int | None = None
) -> dict[str, float]:
    """AP, AP50 and AP75 for one iou type, over every category or over ``category`` only
    (0.0 when there is nothing to evaluate)."""
    if not results:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType=iou_type)
        if category is not None:
            ev.params.catIds = [category]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"AP": float(ev.stats[0]), "AP50": float(ev.stats[1]), "AP75": float(ev.stats[2])}


def evaluate(
    model_name: str = "shapes",
    images: int = 200,
    seed: int = EVAL_SEED_START,
    progress: bool = False,
    mask_threshold: float = EVAL_MASK_THRESHOLD,
) -> dict:
    """Box and mask AP of ``model_name`` on scenes ``seed .. seed + images - 1``.

    Returns ``{"model", "images", "box": {"AP", "AP50", "AP75"}, "mask": {...}}``. Scene
    class ids are mapped to COCO category ids as ``class_id + 1``.
    """
    if seed < EVAL_SEED_START:
        raise UserError(
            f"evaluation seeds start at {EVAL_SEED_START:,}; got {seed} "
            "(lower seeds are training scenes)"
        )
    if images < 1:
        raise UserError("evaluate at least one image")
    model = load_model(model_name)
    if tuple(model.labels) != LABELS:
        raise UserError(f"model {model_name!r} does not predict the scene classes {LABELS}")

    gt_images, gt_anns, results = [], [], []
    for image_id, scene_seed in enumerate(
        tqdm(range(seed, seed + images), disable=not progress, desc="evaluate", unit="scene"),
        start=1,
    ):
        scene = make_scene(scene_seed)
        h, w = scene.image.shape[:2]
        gt_images.append({"id": image_id, "width": w, "height": h})
        for cid, box, mask in zip(scene.class_ids, scene.boxes, scene.masks, strict=True):
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": int(cid) + 1,
                    "bbox": xywh(box),
                    "area": float(mask.sum()),
                    "iscrowd": 0,
                    "segmentation": rle.encode(mask),
                }
            )
        dets = postprocess(
            model.forward(scene.image, mask_branch="kept", conf_threshold=EVAL_CONF_THRESHOLD),
            image_shape=(h, w),
            labels=model.labels,
            conf_threshold=EVAL_CONF_THRESHOLD,
            mask_threshold=mask_threshold,
        )
        masks, pred_boxes = dets.masks, exclusive(dets.boxes)
        for i in range(len(dets)):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(dets.class_ids[i]) + 1,
                    "bbox": xywh(pred_boxes[i]),
                    "score": float(dets.scores[i]),
                    "segmentation": rle.encode(masks[i]),
                }
            )

    gt = COCO()
    gt.dataset = {
        "images": gt_images,
        "annotations": gt_anns,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(LABELS)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return {
        "model": model_name,
        "images": images,
        "box": _summarise(gt, results, "bbox"),
        "mask": _summarise(gt, results, "segm"),
    }


def evaluate_dataset(
    model: Model,
    dataset: Dataset,
    progress: bool = False,
    mask_threshold: float = EVAL_MASK_THRESHOLD,
) -> dict:
    """Box and mask AP of an OpenCV ``model`` on a COCO-format ``dataset`` (your own held-out
    pictures), over all classes and per class.

    The model's classes are matched to the dataset's by name; detections of a class the
    dataset does not have are left out, and a dataset class the model lacks gets AP 0 (it
    cannot be found). Returns ``{"model", "images", "box": {...}, "mask": {...},
    "per_class": {name: {"box": {...}, "mask": {...}}}}``, each ``{...}`` holding AP, AP50
    and AP75.
    """
    category = {name: cid for name, cid in zip(dataset.classes, dataset.category_ids, strict=True)}
    gt_images, gt_anns, results = [], [], []
    for index in tqdm(range(len(dataset)), disable=not progress, desc="evaluate", unit="picture"):
        sample = dataset.samples[index]
        image_id = sample.image_id
        gt_images.append({"id": image_id, "width": sample.width, "height": sample.height})
        for inst in sample.instances:
            x1, y1, x2, y2 = inst.box
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": dataset.category_ids[inst.class_id],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": float(inst.area),
                    "iscrowd": 0,
                    "segmentation": inst.rle,
                }
            )
        dets = postprocess(
            model.forward(
                dataset.image(index), mask_branch="kept", conf_threshold=EVAL_CONF_THRESHOLD
            ),
            image_shape=(sample.height, sample.width),
            labels=model.labels,
            conf_threshold=EVAL_CONF_THRESHOLD,
            mask_threshold=mask_threshold,
        )
        pred_boxes = exclusive(dets.boxes)
        for i in range(len(dets)):
            if dets.labels[i] not in category:
                continue
            results.append(
                {
                    "image_id": image_id,
                    "category_id": category[dets.labels[i]],
                    "bbox": xywh(pred_boxes[i]),
                    "score": float(dets.scores[i]),
                    "segmentation": rle.encode(dets.masks[i]),
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": gt_images,
        "annotations": gt_anns,
        "categories": [{"id": cid, "name": name} for name, cid in category.items()],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return {
        "model": model.name,
        "images": len(dataset),
        "box": _summarise(gt, results, "bbox"),
        "mask": _summarise(gt, results, "segm"),
        "per_class": {
            name: {
                "box": _summarise(gt, results, "bbox", cid),
                "mask": _summarise(gt, results, "segm", cid),
            }
            for name, cid in category.items()
        },
    }


def format_report(report: dict) -> str:
    """The figures as a small table."""
    lines = [
        f"model {report['model']}, {report['images']} held-out scenes",
        f"{'':6}{'AP':>8}{'AP50':>8}{'AP75':>8}",
    ]
    for kind in ("box", "mask"):
        r = report[kind]
        lines.append(f"{kind:6}{r['AP']:8.3f}{r['AP50']:8.3f}{r['AP75']:8.3f}")
    return "\n".join(lines)
