"""PyTorch mirror of the exported OpenCV graph: the model that is trained, then exported.

Conventions that make it match OpenCV exactly:

- TF ``SAME`` padding (stride 2 on even sizes pads bottom/right only) via explicit ``F.pad``.
- Box predictors emit TF's (ty, tx, th, tw) order; the graph marks them ``loc_pred_transposed``
  and OpenCV swaps the pairs, so decoding here swaps them too (:func:`tf_to_xy`).
- ``CropAndResize`` with TF semantics: sample ``y1*(H-1) + i*(y2-y1)*(H-1)/(n-1)``, bilinear,
  i.e. ``grid_sample(align_corners=True)``; torchvision's ``roi_align`` would differ. It is the
  differentiable twin of the package's one CropAndResize,
  :func:`maskrcnn_tutorial.explain.roi.crop_and_resize`, and the tests hold the two equal.
- PriorBox anchors are clipped to [0, 1] before decoding (:func:`layers.prior_boxes`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.graph.graphdef import read_consts
from maskrcnn_tutorial.training import layers
from maskrcnn_tutorial.training.spec import Spec


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Pad an NCHW tensor as TF's ``SAME`` padding would (extra row/column at bottom/right)."""
    pads = []
    for size in (x.shape[3], x.shape[2]):
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def tf_to_xy(deltas: torch.Tensor) -> torch.Tensor:
    """Swap (ty, tx, th, tw) groups of the last dimension to (tx, ty, tw, th)."""
    shape = deltas.shape
    return deltas.reshape(*shape[:-1], -1, 2).flip(-1).reshape(shape)


def crop_and_resize(features: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """TF CropAndResize of normalised boxes, grouped per image.

    Args:
        features: (B, C, H, W).
        boxes: (B, R, 4) normalised x1, y1, x2, y2.
    Returns:
        (B * R, C, size, size), image-major.
    """
    b, r = boxes.shape[:2]
    steps = torch.linspace(0, 1, size, dtype=features.dtype)
    xs = boxes[..., 0:1] + (boxes[..., 2:3] - boxes[..., 0:1]) * steps  # (B, R, size)
    ys = boxes[..., 1:2] + (boxes[..., 3:4] - boxes[..., 1:2]) * steps
    grid = torch.stack(
        [
            (2 * xs - 1)[:, :, None, :].expand(b, r, size, size),
            (2 * ys - 1)[:, :, :, None].expand(b, r, size, size),
        ],
        -1,
    )
    out = F.grid_sample(
        features,
        grid.reshape(b, r * size, size, 2),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=True,
    )  # (B, C, R*size, size)
    c = features.shape[1]
    return out.reshape(b, c, r, size, size).permute(0, 2, 1, 3, 4).reshape(b * r, c, size, size)


class ShapesMaskRCNN(nn.Module):
    """The shapes Mask R-CNN; parameter layout converts one-to-one to the graph's Consts."""

    def __init__(self, spec: Spec) -> None:
        super().__init__()
        self.spec = spec
        a, c = spec.num_anchors, spec.num_classes
        chans = [3] + [ch for ch, _ in spec.backbone]
        self.backbone = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, stride)
            for i, (_, stride) in enumerate(spec.backbone)
        )
        feat = chans[-1]
        self.rpn = nn.Conv2d(feat, spec.rpn_channels, 3)
        self.rpn_box = nn.Conv2d(spec.rpn_channels, a * 4, 1)
        self.rpn_cls = nn.Conv2d(spec.rpn_channels, a * 2, 1)
        second = [feat, *spec.second_stage]
        self.second = nn.ModuleList(
            nn.Conv2d(second[i], second[i + 1], 3) for i in range(len(spec.second_stage))
        )
        self.box_fc = nn.Linear(second[-1], c * 4)
        self.cls_fc = nn.Linear(second[-1], c + 1)
        self.mask_conv = nn.Conv2d(second[-1], spec.mask_channels, 3)
        self.mask_out = nn.Conv2d(spec.mask_channels, c, spec.mask_out_kernel)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for m in (self.rpn_box, self.rpn_cls, self.box_fc, self.cls_fc, self.mask_out):
            nn.init.normal_(m.weight, std=0.01)

    # ------------------------------------------------------------------ stages

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Backbone on (B, 3, H, W) RGB pixel values in [0, 255]."""
        x = images * np.float32(2.0 / 255.0) - 1.0
        for conv, (_, stride) in zip(self.backbone, self.spec.backbone, strict=True):
            x = F.relu(conv(same_pad(x, 3, stride)))
        return x

    def rpn_heads(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RPN box deltas (B, P, 4) in TF order and objectness logits (B, P, 2), P = h*w*A."""
        x = torch.clamp(self.rpn(same_pad(feats, 3, 1)), 0, 6)
        b = x.shape[0]
        box = self.rpn_box(x).permute(0, 2, 3, 1).reshape(b, -1, 4)
        cls = self.rpn_cls(x).permute(0, 2, 3, 1).reshape(b, -1, 2)
        return box, cls

    def _second_stage(self, feats: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(crop_and_resize(feats, boxes, self.spec.crop_size), 2, 2)
        for conv in self.second:
            x = F.relu(conv(same_pad(x, 3, 1)))
        return x

    def box_head(
        self, feats: torch.Tensor, boxes: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Class-specific box deltas (N, C*4) in TF order and class logits (N, C+1)."""
        x = self._second_stage(feats, boxes).mean((2, 3))
        return self.box_fc(x), self.cls_fc(x)

    def mask_head(self, feats: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Mask logits (N, C, mask_size, mask_size) for boxes (B, R, 4)."""
        x = self._second_stage(feats, boxes)
        x = F.interpolate(x, size=(self.spec.mask_size,) * 2, mode="bilinear", align_corners=True)
        x = F.relu(self.mask_conv(same_pad(x, 3, 1)))
        return self.mask_out(same_pad(x, self.spec.mask_out_kernel, 1))

    # ------------------------------------------------------------------ inference

    @torch.no_grad()
    def infer(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        """Everything OpenCV computes for one blob (1, 3, H, W), keyed by graph layer name."""
        spec = self.spec
        images = torch.from_numpy(np.ascontiguousarray(blob, np.float32))
        feats = self.features(images)
        box, logits = self.rpn_heads(feats)
        box_xy = tf_to_xy(box)[0].numpy()
        probs = torch.softmax(logits, -1)[0].numpy()
        priors = layers.prior_boxes(
            tuple(feats.shape[2:]), tuple(images.shape[2:]), spec.feature_stride, spec.anchors_hw
        )
        variances = np.tile(np.asarray(spec.variances, np.float32), (len(priors), 1))
        decoded = layers.decode_center_size(box_xy, priors, spec.variances)
        det1 = layers.detection_output(
            decoded,
            probs,
            background=0,
            score_threshold=0.0,
            nms_threshold=spec.rpn_nms,
            top_k=spec.rpn_top_k,
            keep_top_k=spec.proposals,
        )
        proposals = torch.from_numpy(det1[None, :, 3:7].copy())
        crops = crop_and_resize(feats, proposals, spec.crop_size)
        deltas, cls_logits = self.box_head(feats, proposals)
        c = spec.num_classes
        deltas = (tf_to_xy(deltas).reshape(-1, c, 4) * torch.tensor(spec.variances)).numpy()
        scores = torch.softmax(cls_logits, -1)[:, 1:].numpy()
        boxes = layers.decode_center_size(
            deltas.reshape(-1, 4), np.repeat(det1[:, 3:7], c, 0), None
        ).reshape(-1, c, 4)
        final = layers.detection_output(
            boxes,
            scores,
            background=c + 1,
            score_threshold=spec.score_threshold,
            nms_threshold=spec.final_nms,
            top_k=-1,
            keep_top_k=spec.detections,
        )
        masks = torch.sigmoid(self.mask_head(feats, torch.from_numpy(final[None, :, 3:7].copy())))
        return {
            names.RPN_BOX_FLAT: box_xy.reshape(1, -1),
            names.RPN_SCORES_FLAT: probs.reshape(1, -1),
            names.PROPOSALS: np.stack([priors.reshape(-1), variances.reshape(-1)])[None],
            names.DETECTION_OUT: det1[None, None],
            names.CROP: crops.numpy(),
            names.CLASS_SCORES: scores.reshape(1, -1),
            names.BOX_DELTAS: deltas.reshape(1, -1),
            names.DETECTION_OUT_FINAL: final[None, None],
            names.DETECTION_MASKS: masks.numpy(),
        }

    # ------------------------------------------------------------------ export

    def named_layers(self) -> list[tuple[str, nn.Conv2d | nn.Linear]]:
        """Every weighted layer with its graph Const prefix (``<prefix>/weights``, ``/biases``)."""
        return [
            *((names.backbone_conv(i), m) for i, m in enumerate(self.backbone)),
            (names.RPN_CONV, self.rpn),
            (names.RPN_BOX, self.rpn_box),
            (names.RPN_CLASS, self.rpn_cls),
            *((names.second_stage_conv(i), m) for i, m in enumerate(self.second)),
            (names.BOX_FC, self.box_fc),
            (names.CLASS_FC, self.cls_fc),
            (names.MASK_CONV, self.mask_conv),
            (names.MASK_OUT, self.mask_out),
        ]

    @staticmethod
    def _tf_layout(m: nn.Conv2d | nn.Linear) -> tuple[int, ...]:
        """Axis order taking a torch weight to the graph layout (conv HWIO, MatMul [in, out])."""
        return (2, 3, 1, 0) if isinstance(m, nn.Conv2d) else (1, 0)

    def tf_weights(self) -> dict[str, np.ndarray]:
        """Weights under the graph's Const names: conv HWIO, MatMul [in, out], biases [out]."""
        out: dict[str, np.ndarray] = {}
        for name, m in self.named_layers():
            out[f"{name}/weights"] = m.weight.detach().permute(self._tf_layout(m)).numpy()
            out[f"{name}/biases"] = m.bias.detach().numpy()
        return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}

    @torch.no_grad()
    def load_tf_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Set every layer from graph Consts (the inverse of :meth:`tf_weights`).

        Raises:
            ValueError: a layer's weights are missing or have the wrong shape.
        """
        for name, m in self.named_layers():
            self._load_layer(name, m, weights)

    def _load_layer(self, name: str, m: nn.Conv2d | nn.Linear, weights: dict) -> None:
        for key, param, perm in (
            (f"{name}/weights", m.weight, self._tf_layout(m)),
            (f"{name}/biases", m.bias, (0,)),
        ):
            if key not in weights:
                raise ValueError(f"no Const named {key!r} in the weights")
            value = torch.from_numpy(np.asarray(weights[key], np.float32))
            value = value.permute(tuple(int(i) for i in np.argsort(perm)))
            if value.shape != param.shape:
                raise ValueError(
                    f"{key} has shape {tuple(weights[key].shape)}, the model expects "
                    f"{tuple(param.permute(perm).shape)}"
                )
            param.copy_(value)

    @classmethod
    def from_pb(cls, path: Path, spec: Spec | None = None) -> ShapesMaskRCNN:
        """A mirror holding the weights of an exported weights-only GraphDef (``shapes.pb``);
        without ``spec``, the mask head's width and output kernel are read from the weights."""
        weights = read_consts(Path(path).read_bytes())
        model = cls(spec or spec_of(weights))
        model.load_tf_weights(weights)
        return model.eval()

    @torch.no_grad()
    def load_matching(self, weights: dict[str, np.ndarray]) -> list[str]:
        """Set every layer whose weights have this model's shapes (fine-tuning from an export
        with a different head); returns the names of the layers left as initialised."""
        fresh = []
        for name, m in self.named_layers():
            kernel = weights.get(f"{name}/weights")
            expected = tuple(m.weight.permute(self._tf_layout(m)).shape)
            if kernel is None or tuple(kernel.shape) != expected:
                fresh.append(name)
                continue
            self._load_layer(name, m, weights)
        return fresh


def spec_of(weights: dict[str, np.ndarray]) -> Spec:
    """The default :class:`Spec` with the mask head's sizes taken from exported weights."""
    kernel = weights.get(f"{names.MASK_CONV}/weights")
    out = weights.get(f"{names.MASK_OUT}/weights")
    if kernel is None or out is None:
        return Spec()
    return replace(Spec(), mask_channels=int(kernel.shape[3]), mask_out_kernel=int(out.shape[0]))
