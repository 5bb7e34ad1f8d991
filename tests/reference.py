"""Where the tests find ``../shared/reference`` (read in place, never copied into the project)."""

from __future__ import annotations

from pathlib import Path

from tests.requires import missing

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
COCO_PBTXT = REFERENCE / "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt"


def coco_text_graph() -> Path:
    """The real model's text graph from ``../shared/reference``; where absent, skips the test
    (fails it under ``$MASKRCNN_TUTORIAL_STRICT``: :mod:`tests.requires`)."""
    if not COCO_PBTXT.is_file():
        missing(f"the real text graph is not at {COCO_PBTXT} (../shared/reference is absent)")
    return COCO_PBTXT


def standin_dir(root: Path) -> Path:
    """The stand-in of the real network (``python -m maskrcnn_tutorial.models.standin``) built
    from the real text graph, under ``root``; reused while its inputs are unchanged (keyed by a
    hash of the manifest, the generator's source and the graph). OpenCV 4.x and 5.x build the
    same bytes (``test_standin``'s command-line test compares a build with this one, and under
    ``make test`` this one may come from the other OpenCV), so the OpenCV 4 pass reuses the
    build of the 5.x pass. ``make test`` runs its suites side by side: a lock beside the folder
    lets one of them build it while the others wait for it."""
    import hashlib

    from filelock import FileLock

    from maskrcnn_tutorial.models import standin

    graph = coco_text_graph()
    package = Path(standin.__file__).parent
    digest = hashlib.sha1(graph.read_bytes())
    for source in sorted(package.glob("*.py")) + [package / "manifest.json"]:
        digest.update(source.read_bytes())
    folder = root / digest.hexdigest()[:16]
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / f"{folder.name}.lock"):
        if not (folder / standin.WEIGHTS_NAME).is_file():
            standin.write_standin(folder, graph)
    return folder


if __name__ == "__main__":  # make standin-cache: built while make test's installs run
    import os

    import maskrcnn_tutorial.inference  # noqa: F401 (what the build imports, before pip runs)

    root = Path(os.environ.get("MASKRCNN_TUTORIAL_STANDIN_CACHE", ".venv/standin"))
    if COCO_PBTXT.is_file():
        print(f"the stand-in is in {standin_dir(root)}")
    else:
        print(f"note: no stand-in built: the real text graph is not at {COCO_PBTXT}")
