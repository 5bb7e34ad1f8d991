"""One forward pass of a model at its default input size, through OpenCV DNN.

    python benchmarks/bench_forward.py [--model shapes] [--repeats 30] [--warmup 3]

Prints the median, the 10th and 90th percentiles, and where the time goes by stage.
"""

from __future__ import annotations

import argparse
import statistics

import cv2
import numpy as np

from maskrcnn_tutorial.explain.anatomy import stage_times
from maskrcnn_tutorial.models import load_model
from maskrcnn_tutorial.synthetic.samples import sample_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    model = load_model(args.model)
    name, image = sample_image(model.name)
    for _ in range(args.warmup):
        model.forward(image)
    times = [model.forward(image).time_ms for _ in range(args.repeats)]
    size = model.spec.input_hw or image.shape[:2]
    print(
        f"model {model.name}, input {size[1]}x{size[0]} ({name}), OpenCV {cv2.__version__}, "
        f"{cv2.getNumThreads()} threads, {args.repeats} runs"
    )
    p10, p90 = np.percentile(times, [10, 90])
    print(f"forward: median {statistics.median(times):.1f} ms  (p10 {p10:.1f}, p90 {p90:.1f})")
    for stage, ms in stage_times(model.layer_profile()):
        print(f"  {stage:<14} {ms:7.1f} ms (last run)")


if __name__ == "__main__":
    main()
