"""Where the models' files live and where the real one comes from: the cache directory, the
``coco`` model's spec, its download source with pinned checksums, and the file hash that
checks them.

A leaf module: both the registry (:mod:`.registry`) and the downloader (:mod:`.fetch`) read it,
so neither imports the other.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from maskrcnn_tutorial.models.labels import COCO_LABELS
from maskrcnn_tutorial.models.spec import ModelSpec

CACHE_ENV = "MASKRCNN_TUTORIAL_CACHE"
COCO_NAME = "mask_rcnn_inception_v2_coco_2018_01_28"
CHUNK_SIZE = 1 << 16
"""Bytes read at a time from a download, a tarball member or a hashed file."""


def cache_dir() -> Path:
    """The directory that holds fetched models (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "maskrcnn_tutorial"


def coco_spec(cache: Path | None = None) -> ModelSpec:
    """The real COCO model, expected under ``cache`` (default: :func:`cache_dir`)."""
    folder = (cache or cache_dir()) / COCO_NAME
    return ModelSpec(
        name="coco",
        description="TensorFlow Mask R-CNN Inception V2, trained on MS COCO",
        weights=folder / "frozen_inference_graph.pb",
        config=folder / f"{COCO_NAME}.pbtxt",
        labels=COCO_LABELS,
        input_hw=None,
        how_to_get="maskrcnn-tutorial fetch coco  (offline: fetch coco --from TARBALL)",
        repair="fetch the model again: maskrcnn-tutorial fetch coco",
    )


@dataclass(frozen=True)
class Source:
    """Where the ``coco`` model's files come from, and their pinned sha1 checksums."""

    tarball_url: str
    tarball_sha1: str
    member: str
    """Path of ``frozen_inference_graph.pb`` inside the tarball."""
    member_sha1: str
    config_url: str
    config_sha1s: frozenset[str]
    """Every accepted revision of the text graph."""

    @property
    def tarball_name(self) -> str:
        """The tarball's file name, as in its URL."""
        return self.tarball_url.rsplit("/", 1)[-1]


COCO_SOURCE = Source(
    tarball_url=(f"http://download.tensorflow.org/models/object_detection/{COCO_NAME}.tar.gz"),
    tarball_sha1="f8a920756744d0f7ee812b3ec2474979f74ab40c",
    member=f"{COCO_NAME}/frozen_inference_graph.pb",
    member_sha1="c8adff66a1e23e607f57cf1a7cfabad0faa371f9",
    config_url=(
        f"https://github.com/opencv/opencv_extra/raw/master/testdata/dnn/{COCO_NAME}.pbtxt"
    ),
    config_sha1s=frozenset(
        {
            "31208559adc3c8ae210db9961e89558b6715ffc8",  # current revision
            "1a78964949c5daabcae24a13530e63c0a00346f2",  # LearnOpenCV-era revision
        }
    ),
)


def sha1_file(path: Path) -> str:
    """The hex sha1 of the file at ``path``, read in chunks."""
    digest = hashlib.sha1()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()
