"""The ``maskrcnn-tutorial`` command line (also ``python -m maskrcnn_tutorial``).

Every problem the user can fix ends as one ``error: ...`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import models
from .draw import COLOR_MODES
from .errors import UserError
from .files import check_outputs, staged
from .images import write_image
from .inference import MASK_BRANCHES, InputSize, parse_input_size
from .postprocess import DEFAULT_CONF_THRESHOLD, DEFAULT_MASK_THRESHOLD, check_threshold
from .results import format_detections, frame_record, write_json, write_raw
from .scenes import EVAL_SEED_START
from .server import MAX_PAGES

#: Highest camera number accepted (OpenCV reads larger numbers as a backend and crashes on some).
MAX_CAMERA = 99
#: Largest seed or frame count (numpy's seeds and OpenCV's counts are 64-bit).
MAX_INT = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2, like every error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}; see '{self.prog} --help'")


def _number_range(convert: Callable[[str], Any], what: str, low: Any, high: Any) -> Callable:
    """argparse type: ``convert(text)``, refused unless in [low, high] (``what`` names it)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None
        if not low <= value <= high:  # also refuses nan
            shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (low, high)]
            raise argparse.ArgumentTypeError(
                f"must be between {shown[0]} and {shown[1]}, got {text}"
            )
        return value

    parse.__name__ = what
    return parse


def int_range(low: int, high: int) -> Callable[[str], int]:
    """argparse type for a whole number in [low, high], checked while parsing."""
    return _number_range(int, "whole number", low, high)


def float_range(low: float, high: float) -> Callable[[str], float]:
    """argparse type for a number in [low, high], checked while parsing."""
    return _number_range(float, "number", low, high)


def unit_interval(text: str) -> float:
    """argparse type for a threshold in [0, 1]."""
    try:
        return check_threshold("threshold", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def input_size(text: str) -> InputSize:
    """argparse type for ``--input-size`` (see :func:`inference.parse_input_size`)."""
    try:
        return parse_input_size(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


INPUT_SIZE_HELP = (
    "how the frame is sized for the network: native (default: coco takes it as it is, as the "
    "LearnOpenCV tutorial does; shapes resizes to 256x256), asis, N (smaller side N pixels, "
    "as the TensorFlow model's own 800) or WxH (as OpenCV's sample's 800x800)"
)


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


def load(args: argparse.Namespace) -> models.Model:
    """The model the user asked for (or the default, announced), on the requested target."""
    if args.model is None and (notice := models.default_model_notice()):
        note(notice)
    model = models.load_model(args.model, target=args.target, input_size=args.input_size)
    for line in model.notices:
        note(line)
    return model


def cmd_segment(args: argparse.Namespace) -> int:
    """Segment an image, a video or a camera's frames."""
    from .video import open_source

    inputs = {"INPUT": args.input} if args.input else {}
    check_outputs({"--out": args.out, "--json": args.json, "--raw": args.raw}, inputs)
    source = open_source(args.input, args.webcam)
    if source.is_video and args.raw:
        raise UserError("--raw saves one image's outputs; drop it for a video or a camera")
    if args.out:
        check_out_format(args.out, source.is_video)
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


def check_out_format(path: Path, video: bool) -> None:
    """Refuse an ``--out`` extension that cannot hold the result, before any inference."""
    from .video import FOURCC

    if video and path.suffix.lower() not in FOURCC:
        raise UserError(
            f"--out {path}: a video is written as {', '.join(FOURCC)}; change the extension"
        )
    if not video and not cv2_can_write(path):
        raise UserError(f"--out {path}: cannot write an image as {path.suffix!r}; use .png or .jpg")


def cv2_can_write(path: Path) -> bool:
    """True when OpenCV has an encoder for ``path``'s extension."""
    import cv2

    try:
        return bool(path.suffix) and cv2.haveImageWriter(f"x{path.suffix}")
    except cv2.error:
        return False


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

    check_outputs({"--out": args.out, "--truth": args.truth})
    check_out_format(args.out, video=False)
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

    check_outputs({"--json": args.json})
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
        max_pages=args.max_pages,
        input_size=args.input_size,
    )


# --- parser -----------------------------------------------------------------------------------


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

    doctor = add("doctor", help="check this laptop for the workshop (one line per check)")
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


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so cleanup runs as for Ctrl+C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


class PipeSafeStdout:
    """stdout that stops writing, quietly, once the reader has gone (``| head -1``); the
    command carries on and writes its files."""

    def __init__(self, stream) -> None:
        self.stream, self.closed_pipe = stream, False

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._close()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._close()

    def _close(self) -> None:
        self.closed_pipe = True
        # later writes by the interpreter (its flush at exit) go nowhere instead of failing
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    SIGTERM and SIGHUP end it like Ctrl+C: temporary files are removed, nothing is half-written.
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():  # only there can it catch signals
        previous = {
            signum: signal.signal(signum, _raise_interrupted)
            for signum in (signal.SIGTERM, signal.SIGHUP)
        }
    stdout, sys.stdout = sys.stdout, PipeSafeStdout(sys.stdout)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "segment" and (args.input is None) == (args.webcam is None):
            raise UserError("give either an INPUT file or --webcam N; see 'segment --help'")
        with staged():
            status = args.func(args)
        sys.stdout.flush()
        return status
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        what = "interrupted" if signum == signal.SIGINT else f"stopped by {exc}"
        print(f"error: {what}; nothing was written", file=sys.stderr)
        return 128 + int(signum)
    finally:
        sys.stdout = stdout
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
