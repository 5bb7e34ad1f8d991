"""Write the stand-in: ``python -m maskrcnn_tutorial.models.standin DIR [--graph F] [--seed N]``.

Writes ``frozen_inference_graph.pb`` (every constant the real text graph reads, under its real
name, shape and dtype, with seeded generated values) and the text graph into ``DIR``, and
prints the parameter count. It is a test double with the real architecture, not a trained
model: its detections mean nothing.

``--write-manifest`` re-derives the shipped ``manifest.json`` from ``--graph`` instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maskrcnn_tutorial.apps.cli.args import Parser
from maskrcnn_tutorial.apps.cli.signals import signals_interrupt, stopped_status
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import check_readable
from maskrcnn_tutorial.models import coco_spec
from maskrcnn_tutorial.models.standin import manifest
from maskrcnn_tutorial.models.standin.weights import write_standin


def _graph(path: Path | None) -> Path:
    if path is None:
        path = coco_spec().config
        if not path.is_file():
            raise UserError(
                "no text graph given and none fetched; pass --graph PBTXT (OpenCV's "
                "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt) "
                "or run 'maskrcnn-tutorial fetch coco'"
            )
    return check_readable(path, "OpenCV's text graph (.pbtxt) to --graph")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = Parser(
        prog="python -m maskrcnn_tutorial.models.standin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", nargs="?", type=Path, help="folder to write the two files into")
    parser.add_argument("--graph", type=Path, help="the real text graph (default: fetched coco)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated values")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--write-manifest", action="store_true", help=argparse.SUPPRESS)
    try:
        with signals_interrupt():  # SIGTERM/SIGHUP clean up like Ctrl+C
            return _run(parser.parse_args(argv))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return stopped_status(exc)


def _run(args: argparse.Namespace) -> int:
    """The command, once parsed; bad input is a :class:`UserError`."""
    graph = _graph(args.graph)
    if args.write_manifest:
        path = manifest.write(manifest.derive(graph))
        print(f"wrote {path}")
        return 0
    if args.dir is None:
        raise UserError(
            "give the folder to write into: python -m maskrcnn_tutorial.models.standin DIR"
        )
    if args.seed < 0:
        raise UserError(f"--seed must be 0 or more, not {args.seed}")
    if args.dir.exists() and not args.dir.is_dir():
        raise UserError(f"{args.dir} exists and is not a folder; choose another DIR")
    try:
        weights, text, count = write_standin(
            args.dir, graph, seed=args.seed, progress=not args.quiet
        )
    except (ValueError, KeyError, IndexError) as exc:
        raise UserError(f"{graph} is not the Mask R-CNN Inception V2 text graph ({exc})") from None
    except OSError as exc:
        raise UserError(
            f"cannot write into {args.dir} ({exc.strerror}); choose a writable DIR"
        ) from None
    print(f"wrote {weights} ({weights.stat().st_size:,} bytes) and {text}")
    print(f"{count:,} parameters (generated, seed {args.seed}: a stand-in, not a trained model)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
