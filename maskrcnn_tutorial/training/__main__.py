"""Train and export the shapes model.

Reproduce the shipped model (5000 steps took 69 minutes on this project's shared 2-core CPU)::

    python -m maskrcnn_tutorial.training --steps 5000 --seed 0 --batch 8 --lr 0.002 \\
        --out maskrcnn_tutorial/models/shapes --workdir /tmp/shapes-run

Writes ``shapes.pbtxt``, ``shapes.pb``, ``model.json`` and ``parity.npz`` into ``--out``
(``MODEL_CARD.md`` is maintained by hand). ``--from-checkpoint`` exports a saved checkpoint
without training; ``--stop-after N`` ends training after N steps of the ``--steps`` schedule.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from maskrcnn_tutorial.training.export import export
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN
from maskrcnn_tutorial.training.spec import Spec
from maskrcnn_tutorial.training.train import train


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m maskrcnn_tutorial.training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="end after this many steps of the --steps schedule (default: all of them)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
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
    args = parser.parse_args(argv)
    torch.set_num_threads(2)

    if args.from_checkpoint:
        state = torch.load(args.from_checkpoint)
        model = ShapesMaskRCNN(Spec())
        model.load_state_dict(state["model"])
        seconds, steps = state.get("seconds"), state["step"]
    else:
        model, seconds = train(
            args.steps, args.seed, args.workdir, args.batch, args.lr, stop_after=args.stop_after
        )
        steps = min(args.steps, args.stop_after or args.steps)
        torch.save(
            {"step": steps, "seconds": seconds, "model": model.state_dict()},
            args.workdir / "checkpoint.pt",
        )
    stop = f" --stop-after {steps}" if steps < args.steps else ""
    command = (
        f"python -m maskrcnn_tutorial.training --steps {args.steps}{stop} --seed {args.seed} "
        f"--batch {args.batch} --lr {args.lr} --out {args.out}"
    )
    info = {
        "command": command,
        "seed": args.seed,
        "steps": steps,
        "seconds": round(seconds) if seconds is not None else None,
        "torch": torch.__version__,
    }
    export(model, args.out, info)
    print(f"exported to {args.out}: {info}")


if __name__ == "__main__":
    main()
