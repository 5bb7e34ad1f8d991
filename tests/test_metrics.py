"""The teaching metrics on cases small enough to check by hand, and AP against pycocotools."""

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskrcnn_tutorial.explain import metrics
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.postprocess import Detections

from .conftest import make_raw


def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30], [3, 3, 3, 8]])
    # overlap 5x10 = 50, union 100 + 100 - 50 = 150; identical; disjoint; no area
    np.testing.assert_allclose(metrics.box_iou(a, b), [[50 / 150, 1.0, 0.0, 0.0]])
    assert metrics.box_iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_mask_iou_by_hand():
    a = np.zeros((2, 4, 4), bool)
    a[0, :2, :2] = True  # 4 pixels
    b = np.zeros((2, 4, 4), bool)
    b[0, :2, :] = True  # 8 pixels, contains a[0]
    np.testing.assert_allclose(metrics.mask_iou(a, b), [[4 / 8, 0.0], [0.0, 0.0]])


def test_greedy_match_takes_scores_in_order_and_each_object_once():
    ious = np.array([[0.6, 0.0], [0.9, 0.55], [0.7, 0.0], [0.0, 0.95]])
    scores = [0.5, 0.9, 0.8, 0.7]
    pred_classes = [0, 0, 0, 1]
    gt_classes = [0, 0]
    matched = metrics.greedy_match(ious, scores, pred_classes, gt_classes, 0.5)
    # 0.9 takes object 0 (its best); 0.8 finds object 0 taken and object 1 below 0.5;
    # 0.7 is of a class no object has; 0.5 overlaps only the taken object 0
    np.testing.assert_array_equal(matched, [-1, 0, -1, -1])
    assert metrics.greedy_match(np.zeros((0, 2)), [], [], [0, 1]).shape == (0,)


def test_precision_recall_and_the_curve():
    assert metrics.precision_recall([True, False, True, True], 6) == (0.75, 0.5)
    assert metrics.precision_recall([], 3) == (0.0, 0.0)
    recall, precision, score = metrics.pr_curve([0.3, 0.9, 0.6], [True, True, False], 4)
    np.testing.assert_allclose(score, [0.9, 0.6, 0.3])
    np.testing.assert_allclose(recall, [0.25, 0.25, 0.5])
    np.testing.assert_allclose(precision, [1.0, 0.5, 2 / 3])


def test_average_precision_101_points_by_hand():
    # recall 0.5 at precision 1, then 1.0 at precision 0.5 (after a false positive)
    recall = np.array([0.5, 0.5, 1.0])
    precision = np.array([1.0, 0.5, 2 / 3])
    # levels 0..0.5 (51 of them) read 1.0; levels 0.51..1.0 (50) read 2/3
    assert metrics.average_precision(recall, precision) == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert metrics.average_precision(np.array([0.5]), np.array([1.0])) == pytest.approx(51 / 101)
    assert metrics.average_precision(np.zeros(0), np.zeros(0)) == 0.0


def masks_of(boxes, size=(40, 40)):
    masks = np.zeros((len(boxes), *size), bool)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes, strict=True):
        mask[y1:y2, x1:x2] = True
    return masks


# three images of two classes: ground truth and predictions as (class, score, x1, y1, x2, y2)
TRUTH = [
    [(0, 2, 2, 12, 12), (0, 20, 20, 30, 34), (1, 5, 25, 15, 38)],
    [(1, 0, 0, 18, 10), (0, 22, 3, 36, 13)],
    [(0, 10, 10, 25, 25)],
]
PREDICTIONS = [
    [(0, 0.95, 3, 2, 12, 13), (0, 0.62, 2, 2, 12, 12), (1, 0.81, 5, 26, 16, 38),
     (0, 0.33, 21, 22, 29, 33), (1, 0.12, 30, 0, 39, 9)],
    [(1, 0.71, 1, 0, 17, 11), (0, 0.55, 30, 5, 39, 15), (0, 0.91, 22, 2, 35, 13)],
    [(0, 0.44, 10, 10, 20, 20), (1, 0.88, 10, 10, 25, 25)],
]  # fmt: skip


def as_detections(rows, with_scores):
    classes = [r[0] for r in rows]
    boxes = [r[-4:] for r in rows]
    return Detections.from_masks(
        classes, masks_of(boxes), scores=[r[1] for r in rows] if with_scores else None
    )


def cocoeval_ap50(kind):
    images, anns, results = [], [], []
    for image_id, (truth, preds) in enumerate(zip(TRUTH, PREDICTIONS, strict=True), start=1):
        images.append({"id": image_id, "width": 40, "height": 40})
        for (cls, *box), mask in zip(truth, masks_of([t[1:] for t in truth]), strict=True):
            x1, y1, x2, y2 = box
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": cls + 1,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float(mask.sum()),
                         "iscrowd": 0, "segmentation": rle.encode(mask)})  # fmt: skip
        for (cls, score, *box), mask in zip(preds, masks_of([p[2:] for p in preds]), strict=True):
            x1, y1, x2, y2 = box
            results.append({"image_id": image_id, "category_id": cls + 1, "score": score,
                            "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "segmentation": rle.encode(mask)})  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}  # fmt: skip
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), iouType=kind)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[1]


@pytest.mark.parametrize("kind", ["box", "mask"])
def test_average_precision_agrees_with_cocoeval(kind):
    parts = [
        metrics.match(as_detections(p, True), as_detections(t, False), 0.5, kind)
        for t, p in zip(TRUTH, PREDICTIONS, strict=True)
    ]
    matches = metrics.Matches.concatenate(parts)
    ours = matches.average_precision()
    assert 0.2 < ours < 1.0  # a case with both hits and misses
    assert ours == pytest.approx(cocoeval_ap50("bbox" if kind == "box" else "segm"), abs=1e-9)


def test_matches_threshold_and_pooled_precision_recall():
    truth = as_detections(TRUTH[0], False)
    matches = metrics.match(as_detections(PREDICTIONS[0], True), truth, 0.5, "box")
    # 0.95 hits object 0; 0.62 duplicates it; 0.81 hits the class-1 object; 0.33 hits object 1
    np.testing.assert_array_equal(matches.is_tp, [True, False, True, True, False])
    assert matches.precision_recall() == (3 / 5, 3 / 3)
    assert matches.above(0.5).precision_recall() == (2 / 3, 2 / 3)
    with pytest.raises(ValueError):
        metrics.match(truth, truth, kind="polygon")


def test_no_predictions_and_no_truth():
    empty = metrics.Matches.concatenate([])
    assert empty.average_precision() == 0.0
    assert empty.precision_recall() == (0.0, 0.0)
    truth = as_detections(TRUTH[2], False)
    none = truth.select(np.zeros(len(truth), bool))
    assert metrics.match(none, truth).average_precision() == 0.0


def test_match_outputs_post_processes_stored_raw_outputs():
    # one 100x200 image, one object at x 10..89, y 10..89; the network's box covers it exactly
    masks = np.zeros((100, 3, 15, 15), np.float32)
    masks[0, 1] = 0.8
    masks[1, 1, :, :7] = 0.9  # a second prediction covering only the left part
    raw = make_raw(
        [[1, 0.9, 10 / 200, 10 / 100, 90 / 200, 90 / 100], [1, 0.4, 10 / 200, 10 / 100,
          90 / 200, 90 / 100]], masks)  # fmt: skip
    truth_mask = np.zeros((1, 100, 200), bool)
    truth_mask[0, 10:91, 10:91] = True
    truth = Detections.from_masks([1], truth_mask)
    loose = metrics.match_outputs([raw], [truth], conf_threshold=0.05)
    np.testing.assert_array_equal(loose.is_tp, [True, False])
    assert loose.average_precision() == pytest.approx(1.0)
    strict = metrics.match_outputs([raw], [truth], mask_threshold=0.85)  # first mask vanishes
    np.testing.assert_array_equal(strict.is_tp, [False, False])
    assert metrics.match_outputs([raw], [truth], conf_threshold=0.5).precision_recall() == (1, 1)


def test_recall_at_iou_counts_objects_some_candidate_covers():
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], float)
    candidates = np.array([[0, 0, 10, 11], [20, 20, 30, 40], [0, 0, 100, 100]], float)
    # IoUs: 10/11 = 0.91 for the first, 0.5 for the second, 0.01 for the third
    assert metrics.recall_at_iou(truth, candidates, 0.7) == pytest.approx(1 / 3)
    assert metrics.recall_at_iou(truth, candidates, 0.5) == pytest.approx(2 / 3)
    assert metrics.recall_at_iou(truth, candidates[:0]) == 0.0
    assert metrics.recall_at_iou(truth[:0], candidates) == 1.0
