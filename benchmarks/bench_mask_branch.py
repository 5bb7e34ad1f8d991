"""The whole graph against the split one (mask branch only for the kept rows), on the stand-in.

    python benchmarks/bench_mask_branch.py [--model-dir DIR] [--kept 5 20 50] [--runs 5]
                                           [--size 1280x720] [--video-frames 6]

Runs the stand-in of the real COCO network (its real text graph with generated weights; see
``maskrcnn_tutorial.models.standin``), written to a temporary folder unless ``--model-dir``
holds one.
For each number K of kept detections it picks the confidence threshold that keeps exactly K
rows of ``detection_out_final`` and times ``Model.forward`` both ways (median of ``--runs``,
interleaved). Then ``maskrcnn-tutorial segment VIDEO --model coco`` on a clip of
``--video-frames`` frames at each ``--video-conf``, with ``--mask-branch full`` and ``kept``:
frames per second. (The stand-in finds dozens of confident objects in any picture, so at 0.5
most rows are kept; 0.9999 keeps a handful, as 0.5 does with the real model on ordinary
scenes.)
Speed goals (issue 12): at least 1.8x faster with 10 or fewer kept rows, never slower.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from maskrcnn_tutorial.apps import cli
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.io.video import VideoWriter
from maskrcnn_tutorial.models import CACHE_ENV, COCO_NAME, coco_spec
from maskrcnn_tutorial.synthetic.scenes import make_clip, make_scene

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / f"{COCO_NAME}.pbtxt"
#: A synthetic scene: the stand-in gives its rows distinct scores (on photos many tie at 1.0,
#: and then no threshold keeps exactly K rows).
SEED = 1_000_050
#: Published figures for the real model, for comparison (not measured here).
PUBLISHED = (
    "published for the real model: OpenCV 1090 ms, OpenVINO 583 ms (OpenCV PR #16069, "
    "i7-7700HQ, 4 cores); the LearnOpenCV article: 350 ms to 2 s per frame"
)


def threshold_keeping(scores: np.ndarray, k: int) -> float:
    """A confidence threshold that keeps exactly the ``k`` best rows (``score > threshold``)."""
    ordered = np.sort(scores)[::-1]
    if k == 0:
        return float(ordered[0])
    if k >= len(ordered) or ordered[k] == ordered[k - 1] or ordered[k - 1] <= 0:
        raise SystemExit(f"no threshold keeps exactly {k} rows on this image; change --kept")
    return float((ordered[k - 1] + ordered[k]) / 2)


def time_forward(model: Model, image: np.ndarray, runs: int, conf: float) -> tuple[float, float]:
    """Median ms of the full and the kept forward pass, run alternately."""
    full, kept = [], []
    for _ in range(runs):
        full.append(model.forward(image).time_ms)
        kept.append(model.forward(image, mask_branch="kept", conf_threshold=conf).time_ms)
    return statistics.median(full), statistics.median(kept)


def video_fps(folder: Path, frames: int, size_hw: tuple[int, int], branch: str, conf: float) -> str:
    """``segment clip.avi --model coco --mask-branch BRANCH --conf CONF``: frames per second and
    detections per frame, as the command reports them."""
    clip, report = folder / "clip.avi", folder / "report.json"
    if not clip.exists():
        with VideoWriter(clip, 25.0, size_hw) as writer:
            for scene in make_clip(SEED, frames, size_hw=size_hw):
                writer.write(scene.image)
    out = io.StringIO()
    args = ["--quiet", "segment", str(clip), "--model", "coco", "--mask-branch", branch]
    with contextlib.redirect_stdout(out):
        status = cli.main([*args, "--conf", str(conf), "--json", str(report)])
    if status != 0:
        raise SystemExit(f"segment failed ({status}): {out.getvalue()}")
    payload = json.loads(report.read_text())
    per_frame = statistics.mean(len(frame["detections"]) for frame in payload["frames"])
    return f"{payload['fps']:.2f} frames per second ({per_frame:.0f} detections a frame)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="a folder with the stand-in's two files")
    parser.add_argument("--graph", type=Path, default=REFERENCE, help="the real text graph")
    parser.add_argument("--kept", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the frame")
    parser.add_argument("--video-frames", type=int, default=6, help="0: no video run")
    parser.add_argument("--video-conf", type=float, nargs="+", default=[0.5, 0.9999])
    args = parser.parse_args()
    width, height = (int(v) for v in re.fullmatch(r"(\d+)x(\d+)", args.size).groups())

    with tempfile.TemporaryDirectory() as tmp:
        cache = args.model_dir.parent if args.model_dir else Path(tmp)
        spec = coco_spec(cache)
        if not spec.available:
            from maskrcnn_tutorial.models.standin import write_standin

            if not args.graph.is_file():
                print(f"skipped: the real text graph is not at {args.graph} (give --graph)")
                return

            write_standin(spec.weights.parent, args.graph)
        os.environ[CACHE_ENV] = str(cache)
        model = Model.load(spec)
        image = cv2.resize(make_scene(SEED).image, (width, height), interpolation=cv2.INTER_CUBIC)
        load = os.getloadavg()[0]
        print(
            f"stand-in of {COCO_NAME}, frame {width}x{height} (scene {SEED}), "
            f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads, {os.cpu_count()} CPUs, "
            f"load average {load:.2f}, median of {args.runs} runs each"
        )
        warm = model.forward(image)
        model.forward(image, mask_branch="kept", conf_threshold=0.5)
        scores = warm.detection_out_final[0, 0, :, 2]
        print(f"{int((scores > 0).sum())} rows with a score; {int((scores > 0.5).sum())} above 0.5")
        print(f"{'kept':>5} {'conf':>8} {'full ms':>9} {'split ms':>9} {'speed-up':>9}")
        for k in args.kept:
            conf = threshold_keeping(scores, k)
            check = model.forward(image, mask_branch="kept", conf_threshold=conf)
            assert len(check.mask_rows) == k, (k, len(check.mask_rows))
            full_ms, kept_ms = time_forward(model, image, args.runs, conf)
            print(f"{k:>5} {conf:>8.5f} {full_ms:>9.0f} {kept_ms:>9.0f} {full_ms / kept_ms:>8.2f}x")
        print(PUBLISHED)
        if args.video_frames:
            start = time.perf_counter()
            for conf in args.video_conf:
                for branch in ("full", "kept"):
                    line = video_fps(Path(tmp), args.video_frames, (height, width), branch, conf)
                    print(f"segment VIDEO --conf {conf} --mask-branch {branch}: {line}")
            print(f"video runs took {time.perf_counter() - start:.0f} s")
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
