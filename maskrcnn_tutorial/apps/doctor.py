"""``maskrcnn-tutorial doctor``: is this laptop ready for the workshop? One command, one answer.

Each check runs something real (imports the packages, loads the embedded model and segments the
lead scene, builds the classroom app, reads the sample photos) rather than looking at version
strings alone. The real COCO model is checked where it is installed (the notebooks and the app
then use it) or where ``--coco`` asks for it; a laptop without it passes and uses ``shapes``.
Every line is plain ASCII, so it prints on any console (a Windows one in cp1252 too).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

from maskrcnn_tutorial import models
from maskrcnn_tutorial.postprocess import postprocess
from maskrcnn_tutorial.synthetic import samples
from maskrcnn_tutorial.synthetic.scenes import make_scene

#: The Python version pyproject.toml asks for (a copied venv may hold another one).
MIN_PYTHON = (3, 10)
#: Packages the notebooks and the app import (module name, what it is for).
PACKAGES = (
    ("numpy", "arrays"),
    ("ipywidgets", "the notebooks' sliders"),
    ("matplotlib", "the notebooks' pictures"),
    ("pycocotools", "notebook 08's COCO AP"),
    ("jupyterlab", "the notebooks (JupyterLab)"),
    ("voila", "the classroom app"),
)
#: How to install what a learner needs, on any system (no make, no POSIX paths).
INSTALL_FIX = (
    'python -m pip install -e ".[notebooks]" in a clone, '
    'or python -m pip install "maskrcnn-tutorial[notebooks]"'
)
#: Free disk wanted where models are cached: the coco tarball and its graph (about 200 MB
#: unpacked and staged) with room to spare.
MIN_FREE_DISK = 500 * 2**20
#: Available memory wanted: the notebooks' kernel and the app's (about 200 MB each with a
#: model loaded), JupyterLab, a browser; the coco model needs about 1 GB more while it runs.
MIN_MEMORY = 1024 * 2**20


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
    if tuple(sys.version_info[:2]) < MIN_PYTHON:
        raise RuntimeError(f"Python {sys.version.split()[0]} is too old")
    return f"Python {sys.version.split()[0]} ({sys.platform})"


def _opencv() -> str:
    major = int(cv2.__version__.split(".")[0])
    if major not in (4, 5):
        raise RuntimeError(f"OpenCV {cv2.__version__} is neither 4.x nor 5.x")
    if not hasattr(cv2.dnn, "readNetFromTensorflow"):  # OpenCV 5.1 dropped it
        raise RuntimeError(f"OpenCV {cv2.__version__} cannot read TensorFlow graphs")
    classic = hasattr(cv2.dnn, "ENGINE_CLASSIC")
    engine = "classic DNN engine, asked for by name" if classic else "classic DNN engine"
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
    for name in samples.FILE_PHOTOS:
        samples.PHOTOS[name]()
    if not samples.PEDESTRIAN_CLIP.is_file():
        raise FileNotFoundError(f"{samples.PEDESTRIAN_CLIP} is missing")
    return f"{len(samples.FILE_PHOTOS)} photos and a clip in {samples.DATA}"


def _kernel() -> str:
    """The kernel the notebooks ask for (``python3``) exists and its Python imports this package."""
    importlib.import_module("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    python = spec.argv[0]
    if python in ("python", "python3", "{python}"):  # ipykernel's own spec: this interpreter
        python = sys.executable
    if not Path(python).exists() and shutil.which(python) is None:
        raise FileNotFoundError(f"the python3 kernel runs {python}, which does not exist")
    # a kernel registered from another environment would run the notebooks without the package
    probe = subprocess.run(
        [python, "-c", "import maskrcnn_tutorial"], capture_output=True, text=True, timeout=120
    )
    if probe.returncode != 0:
        raise RuntimeError(f"the python3 kernel runs {python}, which cannot import this package")
    return f"python3 kernel ({python})"


def _app() -> str:
    """Voila is importable and the app builds (one forward pass on the first sample)."""
    importlib.import_module("voila")
    from maskrcnn_tutorial.apps.app import build_app

    with contextlib.redirect_stdout(io.StringIO()):  # outside a kernel, widgets print escapes
        app = build_app(models.load_model("shapes"))
    if app.explorer is None:
        raise RuntimeError("the app built no explorer")
    return f"Voila installed; the app builds ({app.image_name})"


def free_memory() -> int | None:
    """Bytes of memory available to a new program, or None where it cannot be read."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    if sys.platform == "win32":

        class MemoryStatus(ctypes.Structure):
            _fields_ = [
                ("dwLength", ctypes.c_ulong),
                ("dwMemoryLoad", ctypes.c_ulong),
                ("ullTotalPhys", ctypes.c_ulonglong),
                ("ullAvailPhys", ctypes.c_ulonglong),
                ("ullTotalPageFile", ctypes.c_ulonglong),
                ("ullAvailPageFile", ctypes.c_ulonglong),
                ("ullTotalVirtual", ctypes.c_ulonglong),
                ("ullAvailVirtual", ctypes.c_ulonglong),
                ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
            ]

        status = MemoryStatus(dwLength=ctypes.sizeof(MemoryStatus))
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullAvailPhys)
        return None
    try:  # macOS and other POSIX systems: the total, the best the standard library offers
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _memory() -> str:
    available = free_memory()
    if available is None:
        return "not measurable here; about 1 GB free is enough for shapes"
    if available < MIN_MEMORY:
        raise RuntimeError(f"only {available / 2**30:.1f} GB free, under {MIN_MEMORY // 2**30} GB")
    return f"{available / 2**30:.1f} GB free"


def _disk() -> str:
    folder = models.cache_dir()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_DISK:
        raise RuntimeError(f"only {free // 2**20} MB free in {existing}")
    return f"{free / 2**30:.1f} GB free in {existing}"


def _coco() -> str:
    spec = models.get_spec("coco")
    if not spec.available:
        raise FileNotFoundError("the coco model is not installed")
    if not models.is_published_coco(spec.weights):
        raise RuntimeError(
            f"{spec.weights} is not the published file (a stand-in or a damaged copy)"
        )
    models.load_model("coco")
    return f"the published model, installed in {spec.weights.parent}, loads"


def run_checks(need_coco: bool = False) -> list[Check]:
    """Every check, in order; the real COCO model is checked when it is installed (the default
    model then) or when ``need_coco`` asks for it."""
    checks = [
        _run("python", _python, f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer"),
        _run("opencv", _opencv, 'python -m pip install "opencv-python-headless>=4.5,<5.1"'),
        *(_run(module, _package(module), f"{INSTALL_FIX} (for {why})") for module, why in PACKAGES),
        _run("shapes model", _shapes_model, f"reinstall the package: {INSTALL_FIX}"),
        _run("sample photos", _photos, f"reinstall the package: {INSTALL_FIX}"),
        _run("notebook kernel", _kernel, f"{INSTALL_FIX}, then python -m ipykernel install --user"),
        _run("classroom app", _app, INSTALL_FIX),
        _run("disk", _disk, "free some disk space (the coco model needs about 200 MB)"),
        _run("memory", _memory, "close other programs (browser tabs) before the session"),
    ]
    if need_coco or models.get_spec("coco").available:
        fix = (
            "maskrcnn-tutorial fetch coco --from TARBALL --config PBTXT (see WORKSHOP.md)"
            if need_coco
            else "maskrcnn-tutorial fetch coco again, or delete the folder above to use shapes"
        )
        checks.append(_run("coco model", _coco, fix))
    return checks


def model_in_use() -> str:
    """Which model the notebooks and the app will use here, and why, in one line."""
    name = models.default_model_name()
    if os.environ.get(models.MODEL_ENV):
        why = f"${models.MODEL_ENV} names it"
    elif name == "coco":
        why = "the real COCO model is installed: the notebooks show real photos"
    else:
        why = "the embedded model; coco is not installed, 'maskrcnn-tutorial fetch coco' adds it"
    return f"the notebooks and the app will use '{name}': {why}"


def report(checks: list[Check]) -> str:
    """One line per check: ``ok`` or ``FAIL``, its name and what it found."""
    return "\n".join(f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<15} {c.detail}" for c in checks)
