"""``maskrcnn-tutorial train``: fine-tune the shipped ``shapes`` model on your own COCO-format
pictures, export it for OpenCV and register it by name.

Everything that can be checked is checked before the first step: the data (every defect of the
annotation file is one line), the output folder, the model name, that torch is installed and
whether there is a run to resume. The output folder then holds ``training/checkpoint.pt`` (the
run, resumable with ``--resume`` after Ctrl+C) and, when training ends, the exported model
(``<name>.pb``, ``<name>.pbtxt``, ``model.json``, ``parity.npz``) and ``losses.csv``, which land
together. Importing this module does not import torch.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import atomic_write_bytes, check_writable, staged

#: One line that says how to get PyTorch where it is missing (CPU wheels: no GPU libraries).
TORCH_INSTALL = (
    "training needs PyTorch; install the CPU build with: "
    "pip install torch --index-url https://download.pytorch.org/whl/cpu"
)

#: The shipped model every fine-tune starts from (also when coco is the active model).
BASE_MODEL = Path(__file__).resolve().parents[1] / "models" / "shapes" / "shapes.pb"

RUN_FOLDER = "training"


def torch_available() -> bool:
    """Whether PyTorch can be imported (the ``train`` extra)."""
    return importlib.util.find_spec("torch") is not None


class TorchMissing(ImportError):
    """PyTorch is not installed; shown in a notebook as its one-line message, no traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook: what the cell shows
        return [str(self)]


def require_torch() -> None:
    """Stop here with one line on how to install PyTorch when it is missing (notebook 09 runs
    everything before its training part without it)."""
    if not torch_available():
        raise TorchMissing(TORCH_INSTALL)


@dataclass
class TrainRequest:
    """A checked ``train`` command: data, output, name and schedule."""

    images: Path
    annotations: Path
    out: Path
    name: str
    steps: int = 300
    batch: int = 4
    lr: float = 1e-3
    seed: int = 0
    resume: bool = False
    progress: bool = True


def check_out(out: Path, resume: bool) -> Path:
    """The checkpoint path of a run in ``out``; refuses an ``out`` that is no folder, that
    cannot be written, that holds a run when ``resume`` is not asked for, or none when it is."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder; choose a folder")
    checkpoint = out / RUN_FOLDER / "checkpoint.pt"
    if resume and not checkpoint.is_file():
        raise UserError(f"--resume: {out} holds no training run ({checkpoint} is missing)")
    if not resume and checkpoint.exists():
        raise UserError(
            f"--out {out} already holds a training run; add --resume to continue it, "
            "or choose another --out"
        )
    probe = out
    while not probe.exists():  # the nearest folder that exists must take the new one
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise UserError(f"--out {out}: {probe} is not writable; choose another folder")
    return checkpoint


def losses_csv(log: list[dict[str, float]]) -> bytes:
    """The training log as CSV: one row per step."""
    text = io.StringIO()
    if log:
        writer = csv.DictWriter(text, fieldnames=list(log[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(log)
    return text.getvalue().encode()


def run(request: TrainRequest) -> dict:
    """Check, train, export and register; returns the dataset, the training log, the registered
    model's spec and the largest OpenCV-PyTorch differences on the last picture (``parity``,
    see :func:`.finetune.opencv_parity`)."""
    from maskrcnn_tutorial.models import check_model_name, register_model, user_models_dir
    from maskrcnn_tutorial.training.dataset import load_coco

    check_model_name(request.name)
    models = user_models_dir().resolve()
    if models == request.out.resolve() or models in request.out.resolve().parents:
        raise UserError(
            f"--out {request.out} is inside the registered models' folder {models}; choose a "
            "folder elsewhere (the model is copied there at the end)"
        )
    if not torch_available():
        raise UserError(TORCH_INSTALL)
    dataset = load_coco(request.images, request.annotations)
    checkpoint = check_out(request.out, request.resume)
    request.out.mkdir(parents=True, exist_ok=True)
    check_writable(request.out / "model.json")

    import torch

    from maskrcnn_tutorial.training.export import export
    from maskrcnn_tutorial.training.finetune import (
        Schedule,
        fine_tune,
        opencv_parity,
        replace_heads,
    )
    from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN

    torch.set_num_threads(max(1, min(os.cpu_count() or 1, 4)))
    base = ShapesMaskRCNN.from_pb(BASE_MODEL)
    model = replace_heads(base, dataset.classes)
    schedule = Schedule(steps=request.steps, batch=request.batch, lr=request.lr, seed=request.seed)
    print(dataset.summary())
    log = fine_tune(
        model,
        dataset,
        checkpoint.parent,
        schedule,
        resume=request.resume,
        progress=request.progress,
    )
    info = {
        "command": "maskrcnn-tutorial train",
        "fine_tuned_from": "shapes",
        "annotations": str(request.annotations),
        "schedule": asdict(schedule),
        "steps": len(log),
        "seconds": round(log[-1]["seconds"]) if log else 0,
        "torch": torch.__version__,
    }
    with staged():
        export(model, request.out, info, request.name, parity_images=[dataset.image(0)])
        atomic_write_bytes(request.out / "losses.csv", losses_csv(log))
    files = request.out / f"{request.name}.pb", request.out / f"{request.name}.pbtxt"
    parity = opencv_parity(model, *files, dataset.image(len(dataset) - 1))
    spec = register_model(request.out)
    return {"dataset": dataset, "log": log, "spec": spec, "parity": parity}
