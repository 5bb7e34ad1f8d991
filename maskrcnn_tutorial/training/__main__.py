"""Train and export the shapes model.

Reproduce the shipped model in two stages (the model card gives the times)::

    python -m maskrcnn_tutorial.training --steps 5000 --seed 0 --batch 8 --lr 0.002 \\
        --mask-channels 24 --out /tmp/shapes-stage1
    python -m maskrcnn_tutorial.training --init-from /tmp/shapes-stage1/shapes.pb \\
        --steps 6000 --seed 3 --lr 0.001 --mask-weight 2 --mask-jitter 0.05 \\
        --out maskrcnn_tutorial/models/shapes

Writes ``shapes.pbtxt``, ``shapes.pb``, ``model.json`` and ``parity.npz`` into ``--out``
(``MODEL_CARD.md`` is maintained by hand). ``--from-checkpoint`` exports a saved checkpoint
without training; ``--stop-after N`` ends training after N steps of the ``--steps`` schedule.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from maskrcnn_tutorial.apps.cli.args import Parser, float_range, int_range
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.graph.graphdef import read_consts
from maskrcnn_tutorial.io.files import check_readable
from maskrcnn_tutorial.training.export import export
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN
from maskrcnn_tutorial.training.spec import Spec
from maskrcnn_tutorial.training.train import train


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
    parser.add_argument("--out", type=Path, default=Path("maskrcnn_tutorial/models/shapes"))
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


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with one error line on bad input)."""
    try:
        args = _parser().parse_args(argv)
        base = _weights(args.init_from) if args.init_from else None
        if args.from_checkpoint:
            check_readable(args.from_checkpoint, "a checkpoint.pt written by training")
        if args.stop_after and args.stop_after > args.steps:
            raise UserError(f"--stop-after {args.stop_after} is beyond --steps {args.steps}")
        for option, folder in (("--out", args.out), ("--workdir", args.workdir)):
            if folder.exists() and not folder.is_dir():  # found now, not after hours of training
                raise UserError(f"{option} {folder} exists and is not a folder; choose a folder")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    spec = replace(Spec(), mask_channels=args.mask_channels, mask_out_kernel=args.mask_out_kernel)

    if args.from_checkpoint:
        state = torch.load(args.from_checkpoint)
        model = ShapesMaskRCNN(spec)
        model.load_state_dict(state["model"])
        seconds, steps = state.get("seconds"), state["step"]
    else:
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
        torch.save(
            {"step": steps, "seconds": seconds, "model": model.state_dict()},
            args.workdir / "checkpoint.pt",
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
    export(model, args.out, info)
    print(f"exported to {args.out}: {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
