"""Peak memory of one app page showing the worst uploads it accepts (issue 20).

    python benchmarks/bench_upload_memory.py [--model shapes] [--input-size native]

Each case runs in a fresh Python process: it builds the classroom app (the first sample shown),
reads its peak resident memory, then shows one upload and reads it again. The uploads are the
largest the app's limits let through (20 MB, 40 megapixels as the header declares them): 8 and
16-bit, grey and colour PNGs, and the 1024 x 3 picture that took 5.7 GB at ``--input-size 800``
before the blob was bounded. Peak resident memory comes from ``resource.getrusage`` (Linux and
macOS; ru_maxrss is in KiB on Linux, bytes on macOS).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

#: (name, height, width, channels, bytes per channel) of the uploads measured.
CASES = (
    ("8-bit colour 40 MP", 5000, 7999, 3, 1),
    ("16-bit colour 40 MP", 5000, 7999, 3, 2),
    ("16-bit grey 40 MP", 5000, 7999, 1, 2),
    ("8-bit BGRA 40 MP", 5000, 7999, 4, 1),
    ("1024 x 3", 3, 1024, 3, 1),
)

CHILD = """
import resource, sys
from pathlib import Path
from maskrcnn_tutorial import models
from maskrcnn_tutorial.apps import app as classroom

path, model, size = sys.argv[1:4]
scale = 1024 if sys.platform.startswith("linux") else 1024 * 1024
page = classroom.build_app(models.load_model(model, input_size=size))
content = Path(path).read_bytes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
shown = page.show_upload("upload.png", content)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
assert shown, page.status.value
print(f"{before:.0f} {after:.0f} {page.raw.blob_shape}")
"""


def upload(path: Path, height: int, width: int, channels: int, depth: int) -> Path:
    """A PNG of the given size and depth, one grey level with a bright square (its content does
    not change what decoding costs; a plain picture stays far under the 20 MB limit)."""
    shape = (height, width) if channels == 1 else (height, width, channels)
    picture = np.full(shape, 40000 if depth == 2 else 150, np.uint16 if depth == 2 else np.uint8)
    picture[: height // 2, : width // 2] //= 2
    path.write_bytes(cv2.imencode(".png", picture)[1].tobytes())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--input-size", default="native")
    args = parser.parse_args()
    print(f"model {args.model}, input size {args.input_size}; peak resident memory in MiB")
    print(f"{'upload':<22} {'file MB':>8} {'page':>6} {'+upload':>8}  blob")
    with tempfile.TemporaryDirectory() as folder:
        for name, height, width, channels, depth in CASES:
            path = upload(Path(folder) / "upload.png", height, width, channels, depth)
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), args.model, args.input_size],
                capture_output=True,
                text=True,
                env={**os.environ, "TQDM_DISABLE": "1"},
            )
            if done.returncode != 0:  # a page the system killed (memory) has no message
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                print(f"{name:<22} failed: exit status {done.returncode}: {last}")
                continue
            before, after, blob = done.stdout.splitlines()[-1].split(maxsplit=2)
            size = path.stat().st_size / 2**20
            print(f"{name:<22} {size:>8.1f} {before:>6} {after:>8}  {blob.strip()}")


if __name__ == "__main__":
    main()
