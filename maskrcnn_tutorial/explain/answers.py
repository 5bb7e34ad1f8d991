"""The teacher's answer key: every "predict, then run" prompt of ``notebooks/WORKSHOP.md`` and
the in-session exercises, answered from a run of the model, not copied from a past one.

:func:`answer_key` computes each answer with the same package functions the notebooks call, on
the same pictures (the lead scene, the explained failure, the fruit photo, 08's 24 scenes), so
``tests/test_workshop.py`` can check that the guide's key says what the model does today: a
retrained model cannot silently make the key wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskrcnn_tutorial import boxes
from maskrcnn_tutorial.explain import anatomy, decode, metrics, semantic
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.postprocess import Detections, postprocess
from maskrcnn_tutorial.synthetic import samples
from maskrcnn_tutorial.synthetic.scenes import make_scene

#: 08's 24 held-out scenes (notebook 08, "Many held-out scenes").
EVALUATION_SEEDS = range(1_000_100, 1_000_124)
#: The scenes 08's exercise 4 chooses a mask threshold on (not those it reports).
CHOOSING_SEEDS = range(1_300_000, 1_300_024)


@dataclass(frozen=True)
class Answer:
    """One prompt, where it is asked, and its answer with the number that shows it."""

    where: str
    prompt: str
    answer: str


def _lead(model: Model):
    name, image = samples.sample_image(model.name, 0)
    raw = model.forward(
        image, taps=[anatomy.tap(r) for r in ("anchors", "objectness", "objectness_logits")]
    )
    return image, raw, postprocess(raw, labels=model.labels)


def _failure_duplicate_iou(model: Model) -> tuple[float, float]:
    """The explained failure's duplicate: its best box IoU with a higher-scoring detection of
    its class, and the stage-2 NMS threshold it stays under."""
    scene = make_scene(samples.FAILURE_SEED)
    rows = model.forward(scene.image).detection_out_final[0, 0]
    rows = rows[rows[:, 2] > 0.5]
    truth = [model.labels[c] for c in scene.class_ids]
    names = [model.labels[int(c)] for c in rows[:, 1]]
    iou = boxes.box_iou(rows[:, 3:7], rows[:, 3:7])
    for k, name in enumerate(names):
        same = [j for j in range(k) if names[j] == name]
        if name in truth and len(same) >= truth.count(name):
            nms = decode.detection_params(model)["stage 2"].nms_threshold
            return float(iou[k, same].max()), float(nms)
    raise ValueError(f"scene {samples.FAILURE_SEED} has no duplicate above 0.5 any more")


def _ap75(model: Model, seeds: range, thresholds: tuple[float, ...]) -> dict[float, float]:
    """Mask AP75 on the scenes ``seeds`` at each mask threshold."""
    scenes = [make_scene(seed) for seed in seeds]
    truths = [Detections.from_masks(s.class_ids, s.masks, model.labels) for s in scenes]
    raws = [model.forward(s.image) for s in scenes]
    return {
        t: metrics.match_outputs(
            raws, truths, model.labels, mask_threshold=t, iou_threshold=0.75
        ).average_precision()
        for t in thresholds
    }


def answer_key(model: Model) -> list[Answer]:
    """Every prompt's answer on ``model`` (the guide's key is written for ``shapes``)."""
    image, raw, dets = _lead(model)
    scene = make_scene(samples.SCENE_SEEDS[0])
    truth_labels = [model.labels[c] for c in scene.class_ids]
    stars = dets.labels.count("star")
    merged = semantic.merge_by_class(dets, model.labels)
    star_blobs = semantic.count_components(merged.full_mask(merged.labels.index("star")))
    duplicate_iou, nms = _failure_duplicate_iou(model)
    anchors, _ = decode.anchors_from_priorbox(raw.taps[anatomy.tap("anchors")])
    grid_h, grid_w = raw.taps[anatomy.tap("objectness_logits")].shape[2:]
    objectness = decode.objectness(raw.taps[anatomy.tap("objectness")])
    proposals, _ = anatomy.proposals(raw)
    lowest = int(np.argmin(dets.scores))
    fat = postprocess(raw, labels=model.labels, mask_threshold=0.3).mask_areas.sum()
    thin = postprocess(raw, labels=model.labels, mask_threshold=0.5).mask_areas.sum()
    loose = postprocess(raw, labels=model.labels, conf_threshold=0.0)
    extra = [f"{n} {s:.2f}" for n, s in zip(loose.labels, loose.scores, strict=True) if s <= 0.5]
    others = [
        len(postprocess(model.forward(samples.sample_image(model.name, k)[1]), labels=model.labels))
        for k in (1, 2)
    ]
    ap75 = _ap75(model, EVALUATION_SEEDS, (0.3, 0.5))
    choice = _ap75(model, CHOOSING_SEEDS, (0.3, 0.4, 0.5, 0.6))
    best = max(choice, key=choice.get)
    photo = postprocess(model.forward(samples.PHOTOS["fruits"]()), labels=model.labels)
    on_photo = ", ".join(f"{n} {s:.2f}" for n, s in zip(photo.labels, photo.scores, strict=True))
    return [
        Answer(
            "app",
            "How many objects? Will the two touching stars be one detection or two?",
            f"{len(truth_labels)} objects; {stars} star detections for "
            f"{truth_labels.count('star')} stars, {len(dets)} detections in all",
        ),
        Answer(
            "00",
            "How many numbers per detection row?",
            f"{raw.detection_out_final.shape[-1]} (detection_out_final is "
            f"{list(raw.detection_out_final.shape)})",
        ),
        Answer(
            "00",
            "Will NMS remove the second box on one triangle?",
            f"no: its box IoU with the first is {duplicate_iou:.2f}, NMS removes only above "
            f"{nms:.1f}",
        ),
        Answer(
            "01",
            'How many blobs does the semantic "star" mask have when two stars touch?',
            f"{star_blobs} blob for {stars} star detections",
        ),
        Answer(
            "02",
            "Are there more proposals or more detections? By how much?",
            f"proposals: {len(proposals)} against {len(dets)} detections above 0.5",
        ),
        Answer(
            "03",
            "How many anchors does the RPN score on a 256 x 256 scene?",
            f"{len(anchors)}: {grid_h} x {grid_w} cells x {len(anchors) // (grid_h * grid_w)} "
            "anchors",
        ),
        Answer(
            "03",
            "How many of them look like an object (objectness above 0.5)?",
            f"{int((objectness > 0.5).sum())} of {objectness.size}",
        ),
        Answer(
            "03",
            "How many proposals does NMS leave for stage 2?",
            f"{len(proposals)}, the graph's keep_top_k",
        ),
        Answer(
            "05",
            "A detection has a 15 x 15 mask for every class: how many masks, and which is drawn?",
            f"{raw.detection_masks.shape[1]} per detection; the detected class's",
        ),
        Answer(
            "06",
            "Which detection disappears first when the confidence rises?",
            f"the {dets.labels[lowest]} at {dets.scores[lowest]:.2f}, the lowest score",
        ),
        Answer(
            "06",
            "Does a mask grow or shrink when its threshold falls?",
            f"grows: {fat} mask pixels at 0.3 against {thin} at 0.5",
        ),
        Answer(
            "06",
            "Exercise 1: what do you gain by lowering the confidence below 0.5?",
            f"{len(extra)} more rows: " + ", ".join(extra) if extra else "nothing",
        ),
        Answer(
            "00",
            "Exercise 1: how many detections on the second and third samples?",
            f"{others[0]} and {others[1]}",
        ),
        Answer(
            "08",
            "Is mask AP75 higher at mask threshold 0.3 or 0.5?",
            f"0.5: {ap75[0.5]:.3f} against {ap75[0.3]:.3f} at 0.3",
        ),
        Answer(
            "08",
            "Exercise 4: which mask threshold would you ship, and why?",
            f"for measured outlines {best}: the best AP75 on scenes 1,300,000+ "
            f"({choice[best]:.3f}; 0.3 gives {choice[0.3]:.3f}); for a picture people look at, "
            "0.3 may still be the choice",
        ),
        Answer(
            "app",
            "Will a model trained on five shapes find nothing on a photo of fruit?",
            f"it finds shapes: {on_photo}" if len(photo) else "nothing",
        ),
    ]
