"""Train and export the shapes model.

Reproduce the shipped model in two stages (the model card gives the times)::

    python -m maskrcnn_tutorial.training --steps 5000 --seed 0 --batch 8 --lr 0.002 \\
        --mask-channels 24 --out /tmp/shapes-stage1
    python -m maskrcnn_tutorial.training --init-from /tmp/shapes-stage1/shapes.pb \\
        --steps 6000 --seed 3 --lr 0.001 --mask-weight 2 --mask-jitter 0.05 \\
        --out maskrcnn_tutorial/models/shapes --replace-shipped

Writes ``shapes.pbtxt``, ``shapes.pb``, ``model.json`` and ``parity.npz`` into ``--out``
(``MODEL_CARD.md`` is maintained by hand): all four are written first, then renamed in
together, so a failed export leaves the folder as it was. ``--out`` and ``--workdir`` are checked
writable before the first step; the shipped model's folder is replaced only with
``--replace-shipped``. ``--from-checkpoint`` exports a saved checkpoint without training;
``--stop-after N`` ends training after N steps of the ``--steps`` schedule. Needs PyTorch (the
``train`` extra: ``pip install -e '.[train]'``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import shutil
import sys
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from maskrcnn_tutorial.apps.cli.args import Parser, float_range, int_range
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph.graphdef import read_consts
from maskrcnn_tutorial.io.files import (
    check_readable,
    check_writable_folder,
    land,
    reason,
    staged,
    temp_beside,
)
from maskrcnn_tutorial.training.spec import Spec

#: The folder of the model the package ships (``--out`` there needs ``--replace-shipped``).
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "shapes"
#: Files an export writes into ``--out``.
EXPORTED = ("shapes.pb", "shapes.pbtxt", "model.json", "parity.npz")
TORCH_MISSING = (
    "training needs PyTorch, the 'train' extra: pip install -e '.[train]' (the CPU build: "
    "pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)


def base_training(pb: Path) -> dict:
    """What is known of the weights a fine-tune started from: their sha256 and the training
    record of the ``model.json`` beside them (when there is one)."""
    record: dict = {"sha256": hashlib.sha256(pb.read_bytes()).hexdigest()}
    meta = pb.with_name("model.json")
    if meta.is_file():
        record["training"] = json.loads(meta.read_text()).get("training")
    return record


def _weights(path: Path) -> dict[str, np.ndarray]:
    """The Const tensors of an exported ``shapes.pb`` given to ``--init-from``."""
    check_readable(path, "an exported shapes.pb")
    try:
        weights = read_consts(path.read_bytes())
    except Exception:  # any malformed protobuf: truncated, wrong wire type, not a GraphDef
        weights = {}
    if not any(k.endswith("/weights") for k in weights):
        raise UserError(f"--init-from {path} holds no weights; give an exported shapes.pb")
    return weights


def _parser() -> Parser:
    parser = Parser(
        prog="python -m maskrcnn_tutorial.training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    steps = int_range(1, 10_000_000)
    parser.add_argument("--steps", type=steps, default=5000)
    parser.add_argument(
        "--stop-after",
        type=steps,
        default=None,
        help="end after this many steps of the --steps schedule (default: all of them)",
    )
    parser.add_argument("--seed", type=int_range(0, 2**31 - 1), default=0)
    parser.add_argument("--batch", type=int_range(1, 256), default=8)
    parser.add_argument("--lr", type=float_range(1e-8, 1.0), default=2e-3)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("maskrcnn_tutorial/models/shapes"),
        help="folder the model is exported to (default: the shipped model's, which needs "
        "--replace-shipped)",
    )
    parser.add_argument(
        "--replace-shipped",
        action="store_true",
        help="allow --out to be the shipped model's folder (its files are replaced)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/shapes-run"),
        help="where checkpoints go (keep it outside the repository)",
    )
    parser.add_argument(
        "--from-checkpoint",
        type=Path,
        default=None,
        help="export this checkpoint instead of training",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="fine-tune from this exported shapes.pb (layers of another shape start fresh)",
    )
    parser.add_argument("--mask-channels", type=int_range(1, 1024), default=Spec.mask_channels)
    parser.add_argument(
        "--mask-out-kernel", type=int, choices=(1, 3, 5), default=Spec.mask_out_kernel
    )
    parser.add_argument(
        "--mask-weight", type=float_range(0.0, 100.0), default=1.0, help="scale of the mask loss"
    )
    parser.add_argument(
        "--mask-jitter",
        type=float_range(0.0, 0.5),
        default=0.0,
        help="train the mask head on ground-truth boxes jittered by this fraction of their size "
        "(default 0: on foreground proposals)",
    )
    return parser


def check_folders(args: argparse.Namespace) -> None:
    """``--out`` and ``--workdir``: folders (or to be created) where files can be written, and
    ``--out`` not the shipped model's folder unless ``--replace-shipped`` says so; found now,
    not after hours of training."""
    for option, folder in (("--out", args.out), ("--workdir", args.workdir)):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{option} {folder} exists and is not a folder; choose a folder")
        check_writable_folder(folder, option)
    if args.out.resolve() == SHIPPED and not args.replace_shipped:
        raise UserError(
            f"--out {args.out} is the shipped model's folder; give another --out, or add "
            "--replace-shipped to replace its files"
        )


def load_checkpoint(path: Path, spec: Spec) -> tuple[Any, int, float | None]:
    """The model, step and seconds saved in a checkpoint written by training, loaded with
    ``weights_only=True`` (tensors and plain values only: never code); a damaged file, or one
    of another head size, is a :class:`UserError`."""
    import torch

    from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN

    fix = "give the checkpoint.pt a training run wrote into its --workdir"
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing
            warnings.simplefilter("ignore")
            state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        if "unsupported global" not in str(exc).lower():  # no object refused: damaged bytes
            raise UserError(
                f"--from-checkpoint {path} is damaged or not a checkpoint; {fix}"
            ) from None
        raise UserError(
            f"--from-checkpoint {path} holds Python objects besides tensors, refused (loading "
            f"them could run code); {fix}"
        ) from None
    except Exception:  # a damaged zip, a plain pickle, not a checkpoint at all
        raise UserError(f"--from-checkpoint {path} is damaged or not a checkpoint; {fix}") from None
    if not isinstance(state, dict) or not {"model", "step"} <= state.keys():
        raise UserError(f"--from-checkpoint {path} is not a training checkpoint; {fix}")
    model = ShapesMaskRCNN(spec)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines()]
        detail = (lines[1:2] or lines[:1])[0].split(":")[0][:120]  # e.g. size mismatch for X
        raise UserError(
            f"--from-checkpoint {path} does not fit --mask-channels {spec.mask_channels} "
            f"--mask-out-kernel {spec.mask_out_kernel} ({detail}); give the options it was "
            "trained with"
        ) from None
    return model, int(state["step"]), state.get("seconds")


def save_checkpoint(path: Path, record: dict) -> None:
    """``torch.save`` to a temporary file beside ``path``, renamed into place when complete."""
    import torch

    temp = temp_beside(path)
    try:
        torch.save(record, temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    land(temp, path)


def export_together(model: Any, out: Path, info: dict) -> None:
    """Export into a hidden folder inside ``out``, then rename the four files into ``out``
    together (:func:`.files.staged`): a full disk or Ctrl+C leaves ``out`` as it was."""
    from maskrcnn_tutorial.training.export import export

    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        with staged():
            export(model, stage, info)
            for name in EXPORTED:
                temp = temp_beside(out / name)
                (stage / name).replace(temp)
                land(temp, out / name)
    except OSError as exc:
        raise UserError(f"cannot export into {out}: {reason(exc)}; nothing was replaced") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with one error line on bad input)."""
    try:
        args = _parser().parse_args(argv)
        try:
            import torch
        except ModuleNotFoundError:
            raise UserError(TORCH_MISSING) from None
        base = _weights(args.init_from) if args.init_from else None
        if args.from_checkpoint:
            check_readable(args.from_checkpoint, "a checkpoint.pt written by training")
        if args.stop_after and args.stop_after > args.steps:
            raise UserError(f"--stop-after {args.stop_after} is beyond --steps {args.steps}")
        check_folders(args)
        spec = replace(
            Spec(), mask_channels=args.mask_channels, mask_out_kernel=args.mask_out_kernel
        )
        if args.from_checkpoint:
            model, steps, seconds = load_checkpoint(args.from_checkpoint, spec)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from maskrcnn_tutorial.training.train import train

    torch.set_num_threads(2)
    if not args.from_checkpoint:
        model, seconds = train(
            args.steps,
            args.seed,
            args.workdir,
            args.batch,
            args.lr,
            stop_after=args.stop_after,
            spec=spec,
            init=base,
            mask_weight=args.mask_weight,
            mask_jitter=args.mask_jitter,
        )
        steps = min(args.steps, args.stop_after or args.steps)
        save_checkpoint(
            args.workdir / "checkpoint.pt",
            {"step": steps, "seconds": seconds, "model": model.state_dict()},
        )
    stop = f" --stop-after {steps}" if steps < args.steps else ""
    options = [
        f"--init-from {args.init_from}" if args.init_from else "",
        f"--steps {args.steps}{stop} --seed {args.seed} --batch {args.batch} --lr {args.lr}",
        f"--mask-channels {spec.mask_channels} --mask-out-kernel {spec.mask_out_kernel}",
        f"--mask-weight {args.mask_weight:g} --mask-jitter {args.mask_jitter:g}",
        f"--out {args.out}",
    ]
    info = {
        "command": " ".join(["python -m maskrcnn_tutorial.training", *filter(None, options)]),
        "seed": args.seed,
        "steps": steps,
        "seconds": round(seconds) if seconds is not None else None,
        "torch": torch.__version__,
    }
    if args.init_from:
        info["fine_tuned_from"] = base_training(args.init_from)
    try:
        export_together(model, args.out, info)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"exported to {args.out}: {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
