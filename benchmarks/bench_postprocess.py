"""Post-processing plus drawing per frame at 1280x720, against the tutorial's loop.

    python benchmarks/bench_postprocess.py [--repeats 30]

Both sides start from the same raw outputs (100 rows, of which 10 or 100 score above the
threshold) and end with an annotated frame: masks blended, contours, boxes and tags.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from maskrcnn_tutorial.draw import PALETTE, annotate
from maskrcnn_tutorial.inference import RawOutputs
from maskrcnn_tutorial.models.labels import COCO_LABELS
from maskrcnn_tutorial.postprocess import postprocess

WIDTH, HEIGHT = 1280, 720


def synthetic_raw(above: int, seed: int = 0) -> RawOutputs:
    """100 detection rows (``above`` of them over 0.5) with smooth blob-shaped masks."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((1, 1, 100, 7), np.float32)
    x1, y1 = rng.uniform(0, 0.75, 100), rng.uniform(0, 0.75, 100)
    w, h = rng.uniform(0.05, 0.25, 100), rng.uniform(0.05, 0.25, 100)
    scores = np.where(np.arange(100) < above, rng.uniform(0.55, 1.0, 100), rng.uniform(0, 0.4, 100))
    rows[0, 0, :, 1] = rng.integers(0, 90, 100)
    rows[0, 0, :, 2] = scores
    rows[0, 0, :, 3:] = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    yy, xx = np.mgrid[0:15, 0:15] - 7
    blob = np.exp(-(xx**2 + yy**2) / 30.0).astype(np.float32)
    masks = np.clip(blob[None, None] + rng.normal(0, 0.05, (100, 90, 15, 15)), 0, 1)
    return RawOutputs(
        rows, masks.astype(np.float32), rows.copy(), (1, 3, HEIGHT, WIDTH), (HEIGHT, WIDTH), 0.0
    )


def tutorial_loop(frame: np.ndarray, raw: RawOutputs, conf: float = 0.5, mask_thr: float = 0.3):
    """A straightforward per-detection version of the LearnOpenCV tutorial's post-processing."""
    boxes, masks = raw.detection_out_final, raw.detection_masks
    height, width = frame.shape[:2]
    for i in range(boxes.shape[2]):
        box = boxes[0, 0, i]
        score = box[2]
        if score > conf:
            class_id = int(box[1])
            left = max(0, min(int(width * box[3]), width - 1))
            top = max(0, min(int(height * box[4]), height - 1))
            right = max(0, min(int(width * box[5]), width - 1))
            bottom = max(0, min(int(height * box[6]), height - 1))
            color = np.array(PALETTE[class_id % len(PALETTE)], np.float64)
            cv2.rectangle(frame, (left, top), (right, bottom), (255, 178, 50), 3)
            label = f"{COCO_LABELS[class_id]}:{score:.2f}"
            size, base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
            tag_top = max(top, size[1])
            cv2.rectangle(
                frame,
                (left, tag_top - round(1.5 * size[1])),
                (left + round(1.5 * size[0]), tag_top + base),
                (255, 255, 255),
                cv2.FILLED,
            )
            cv2.putText(frame, label, (left, tag_top), cv2.FONT_HERSHEY_SIMPLEX, 0.75, (0, 0, 0), 1)
            class_mask = cv2.resize(masks[i, class_id], (right - left + 1, bottom - top + 1))
            mask = class_mask > mask_thr
            roi = frame[top : bottom + 1, left : right + 1][mask]
            frame[top : bottom + 1, left : right + 1][mask] = (0.3 * color + 0.7 * roi).astype(
                np.uint8
            )
            contours, hierarchy = cv2.findContours(
                mask.astype(np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE
            )[-2:]
            cv2.drawContours(
                frame[top : bottom + 1, left : right + 1],
                contours,
                -1,
                color.tolist(),
                3,
                cv2.LINE_8,
                hierarchy,
                100,
            )
    return frame


def package_path(frame: np.ndarray, raw: RawOutputs) -> np.ndarray:
    """The package: post-process, then annotate (a new image)."""
    dets = postprocess(raw, labels=COCO_LABELS)
    return annotate(frame, dets)


def median_ms(function, frame: np.ndarray, raw: RawOutputs, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        work = frame.copy()
        start = time.perf_counter()
        function(work, raw)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    frame = np.random.default_rng(1).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    print(f"post-processing + drawing at {WIDTH}x{HEIGHT}, median of {args.repeats} runs")
    print(f"{'detections':>10}  {'package ms':>10}  {'tutorial ms':>11}  {'ratio':>5}")
    for above in (10, 100):
        raw = synthetic_raw(above)
        ours = median_ms(package_path, frame, raw, args.repeats)
        theirs = median_ms(tutorial_loop, frame, raw, args.repeats)
        print(f"{above:>10}  {ours:>10.2f}  {theirs:>11.2f}  {theirs / ours:>5.2f}x")


if __name__ == "__main__":
    main()
