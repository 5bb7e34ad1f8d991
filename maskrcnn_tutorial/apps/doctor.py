"""``maskrcnn-tutorial doctor``: is this laptop ready for the workshop? One command, one answer.

Each check runs something real (imports the packages, loads the embedded model and segments the
lead scene, reads the sample photos) rather than looking at version strings alone.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

import cv2

from maskrcnn_tutorial import models
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic import samples
from maskrcnn_tutorial.synthetic.scenes import make_scene

#: Packages the notebooks and the app import (module name, what it is for).
PACKAGES = (
    ("numpy", "arrays"),
    ("ipywidgets", "the notebooks' sliders"),
    ("matplotlib", "the notebooks' pictures"),
    ("pycocotools", "notebook 08's COCO AP"),
    ("jupyterlab", "the notebooks (make lab)"),
    ("voila", "the classroom app"),
)


@dataclass(frozen=True)
class Check:
    """One check's name, whether it passed, and what it found (or how to fix it)."""

    name: str
    ok: bool
    detail: str


def _run(name: str, probe: Callable[[], str], fix: str) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:  # a check reports every failure; it must never crash the doctor
        return Check(name, False, f"{type(exc).__name__}: {exc}; fix: {fix}")


def _python() -> str:
    minimum = (3, 10)  # what pyproject.toml asks for; a copied venv may hold another Python
    if tuple(sys.version_info[:2]) < minimum:
        raise RuntimeError(f"Python {sys.version.split()[0]} is too old")
    return f"Python {sys.version.split()[0]}"


def _opencv() -> str:
    major = int(cv2.__version__.split(".")[0])
    if major not in (4, 5):
        raise RuntimeError(f"OpenCV {cv2.__version__} is neither 4.x nor 5.x")
    classic = hasattr(cv2.dnn, "ENGINE_CLASSIC")
    engine = "classic engine asked for" if classic else "classic engine, the only one"
    return f"OpenCV {cv2.__version__} ({engine})"


def _package(module: str) -> Callable[[], str]:
    def probe() -> str:
        imported = importlib.import_module(module)
        return f"{module} {getattr(imported, '__version__', '')}".strip()

    return probe


def _shapes_model() -> str:
    model = models.load_model("shapes")
    scene = make_scene(samples.SCENE_SEEDS[0])
    dets = postprocess(model.forward(scene.image), labels=model.labels)
    if sorted(dets.labels) != sorted(model.labels[c] for c in scene.class_ids):
        raise RuntimeError(f"the lead scene gave {dets.labels}, not its {len(scene.class_ids)}")
    return f"segments the lead scene correctly ({len(dets)} objects)"


def _photos() -> str:
    for name in ("fruits", "basketball", "football"):
        samples.PHOTOS[name]()
    if not samples.PEDESTRIAN_CLIP.is_file():
        raise FileNotFoundError(samples.PEDESTRIAN_CLIP)
    return f"3 photos and a clip in {samples.DATA}"


def _coco() -> str:
    spec = models.get_spec("coco")
    if not spec.available:
        raise FileNotFoundError("the coco model is not installed")
    models.load_model("coco")
    return "installed and loads"


def run_checks(need_coco: bool = False) -> list[Check]:
    """Every check, in order; ``need_coco`` adds the real COCO model."""
    checks = [
        _run("python", _python, "install Python 3.10 or newer"),
        _run("opencv", _opencv, "pip install opencv-python-headless"),
        *(
            _run(module, _package(module), f"pip install -e '.[notebooks]' (for {why})")
            for module, why in PACKAGES
        ),
        _run("shapes model", _shapes_model, "reinstall the package: pip install -e ."),
        _run("sample photos", _photos, "use a full copy of the repository (data/ folder)"),
    ]
    if need_coco:
        fix = "maskrcnn-tutorial fetch coco --from TARBALL --config PBTXT (see WORKSHOP.md)"
        checks.append(_run("coco model", _coco, fix))
    return checks


def report(checks: list[Check]) -> str:
    """One line per check: ``ok`` or ``FAIL``, its name and what it found."""
    return "\n".join(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<14} {c.detail}" for c in checks)
