"""The commands of ``maskrcnn-tutorial``: one function per command, returning the exit status."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from maskrcnn_tutorial import models
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.io.files import check_outputs
from maskrcnn_tutorial.io.images import write_image
from maskrcnn_tutorial.io.results import format_detections, frame_record, write_json, write_raw


def note(message: str) -> None:
    """A one-line notice on stderr."""
    print(message, file=sys.stderr)


_written: ContextVar[list[str] | None] = ContextVar("written", default=None)


@contextlib.contextmanager
def announced_after() -> Iterator[None]:
    """Hold back the lines of :func:`announce` until the block ends without an error: the
    outputs of a command land together at the end of :func:`.files.staged`, so a line saying
    one was written is printed only once all of them are."""
    lines: list[str] = []
    token = _written.set(lines)
    try:
        yield
    finally:
        _written.reset(token)
    for line in lines:
        print(line)


def announce(line: str) -> None:
    """Say that an output was written: now, or at the end of :func:`announced_after`."""
    pending = _written.get()
    if pending is None:
        print(line)
    else:
        pending.append(line)


# --- models and fetch -------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    """List the models: name, classes, availability, files and how to get each."""
    default = models.default_model_name()
    print(f"cache directory: {models.cache_dir()}  (set ${models.CACHE_ENV} to change)")
    for spec in models.all_specs().values():
        mark = "*" if spec.name == default else " "
        state = model_state(spec)
        print(
            f"{mark} {spec.name:<7} {len(spec.labels):>3} classes  {state:<11}  {spec.description}"
        )
        print(f"            files: {spec.weights}")
        print(f"                   {spec.config}")
        print(f"            get:   {spec.how_to_get}")
        if state == "unverified":
            print(f"            note:  {models.UNPUBLISHED_COCO}")
    print("* = default model")
    return 0


def model_state(spec: models.ModelSpec) -> str:
    """``missing``, ``unverified`` (coco files present but not the published ones: their sha1
    differs, a stand-in or junk) or ``available``."""
    from maskrcnn_tutorial.models.sources import COCO_SOURCE, sha1_file

    if not spec.available:
        return "missing"
    if spec.name == "coco":
        published = models.is_published_coco(spec.weights)
        if not published or sha1_file(spec.config) not in COCO_SOURCE.config_sha1s:
            return "unverified"
    return "available"


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download (or install from a local tarball) the real COCO model."""
    from maskrcnn_tutorial.models.fetch import fetch_coco

    spec = fetch_coco(tarball=args.from_file, config=args.config, progress=not args.quiet)
    print(f"coco model ready: {spec.weights.parent}")
    return 0


# --- segment ----------------------------------------------------------------------------------


def load(args: argparse.Namespace) -> Model:
    """The model the user asked for (or the default, announced), on the requested target."""
    if args.model is None and (notice := models.default_model_notice()):
        note(notice)
    model = models.load_model(args.model, target=args.target, input_size=args.input_size)
    for line in model.notices:
        note(line)
    return model


def cmd_segment(args: argparse.Namespace) -> int:
    """Segment an image, a video or a camera's frames."""
    from maskrcnn_tutorial.io.video import open_source

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
    from maskrcnn_tutorial.io.video import FOURCC

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
    from maskrcnn_tutorial.pipeline import segment

    image = next(iter(source))
    for line in source.notes:
        note(f"note: {line}")
    result = segment(model, image, **options)
    dets = result.detections
    print(
        f"{source.name}: {len(dets)} detections with model {model.name!r} "
        f"(forward {result.timing_ms['forward']:.0f} ms)"
    )
    for line in format_detections(dets):
        print(line)
    if args.out:
        announce(f"annotated image: {write_image(args.out, result.annotated)}")
    if args.json:
        record = frame_record(model.name, source.name, dets, result.timing_ms)
        write_json(args.json, {**record, "notes": source.notes} if source.notes else record)
        announce(f"detections: {args.json}")
    if args.raw:
        announce(f"raw outputs: {write_raw(args.raw, result.raw)}")
    return 0


def segment_video(model, source, args: argparse.Namespace, options: dict) -> int:
    from itertools import islice

    from maskrcnn_tutorial.io.video import VideoWriter
    from maskrcnn_tutorial.pipeline import segment_frames

    frames = islice(source, args.max_frames) if args.max_frames else iter(source)
    total = min(source.frame_count, args.max_frames or source.frame_count) or None
    records, writer, start = [], None, time.perf_counter()
    try:
        for result in segment_frames(
            model, frames, total=total, progress=not args.quiet, **options
        ):
            if args.out and writer is None:
                writer = VideoWriter(args.out, source.fps, result.annotated.shape[:2])
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
    for line in source.notes:  # a video that ended early says so
        note(f"warning: {line}")
    fps = len(records) / elapsed if elapsed > 0 else 0.0
    print(f"{source.name}: {len(records)} frames in {elapsed:.1f} s ({fps:.1f} frames per second)")
    if writer is not None:
        announce(f"annotated video: {writer.close()}")
    if args.json:
        payload = {
            "model": model.name,
            "input": source.name,
            "fps": round(fps, 2),
            "frames": records,
        }
        if source.notes:
            payload["notes"] = source.notes
        write_json(args.json, payload)
        announce(f"detections: {args.json}")
    return 0


# --- scenes and evaluation --------------------------------------------------------------------


def cmd_scene(args: argparse.Namespace) -> int:
    """Write a synthetic scene (and optionally its ground truth)."""
    from maskrcnn_tutorial.synthetic.scenes import make_scene, scene_truth

    check_outputs({"--out": args.out, "--truth": args.truth})
    check_out_format(args.out, video=False)
    scene = make_scene(args.seed)
    write_image(args.out, scene.image)
    announce(f"scene {args.seed}: {len(scene.class_ids)} objects -> {args.out}")
    if args.truth:
        write_json(args.truth, scene_truth(scene))
        announce(f"ground truth: {args.truth}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """COCO-style box and mask AP on held-out synthetic scenes."""
    from maskrcnn_tutorial.synthetic.evaluate import evaluate, format_report

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
    from maskrcnn_tutorial.apps.server import serve

    return serve(
        port=args.port,
        ip=args.ip,
        model=args.model,
        open_browser=not args.no_browser,
        mask_branch=args.mask_branch,
        max_pages=args.max_pages,
        input_size=args.input_size,
    )


# --- doctor -----------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check this machine for the workshop: one line per check, exit 0 only when all pass."""
    from maskrcnn_tutorial.apps.doctor import model_in_use, report, run_checks

    checks = run_checks(need_coco=args.coco)
    print(report(checks))
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise UserError(f"{len(failed)} check(s) failed: {', '.join(failed)}; see the fixes above")
    print(f"ready: every check passed; {model_in_use()}")
    return 0


# --- the notebook series ----------------------------------------------------------------------


def cmd_notebooks(args: argparse.Namespace) -> int:
    """Copy the notebook series (and the workshop guide) into a new folder."""
    from maskrcnn_tutorial.apps.series import copy_series

    copied = copy_series(args.folder)
    print(f"{len(copied)} files copied into {args.folder}")
    print(f"next: jupyter lab {args.folder}   (open 00_start_here.ipynb)")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Fine-tune shapes on a COCO-format folder, export for OpenCV, register by name."""
    from maskrcnn_tutorial.training.command import TrainRequest, run

    name = args.name or models.check_model_name(args.out.resolve().name)
    request = TrainRequest(
        images=args.images,
        annotations=args.annotations,
        out=args.out,
        name=name,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        resume=args.resume,
        progress=not args.quiet,
    )
    try:
        done = run(request)
    except KeyboardInterrupt as exc:
        step = getattr(exc, "step", None)
        if step is None:
            raise
        note(
            f"error: interrupted after step {step}; the checkpoint is saved in "
            f"{args.out}: run the same command with --resume to continue"
        )
        signum = getattr(exc.__context__, "signum", signal.SIGINT)
        return 128 + int(signum)
    log, parity = done["log"], done["parity"]
    print(
        f"OpenCV runs the export as PyTorch does: largest difference {parity['detections']:.1e} "
        f"in the detections, {parity['masks']:.1e} in the masks ({parity['count']} detections "
        "on the last picture)"
    )
    print(
        f"trained {len(log)} steps in {log[-1]['seconds']:.0f} s; exported to {args.out}; "
        f"registered as {name!r}: maskrcnn-tutorial segment --model {name} IMAGE"
    )
    return 0
