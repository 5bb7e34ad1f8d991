"""Shared test helpers: raw network outputs built by hand, so post-processing and drawing are
tested without running a network."""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.inference import Model, RawOutputs
from maskrcnn_tutorial.models import coco_spec, load_model
from maskrcnn_tutorial.models.fetch import COCO_SOURCE, fetch_coco, sha1_file
from maskrcnn_tutorial.models.standin import GRAPH_NAME, WEIGHTS_NAME
from maskrcnn_tutorial.synthetic.scenes import make_clip, make_scene
from tests.reference import standin_dir

# pytester runs pytest in process on probe tests (tests/test_requires.py)
pytest_plugins = ["pytester"]


def make_raw(
    rows: list[list[float]],
    masks: np.ndarray | None = None,
    image_shape: tuple[int, int] = (100, 200),
    n: int = 100,
    classes: int = 3,
) -> RawOutputs:
    """RawOutputs whose first rows are ``rows`` ([class_id, score, x1, y1, x2, y2]) and the rest
    zero, as DetectionOutput pads them. ``masks`` defaults to all-ones (every pixel in)."""
    final = np.zeros((1, 1, n, 7), np.float32)
    for i, row in enumerate(rows):
        final[0, 0, i, 1:] = row
    if masks is None:
        masks = np.ones((n, classes, 15, 15), np.float32)
    return RawOutputs(
        detection_out_final=final,
        detection_masks=masks.astype(np.float32),
        detection_out=np.zeros((1, 1, n, 7), np.float32),
        blob_shape=(1, 3, *image_shape),
        image_shape=image_shape,
        time_ms=1.0,
    )


#: Test modules whose tests never call OpenCV in the test process, so their results cannot depend
#: on its version: ``make unit-cv4`` (the suite again on OpenCV 4) leaves them out, and runs every
#: other test, marked ``opencv`` here. Checked by running these modules with every cv2 function
#: made to raise while a test runs. A module that reaches cv2 at all (a forward pass, image or
#: video files, drawing, ``cv2.resize`` inside post-processing, synthetic scenes drawn for
#: training) stays off this list; new modules are on OpenCV 4 too until someone adds them here.
NO_OPENCV = {
    "test_boxes.py": "box arithmetic and IoU in numpy",
    "test_environment.py": "environment.yml against pyproject.toml",
    "test_fetch.py": "downloads, checksums and tarballs from a local HTTP server",
    "test_figures.py": "matplotlib diagrams of the explain package",
    "test_graph.py": "the shapes text graph written by the training package",
    "test_layout.py": "the package's import graph and public names",
    "test_makefile.py": "make -n",
    "test_notebook_structure.py": "the notebooks' JSON",
    "test_requires.py": "the CI switch, on probe tests",
    "test_server.py": "the Voila command line, its signals and kernels (pages run in children)",
    "test_textgraph.py": "the text-graph reader",
    "test_workshop.py": "the workshop guide's links into the notebooks",
}
#: Test modules that do reach OpenCV, but only in passing, in the child processes they start, to
#: test something OpenCV's version does not change; ``make unit-cv4`` leaves them out as well.
#: What their children run is run on OpenCV 4 by other modules: ``segment`` by test_cli and
#: test_outputs, notebook 00 top to bottom (its outputs compared by nbval) by test_nbval_alone,
#: the app by test_app.
OPENCV_IN_PASSING = {
    "test_packaging.py": "the wheel and the sdist: what they carry, and an install from them",
    "test_portability.py": "a Windows-like standard library (POSIX-only names removed, cp1252)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test ``opencv`` unless its module is in :data:`NO_OPENCV` or
    :data:`OPENCV_IN_PASSING`."""
    here = Path(__file__).parent
    left_out = NO_OPENCV.keys() | OPENCV_IN_PASSING.keys()
    stale = [name for name in sorted(left_out) if not (here / name).is_file()]
    if stale:
        raise pytest.UsageError(f"tests/conftest.py names missing modules: {stale}")
    for item in items:
        if Path(str(item.fspath)).name not in left_out:
            item.add_marker(pytest.mark.opencv)


def pytest_report_header() -> str:
    """Which OpenCV the run uses (``make test`` runs the suite on 5.x and again on 4.x)."""
    engine = "classic engine selected" if hasattr(cv2.dnn, "ENGINE_CLASSIC") else "one engine"
    return f"OpenCV {cv2.__version__} ({engine})"


@pytest.fixture
def raw_two():
    """Two detections in a 100x200 image: class 1 at the left (score .9), class 2 (score .6)."""
    masks = np.zeros((100, 3, 15, 15), np.float32)
    masks[0, 1, 3:12, 3:12] = 0.9  # a filled square in the detected class's slice
    masks[0, 2] = 1.0  # another class's slice: must be ignored
    masks[1, 2, :, :] = np.linspace(0, 1, 15)[None, :]  # a left-to-right ramp
    rows = [[1, 0.9, 0.05, 0.1, 0.45, 0.8], [2, 0.6, 0.5, 0.2, 0.95, 0.9]]
    return make_raw(rows, masks)


@pytest.fixture(scope="session")
def standin(tmp_path_factory) -> Path:
    """A folder with the stand-in of the real network: ``frozen_inference_graph.pb`` and the
    real text graph. Built once per session, or reused from ``$MASKRCNN_TUTORIAL_STANDIN_CACHE``
    (``make test`` keeps it in ``.venv``); skipped where the real text graph is absent."""
    root = os.environ.get("MASKRCNN_TUTORIAL_STANDIN_CACHE")
    return standin_dir(Path(root) if root else tmp_path_factory.mktemp("standin"))


@pytest.fixture(scope="session")
def shapes_model() -> Model:
    """The embedded ``shapes`` model, loaded once for the session: tests that change it (its
    methods, its input size) load their own or use ``monkeypatch``, which undoes the change."""
    return load_model("shapes")


@pytest.fixture(scope="session")
def coco_standin_model(standin) -> Model:
    """The stand-in of the real network, loaded once as the fetched ``coco`` model would be."""
    spec = replace(coco_spec(), weights=standin / WEIGHTS_NAME, config=standin / GRAPH_NAME)
    return Model.load(spec)


@pytest.fixture(scope="session")
def tarball(standin, tmp_path_factory) -> Path:
    """The stand-in packed as the TensorFlow tarball is (one folder, the .pb inside)."""
    path = tmp_path_factory.mktemp("download") / COCO_SOURCE.tarball_name
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        archive.add(standin / WEIGHTS_NAME, arcname=COCO_SOURCE.member)
        info = tarfile.TarInfo(COCO_SOURCE.member.rsplit("/", 1)[0] + "/pipeline.config")
        data = b"model {}\n"
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="session")
def standin_source(standin, tarball):
    """The shipped source with the stand-in's checksums (the shipped table stays pinned)."""
    return replace(
        COCO_SOURCE,
        tarball_sha1=sha1_file(tarball),
        member_sha1=sha1_file(standin / WEIGHTS_NAME),
        config_sha1s=frozenset({sha1_file(standin / GRAPH_NAME)}),
    )


@pytest.fixture(scope="session")
def coco_cache(standin, tarball, standin_source, tmp_path_factory) -> Path:
    """A model cache with the stand-in installed as ``coco`` by ``fetch coco --from``."""
    cache = tmp_path_factory.mktemp("coco-cache")
    fetch_coco(
        cache,
        tarball=tarball,
        config=standin / GRAPH_NAME,
        source=standin_source,
        progress=False,
    )
    return cache


@pytest.fixture(autouse=True)
def empty_model_cache(tmp_path_factory, monkeypatch):
    """Every test sees an empty model cache, whatever the developer has fetched."""
    cache = tmp_path_factory.mktemp("model-cache")
    monkeypatch.setenv("MASKRCNN_TUTORIAL_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def scene_file(tmp_path_factory):
    """A synthetic scene as a PNG file."""
    path = tmp_path_factory.mktemp("input") / "scene.png"
    cv2.imwrite(str(path), make_scene(1_000_123).image)
    return path


def write_clip(path: Path, seed: int, frames: int) -> Path:
    """An MJPG clip of ``frames`` synthetic scenes (:func:`make_clip`) at ``path``."""
    images = [s.image for s in make_clip(seed, frames)]
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (width, height))
    for image in images:
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="session")
def clip_file(tmp_path_factory):
    """A four-frame MJPG clip of synthetic scenes."""
    return write_clip(tmp_path_factory.mktemp("input") / "clip.avi", 1_000_007, 4)
