"""Models you fine-tuned (``maskrcnn-tutorial train``, notebook 09): each a folder
``<cache>/models/<name>/`` holding ``<name>.pb``, ``<name>.pbtxt`` and a ``model.json`` that lists
its labels and input size. :func:`register_model` puts an exported folder there; the registry
(:mod:`.registry`) finds them by name, and a damaged ``model.json`` is one error line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.models.sources import cache_dir
from maskrcnn_tutorial.models.spec import ModelSpec

BUILT_IN = ("coco", "shapes")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def user_models_dir(cache: Path | None = None) -> Path:
    """Where registered (fine-tuned) models live: ``<cache>/models``."""
    return (cache or cache_dir()) / "models"


def check_model_name(name: str) -> str:
    """``name`` if it can name a registered model, else a :class:`UserError`."""
    if name in BUILT_IN:
        raise UserError(f"the name {name!r} belongs to a built-in model; choose another")
    if not NAME_PATTERN.match(name) or name.endswith("."):
        raise UserError(
            f"model name {name!r} is not usable; use up to 64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return name


def user_spec(folder: Path) -> ModelSpec:
    """The spec of an exported model folder (``model.json`` beside ``<name>.pb`` and
    ``<name>.pbtxt``); a one-line :class:`UserError` for every defect of its ``model.json``."""
    meta_file = folder / "model.json"
    fix = f"export it again, or delete {folder}"
    if not meta_file.is_file():
        raise UserError(f"{folder} holds no model.json; {fix}")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{meta_file} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(meta, dict):
        raise UserError(f"{meta_file} holds no JSON object; {fix}")
    name, labels, size = meta.get("name"), meta.get("labels"), meta.get("input_hw")
    digests = meta.get("sha256")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise UserError(f"{meta_file} has no usable 'name'; {fix}")
    if not (
        isinstance(labels, list)
        and labels
        and all(isinstance(v, str) and v for v in labels)
        and len(set(labels)) == len(labels)
    ):
        raise UserError(f"{meta_file}: 'labels' must list distinct class names; {fix}")
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 4096 for v in size)
    ):
        raise UserError(f"{meta_file}: 'input_hw' must be [height, width] in pixels; {fix}")
    files = (f"{name}.pb", f"{name}.pbtxt")
    if not (isinstance(digests, dict) and all(isinstance(digests.get(f), str) for f in files)):
        raise UserError(f"{meta_file}: 'sha256' must give the checksums of {files}; {fix}")
    return ModelSpec(
        name=name,
        description=f"fine-tuned from shapes ({len(labels)} classes), in {folder}",
        weights=folder / files[0],
        config=folder / files[1],
        labels=tuple(labels),
        input_hw=(size[0], size[1]),
        how_to_get="maskrcnn-tutorial train ... (then it is registered by name)",
        repair=f"train and register it again, or delete {folder}",
        sha256=tuple((f, digests[f]) for f in files),
    )


def user_specs() -> dict[str, ModelSpec]:
    """Every registered model whose ``model.json`` is valid, by name."""
    found = {}
    root = user_models_dir()
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        if folder.is_dir() and (folder / "model.json").is_file():
            try:
                spec = user_spec(folder)
            except UserError:
                continue  # named by get_spec(name), which gives the reason
            if spec.name == folder.name and spec.name not in BUILT_IN:
                found[spec.name] = spec
    return found


def register_model(folder: str | Path) -> ModelSpec:
    """Copy an exported model folder to :func:`user_models_dir` under its ``model.json`` name,
    so ``load_model(name)``, ``segment --model name`` and the app find it. The copy is made
    beside its place and renamed in whole; a model registered before under that name is
    replaced only once the new one is complete."""
    folder = Path(folder)
    spec = user_spec(folder)
    check_model_name(spec.name)
    if not spec.available or spec.damaged_files():
        raise UserError(f"{folder}: the model files do not match model.json; export it again")
    root = user_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / spec.name
    temp = root / f".{spec.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        temp.mkdir()
        for file in (*spec.files, folder / "model.json", folder / "parity.npz"):
            if file.is_file():
                shutil.copy2(file, temp / file.name)
        old = root / f".{spec.name}.old-{uuid.uuid4().hex[:12]}" if final.exists() else None
        if old is not None:
            final.rename(old)
        temp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        raise UserError(f"cannot register the model in {root}: {exc.strerror or exc}") from None
    return user_spec(final)
