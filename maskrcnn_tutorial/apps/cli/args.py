"""Argument types of the command line: checked while parsing, so a bad value is one error line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import InputSize, parse_input_size
from maskrcnn_tutorial.io.files import check_readable
from maskrcnn_tutorial.models.user import check_model_name

#: Highest camera number accepted (OpenCV reads larger numbers as a backend and crashes on some).
MAX_CAMERA = 99
#: Largest seed or frame count (numpy's seeds and OpenCV's counts are 64-bit).
MAX_INT = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2, like every error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message}; see '{self.prog} --help'")


def _number_range(convert: Callable[[str], Any], what: str, low: Any, high: Any) -> Callable:
    """argparse type: ``convert(text)``, refused unless in [low, high] (``what`` names it)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None
        if not low <= value <= high:  # also refuses nan
            shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (low, high)]
            raise argparse.ArgumentTypeError(
                f"must be between {shown[0]} and {shown[1]}, got {text}"
            )
        return value

    parse.__name__ = what
    return parse


def int_range(low: int, high: int) -> Callable[[str], int]:
    """argparse type for a whole number in [low, high], checked while parsing."""
    return _number_range(int, "whole number", low, high)


def float_range(low: float, high: float) -> Callable[[str], float]:
    """argparse type for a number in [low, high], checked while parsing."""
    return _number_range(float, "number", low, high)


#: argparse type for a value in [0, 1] (a threshold, ``--alpha``): errors name the option.
unit_interval = float_range(0.0, 1.0)


def input_size(text: str) -> InputSize:
    """argparse type for ``--input-size`` (see :func:`inference.parse_input_size`)."""
    try:
        return parse_input_size(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


INPUT_SIZE_HELP = (
    "how the frame is sized for the network: native (default: coco takes it as it is, as the "
    "LearnOpenCV tutorial does; shapes resizes to 256x256), asis, N (smaller side N pixels, "
    "as the TensorFlow model's own 800) or WxH (as OpenCV's sample's 800x800)"
)


def folder(text: str) -> Path:
    """argparse type: an existing folder."""
    path = Path(text)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise argparse.ArgumentTypeError(f"{text} {what}; give the folder of the pictures")
    return path


def annotation_file(text: str) -> Path:
    """argparse type: a readable, non-empty file (its content is checked before training)."""
    try:
        return check_readable(Path(text), "a COCO annotation file (.json)")
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def model_name(text: str) -> str:
    """argparse type: a name a fine-tuned model can be registered under."""
    try:
        return check_model_name(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
