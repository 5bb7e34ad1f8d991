"""What a model is made of: its files, its class names and its input size.

Kept apart from :mod:`.models` (the registry) and :mod:`.inference` (loading and running), so
both can use it without importing each other.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's files are and how to read its outputs."""

    name: str
    description: str
    weights: Path
    config: Path
    labels: tuple[str, ...]
    input_hw: tuple[int, int] | None
    """(height, width) the blob is resized to; ``None`` feeds the frame at its own size."""
    how_to_get: str
    repair: str = "fetch the model again"
    """What to do when its files are damaged (``shapes`` ships inside the package)."""
    sha256: tuple[tuple[str, str], ...] = ()
    """(file name, sha256) of files checked at every load; empty: not checked."""

    @property
    def available(self) -> bool:
        """True when both files are in place."""
        return self.weights.is_file() and self.config.is_file()

    @property
    def files(self) -> tuple[Path, Path]:
        return (self.weights, self.config)

    def damaged_files(self) -> list[str]:
        """Names of the files whose sha256 differs from :attr:`sha256` (a flipped byte in a
        weights file would otherwise only show as fewer, or no, detections)."""
        folder = self.weights.parent
        return [
            name
            for name, digest in self.sha256
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest
        ]
