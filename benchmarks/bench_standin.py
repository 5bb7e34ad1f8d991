"""The real architecture on the stand-in: forward time per stage and peak memory by input size.

    python benchmarks/bench_standin.py [--model-dir DIR] [--graph PBTXT] [--runs 5]
                                       [--sizes asis 480 600 800 1024]

Runs the stand-in of the real COCO network (its real text graph with generated weights of the
real shapes; see ``maskrcnn_tutorial.models.standin``) on a 1280 x 720 frame, fed as it is (the
LearnOpenCV tutorial's way, ``asis``) and with its smaller side resized to each N (the
TensorFlow model's own resizer uses 800). Each size runs in a fresh process, so its peak
resident memory is its own: median forward time of ``--runs`` runs after one warm-up, the time
of each stage (from OpenCV's per-layer profile, median over the runs) and the peak memory.
Only time and memory carry over to the real model: the stand-in's weights are generated.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
from bench_mask_branch import REFERENCE  # the real text graph in ../shared/reference

from maskrcnn_tutorial.explain.anatomy import stage_times
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.models import coco_spec
from maskrcnn_tutorial.models.standin import GRAPH_NAME, WEIGHTS_NAME, write_standin
from maskrcnn_tutorial.synthetic.scenes import make_scene

FRAME_HW = (720, 1280)
#: Stages of ``anatomy.STAGES`` summed into the four parts of the issue's breakdown.
PARTS = {
    "backbone": ("input", "backbone"),
    "RPN": ("RPN", "anchors", "RPN proposals"),
    "second stage": ("box head",),
    "mask head": ("mask head",),
}
PUBLISHED = (
    "published for the real model: the LearnOpenCV article 350 ms to 2 s per frame (2.5 GHz "
    "Core i7); OpenCV PR #16069 1090 ms (OpenCV, i7-7700HQ, 4 cores)"
)


def measure(model_dir: Path, size: str, runs: int) -> dict:
    """Time ``runs`` forward passes of a 1280 x 720 frame at input ``size`` (this process)."""
    spec = replace(coco_spec(), weights=model_dir / WEIGHTS_NAME, config=model_dir / GRAPH_NAME)
    model = Model.load(spec, input_size=size)
    frame = cv2.resize(make_scene(1_000_050).image, FRAME_HW[::-1])  # OpenCV: (width, height)
    raw = model.forward(frame)  # warm-up
    times, parts = [], {part: [] for part in PARTS}
    for _ in range(runs):
        raw = model.forward(frame)
        times.append(raw.time_ms)
        totals = dict(stage_times(model.layer_profile()))
        for part, stages in PARTS.items():
            parts[part].append(sum(totals.get(stage, 0.0) for stage in stages))
    return {
        "size": size,
        "blob": f"{raw.blob_shape[3]}x{raw.blob_shape[2]}",
        "median_ms": statistics.median(times),
        "parts_ms": {part: statistics.median(values) for part, values in parts.items()},
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, help="a stand-in already written (else built)")
    parser.add_argument("--graph", type=Path, default=REFERENCE, help="the real text graph")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", default=["asis", "480", "600", "800", "1024"])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: measure one size
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.model_dir, args.one, args.runs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            if not args.graph.is_file():
                raise SystemExit(f"no text graph at {args.graph}; pass --graph or --model-dir")
            model_dir = Path(tmp)
            write_standin(model_dir, args.graph)
        load = Path("/proc/loadavg").read_text().split()[0]
        print(
            f"stand-in of the real network, {FRAME_HW[1]}x{FRAME_HW[0]} frame, OpenCV "
            f"{cv2.__version__}, {cv2.getNumThreads()} threads, median of {args.runs} runs, "
            f"load average {load} at start"
        )
        header = f"{'input':>6} {'blob':>10} {'forward':>9}"
        header += "".join(f" {part:>13}" for part in PARTS) + f" {'peak':>8}"
        print(header)
        for size in args.sizes:
            done = subprocess.run(
                [sys.executable, __file__, "--one", size, "--runs", str(args.runs)]
                + ["--model-dir", str(model_dir)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            line = f"{row['size']:>6} {row['blob']:>10} {row['median_ms']:>7.0f}ms"
            line += "".join(f" {row['parts_ms'][part]:>11.0f}ms" for part in PARTS)
            print(line + f" {row['peak_mb']:>6.0f}MB", flush=True)
    print(PUBLISHED)


if __name__ == "__main__":
    main()
