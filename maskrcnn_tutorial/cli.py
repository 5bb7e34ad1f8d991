"""The ``maskrcnn-tutorial`` command line (also ``python -m maskrcnn_tutorial``).

Every problem the user can fix ends as one ``error: ...`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import models
from .draw import COLOR_MODES
from .errors import UserError
from .files import check_writable
from .images import write_image
from .inference import MASK_BRANCHES
from .postprocess import DEFAULT_CONF_THRESHOLD, DEFAULT_MASK_THRESHOLD, check_threshold
from .results import format_detections, frame_record, write_json, write_raw


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2, like every error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}; see '{self.prog} --help'")


def unit_interval(text: str) -> float:
    """argparse type for a threshold in [0, 1]."""
    try:
        return check_threshold("threshold", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def note(message: str) -> None:
    """A one-line notice on stderr."""
    print(message, file=sys.stderr)


# --- models and fetch -------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    """List the models: name, classes, availability, files and how to get each."""
    default = models.default_model_name()
    print(f"cache directory: {models.cache_dir()}  (set ${models.CACHE_ENV} to change)")
    for spec in models.registry().values():
        mark = "*" if spec.name == default else " "
        state = "available" if spec.available else "missing"
        print(
            f"{mark} {spec.name:<7} {len(spec.labels):>3} classes  {state:<11}  {spec.description}"
        )
        print(f"            files: {spec.weights}")
        print(f"                   {spec.config}")
        print(f"            get:   {spec.how_to_get}")
    print("* = default model")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download (or install from a local tarball) the real COCO model."""
    from .fetch import fetch_coco

    spec = fetch_coco(tarball=args.from_file, config=args.config, progress=not args.quiet)
    print(f"coco model ready: {spec.weights.parent}")
    return 0


# --- segment ----------------------------------------------------------------------------------


def check_outputs(*paths: Path | None) -> None:
    """Refuse unwritable output paths (``None``: not asked for) before any work is done."""
    for path in paths:
        if path is not None:
            check_writable(path)


def load(args: argparse.Namespace) -> models.Model:
    """The model the user asked for (or the default, announced), on the requested target."""
    if args.model is None and (notice := models.default_model_notice()):
        note(notice)
    model = models.load_model(args.model, target=args.target)
    for line in model.notices:
        note(line)
    return model


def cmd_segment(args: argparse.Namespace) -> int:
    """Segment an image, a video or a camera's frames."""
    from .video import open_source

    check_outputs(args.out, args.json, args.raw)
    source = open_source(args.input, args.webcam)
    if source.is_video and args.raw:
        raise UserError("--raw saves one image's outputs; drop it for a video or a camera")
    model = load(args)
    options = {
        "conf_threshold": args.conf,
        "mask_threshold": args.mask_threshold,
        "colors": args.colors,
        "alpha": args.alpha,
        "legend": args.legend,
        "mask_branch": args.mask_branch,
    }
    if source.is_video:
        return segment_video(model, source, args, options)
    return segment_image(model, source, args, options)


def segment_image(model, source, args: argparse.Namespace, options: dict) -> int:
    from .pipeline import segment

    image = next(iter(source))
    result = segment(model, image, **options)
    dets = result.detections
    print(
        f"{source.name}: {len(dets)} detections with model {model.name!r} "
        f"(forward {result.timing_ms['forward']:.0f} ms)"
    )
    for line in format_detections(dets):
        print(line)
    if args.out:
        print(f"annotated image: {write_image(args.out, result.annotated)}")
    if args.json:
        write_json(args.json, frame_record(model.name, source.name, dets, result.timing_ms))
        print(f"detections: {args.json}")
    if args.raw:
        print(f"raw outputs: {write_raw(args.raw, result.raw)}")
    return 0


def segment_video(model, source, args: argparse.Namespace, options: dict) -> int:
    from itertools import islice

    from .pipeline import segment_frames
    from .video import VideoWriter

    frames = islice(source, args.max_frames) if args.max_frames else iter(source)
    total = min(source.frame_count, args.max_frames or source.frame_count) or None
    records, writer, start = [], None, time.perf_counter()
    try:
        for result in segment_frames(
            model, frames, total=total, progress=not args.quiet, **options
        ):
            if args.out and writer is None:
                height, width = result.annotated.shape[:2]
                writer = VideoWriter(args.out, source.fps, (width, height))
            if writer is not None:
                writer.write(result.annotated)
            records.append(
                frame_record(model.name, source.name, result.detections, result.timing_ms)
            )
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    elapsed = time.perf_counter() - start
    fps = len(records) / elapsed if elapsed > 0 else 0.0
    print(f"{source.name}: {len(records)} frames in {elapsed:.1f} s ({fps:.1f} frames per second)")
    if writer is not None:
        print(f"annotated video: {writer.close()}")
    if args.json:
        payload = {
            "model": model.name,
            "input": source.name,
            "fps": round(fps, 2),
            "frames": records,
        }
        write_json(args.json, payload)
        print(f"detections: {args.json}")
    return 0


# --- scenes and evaluation --------------------------------------------------------------------


def cmd_scene(args: argparse.Namespace) -> int:
    """Write a synthetic scene (and optionally its ground truth)."""
    from .scenes import make_scene, scene_truth

    check_outputs(args.out, args.truth)
    scene = make_scene(args.seed)
    write_image(args.out, scene.image)
    print(f"scene {args.seed}: {len(scene.class_ids)} objects -> {args.out}")
    if args.truth:
        write_json(args.truth, scene_truth(scene))
        print(f"ground truth: {args.truth}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """COCO-style box and mask AP on held-out synthetic scenes."""
    from .evaluate import evaluate, format_report

    check_outputs(args.json)
    if args.images < 1:
        raise UserError("--images must be at least 1")
    report = evaluate(
        args.model or "shapes", images=args.images, seed=args.seed, progress=not args.quiet
    )
    print(format_report(report))
    if args.json:
        write_json(args.json, report)
    return 0


# --- classroom app ----------------------------------------------------------------------------


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the explorer (no code cells) with Voila."""
    from .server import serve

    return serve(
        port=args.port,
        ip=args.ip,
        model=args.model,
        open_browser=not args.no_browser,
        mask_branch=args.mask_branch,
    )


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> Parser:
    parser = Parser(prog="maskrcnn-tutorial", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    sub.add_parser("models", help="list the models and where their files are").set_defaults(
        func=cmd_models
    )

    fetch = sub.add_parser("fetch", help="download the real COCO model (or install a tarball)")
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

    seg = sub.add_parser("segment", help="segment an image, a video or a camera")
    seg.add_argument("input", nargs="?", help="image or video file")
    seg.add_argument("--webcam", type=int, metavar="N", help="read camera N instead of a file")
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
    seg.add_argument("--out", type=Path, help="annotated image or video (.avi/.mp4)")
    seg.add_argument("--json", type=Path, help="detections as JSON (COCO RLE masks)")
    seg.add_argument("--raw", type=Path, help="raw network outputs as .npz (images only)")
    seg.add_argument("--max-frames", type=int, metavar="N", help="stop a video after N frames")
    seg.set_defaults(func=cmd_segment)

    scene = sub.add_parser("scene", help="write a synthetic scene and its ground truth")
    scene.add_argument("--seed", type=int, required=True, help="scene number")
    scene.add_argument("--out", type=Path, required=True, help="image file to write")
    scene.add_argument("--truth", type=Path, help="ground truth as JSON (COCO RLE masks)")
    scene.set_defaults(func=cmd_scene)

    ev = sub.add_parser("evaluate", help="COCO box and mask AP on held-out scenes")
    ev.add_argument("--model", help="model name (default shapes)")
    ev.add_argument("--images", type=int, default=200, help="number of scenes")
    ev.add_argument("--seed", type=int, default=1_000_000, help="first scene (>= 1000000)")
    ev.add_argument("--json", type=Path, help="write the figures as JSON")
    ev.set_defaults(func=cmd_evaluate)

    app = sub.add_parser("app", help="serve the explorer for a classroom (Voila, no code cells)")
    app.add_argument("--port", type=int, default=8866, help="port (default %(default)s)")
    app.add_argument(
        "--ip",
        default="127.0.0.1",
        help="address to listen on (default %(default)s: this machine only; see the README "
        "before using 0.0.0.0)",
    )
    app.add_argument("--model", help="model name (default: coco if fetched, else shapes)")
    app.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    app.add_argument(
        "--mask-branch",
        choices=MASK_BRANCHES,
        default="kept",
        help="kept (default): masks only for the rows with a score; full: the whole graph",
    )
    app.set_defaults(func=cmd_app)

    doctor = sub.add_parser(
        "doctor", help="check this laptop for the workshop (one line per check)"
    )
    doctor.add_argument("--coco", action="store_true", help="also require the real COCO model")
    doctor.set_defaults(func=cmd_doctor)
    return parser


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check this machine for the workshop: one line per check, exit 0 only when all pass."""
    from .doctor import report, run_checks

    checks = run_checks(need_coco=args.coco)
    print(report(checks))
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise UserError(f"{len(failed)} check(s) failed: {', '.join(failed)}; see the fixes above")
    print("ready: every check passed")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "segment" and (args.input is None) == (args.webcam is None):
            raise UserError("give either an INPUT file or --webcam N; see 'segment --help'")
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
