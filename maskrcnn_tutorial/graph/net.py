"""Loading a text graph and its weights into an OpenCV DNN network.

On OpenCV 5.x the default (new) engine only exposes a graph's last output and returns wrong
tensors for the others, so :func:`read_net` asks for the classic engine where it exists.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskrcnn_tutorial.errors import UserError


def read_net(
    weights: str | np.ndarray,
    config: str | np.ndarray,
    what: str | None = None,
    fix: str = "fetch the model again",
) -> cv2.dnn.Net:
    """``readNetFromTensorflow`` with the classic engine on OpenCV 5.x (see module docstring).

    ``weights`` and ``config`` are both file paths or both uint8 buffers of the files'
    bytes; ``what`` names them in the error message (default: the two paths), ``fix`` says
    what to do when they cannot be read (the model's :attr:`ModelSpec.repair`).
    """
    try:
        if hasattr(cv2.dnn, "ENGINE_CLASSIC"):
            return cv2.dnn.readNetFromTensorflow(weights, config, engine=cv2.dnn.ENGINE_CLASSIC)
        return cv2.dnn.readNetFromTensorflow(weights, config)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
        what = what or f"model files {weights} and {config}"
        raise UserError(
            f"cannot load {what} ({reason}); they are missing or corrupt: {fix}"
        ) from None
