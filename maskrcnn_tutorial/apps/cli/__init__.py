"""The ``maskrcnn-tutorial`` command line (also ``python -m maskrcnn_tutorial``).

Every problem the user can fix ends as one ``error: ...`` line on stderr and exit status 2.

Modules: :mod:`.args` (argument types), :mod:`.commands` (one function per command),
:mod:`.signals` (signals and pipes); here the parser and :func:`main`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

from maskrcnn_tutorial.apps.cli.args import (
    INPUT_SIZE_HELP,
    MAX_CAMERA,
    MAX_INT,
    Parser,
    annotation_file,
    float_range,
    folder,
    input_size,
    int_range,
    model_name,
    unit_interval,
)
from maskrcnn_tutorial.apps.cli.commands import (
    announced_after,
    cmd_app,
    cmd_doctor,
    cmd_evaluate,
    cmd_fetch,
    cmd_models,
    cmd_notebooks,
    cmd_scene,
    cmd_segment,
    cmd_train,
)
from maskrcnn_tutorial.apps.cli.signals import (
    PipeSafeStdout,
    printable,
    readable_on_any_console,
    signals_interrupt,
    stopped_status,
)
from maskrcnn_tutorial.apps.server import MAX_PAGES
from maskrcnn_tutorial.draw import COLOR_MODES
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import MASK_BRANCHES
from maskrcnn_tutorial.io.files import staged
from maskrcnn_tutorial.postprocess import DEFAULT_CONF_THRESHOLD, DEFAULT_MASK_THRESHOLD
from maskrcnn_tutorial.synthetic.scenes import EVAL_SEED_START


def build_parser() -> Parser:
    parser = Parser(prog="maskrcnn-tutorial", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    # --quiet is accepted after the subcommand too; SUPPRESS keeps a subcommand's default from
    # overwriting a --quiet given before it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add = functools.partial(sub.add_parser, parents=[common])

    add("models", help="list the models and where their files are").set_defaults(func=cmd_models)

    fetch = add("fetch", help="download the real COCO model (or install a tarball)")
    fetch.add_argument("name", choices=["coco"], help="the model to fetch")
    fetch.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        metavar="FILE",
        help="install from a tarball downloaded elsewhere",
    )
    fetch.add_argument(
        "--config",
        type=Path,
        metavar="PBTXT",
        help="the text graph downloaded elsewhere (with --from, when offline)",
    )
    fetch.set_defaults(func=cmd_fetch)

    seg = add("segment", help="segment an image, a video or a camera")
    seg.add_argument("input", nargs="?", help="image or video file")
    seg.add_argument(
        "--webcam",
        type=int_range(0, MAX_CAMERA),
        metavar="N",
        help="read camera N instead of a file",
    )
    seg.add_argument("--model", help="model name (default: coco if fetched, else shapes)")
    seg.add_argument(
        "--conf",
        type=unit_interval,
        default=DEFAULT_CONF_THRESHOLD,
        help="confidence threshold (default %(default)s)",
    )
    seg.add_argument(
        "--mask-threshold",
        type=unit_interval,
        default=DEFAULT_MASK_THRESHOLD,
        help="mask threshold (default %(default)s)",
    )
    seg.add_argument(
        "--colors",
        choices=COLOR_MODES,
        default="class",
        help="one color per class or per instance",
    )
    seg.add_argument("--alpha", type=unit_interval, default=0.5, help="mask blend (0..1)")
    seg.add_argument("--legend", action="store_true", help="draw a legend of the classes")
    seg.add_argument("--target", choices=["cpu", "opencl"], default="cpu", help="OpenCV DNN target")
    seg.add_argument(
        "--mask-branch",
        choices=MASK_BRANCHES,
        default="kept",
        help="kept (default): masks only for the detections above --conf, same results in less "
        "time; full: the whole graph, masks for all 100 rows (what --raw then saves)",
    )
    seg.add_argument("--input-size", type=input_size, metavar="SIZE", help=INPUT_SIZE_HELP)
    seg.add_argument("--out", type=Path, help="annotated image or video (.avi/.mp4)")
    seg.add_argument("--json", type=Path, help="detections as JSON (COCO RLE masks)")
    seg.add_argument("--raw", type=Path, help="raw network outputs as .npz (images only)")
    seg.add_argument(
        "--max-frames",
        type=int_range(1, MAX_INT),
        metavar="N",
        help="stop a video after N frames (default: all)",
    )
    seg.set_defaults(func=cmd_segment)

    scene = add("scene", help="write a synthetic scene and its ground truth")
    scene.add_argument(
        "--seed", type=int_range(0, MAX_INT), required=True, help="scene number (>= 0)"
    )
    scene.add_argument("--out", type=Path, required=True, help="image file to write")
    scene.add_argument("--truth", type=Path, help="ground truth as JSON (COCO RLE masks)")
    scene.set_defaults(func=cmd_scene)

    ev = add("evaluate", help="COCO box and mask AP on held-out scenes")
    ev.add_argument("--model", help="model name (default shapes)")
    ev.add_argument("--images", type=int_range(1, 1_000_000), default=200, help="number of scenes")
    ev.add_argument(
        "--seed",
        type=int_range(EVAL_SEED_START, MAX_INT),
        default=EVAL_SEED_START,
        help="first scene (>= %(default)s)",
    )
    ev.add_argument("--json", type=Path, help="write the figures as JSON")
    ev.set_defaults(func=cmd_evaluate)

    app = add("app", help="serve the explorer for a classroom (Voila, no code cells)")
    app.add_argument(
        "--port", type=int_range(1, 65535), default=8866, help="port (default %(default)s)"
    )
    app.add_argument(
        "--ip",
        default="127.0.0.1",
        help="address to listen on (default %(default)s: this machine only; see the README "
        "before using 0.0.0.0)",
    )
    app.add_argument("--model", help="model name (default: coco if fetched, else shapes)")
    app.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    app.add_argument(
        "--max-pages",
        type=int_range(1, 1000),
        default=MAX_PAGES,
        metavar="N",
        help="most pages served at once, each a Python kernel of ~200 MB (default %(default)s)",
    )
    app.add_argument(
        "--mask-branch",
        choices=MASK_BRANCHES,
        default="kept",
        help="kept (default): masks only for the rows with a score; full: the whole graph",
    )
    app.add_argument("--input-size", type=input_size, metavar="SIZE", help=INPUT_SIZE_HELP)
    app.set_defaults(func=cmd_app)

    train = add(
        "train",
        help="fine-tune the shapes model on your COCO-format pictures and register the result",
        description="Fine-tune the shipped shapes model (always shapes, whichever model is "
        "active) on a folder of pictures with COCO instance annotations, export it for "
        "OpenCV into --out and register it under --name. Ctrl+C keeps a checkpoint; --resume "
        "continues it.",
    )
    train.add_argument("--images", type=folder, required=True, help="folder of the pictures")
    train.add_argument(
        "--annotations",
        type=annotation_file,
        required=True,
        metavar="FILE.json",
        help="COCO instance annotations (polygons or RLE)",
    )
    train.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the run and the model"
    )
    train.add_argument(
        "--name", type=model_name, help="register the model as NAME (default: --out's name)"
    )
    train.add_argument(
        "--steps", type=int_range(1, 1_000_000), default=300, help="steps (default %(default)s)"
    )
    train.add_argument(
        "--batch", type=int_range(1, 64), default=4, help="pictures per step (default %(default)s)"
    )
    train.add_argument(
        "--lr",
        type=float_range(1e-7, 1.0),
        default=1e-3,
        help="learning rate (default %(default)s)",
    )
    train.add_argument("--seed", type=int_range(0, 2**31 - 1), default=0, help="random seed")
    train.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    train.set_defaults(func=cmd_train)

    doctor = add("doctor", help="check this laptop for the workshop (one line per check)")
    doctor.add_argument("--coco", action="store_true", help="also require the real COCO model")
    doctor.set_defaults(func=cmd_doctor)

    series = add("notebooks", help="copy the notebook series into a new folder, to open in Jupyter")
    series.add_argument("folder", type=Path, help="a folder that does not exist yet, or is empty")
    series.set_defaults(func=cmd_notebooks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    SIGTERM and SIGHUP (where it exists) end it like Ctrl+C: temporary files are removed,
    nothing is half-written.
    """
    readable_on_any_console()
    stdout, sys.stdout = sys.stdout, PipeSafeStdout(sys.stdout)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "segment" and (args.input is None) == (args.webcam is None):
            raise UserError("give either an INPUT file or --webcam N; see 'segment --help'")
        with signals_interrupt(), announced_after(), staged():
            status = args.func(args)
        sys.stdout.flush()
        return status
    except UserError as exc:
        print(printable(f"error: {exc}", sys.stderr), file=sys.stderr)  # names not UTF-8: \xff
        return 2
    except KeyboardInterrupt as exc:
        return stopped_status(exc)
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
