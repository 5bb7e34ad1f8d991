"""Your own pictures: a folder of images with COCO-format instance annotations.

This is the format CVAT, Label Studio, Roboflow and ``pycocotools`` write: one JSON file with
``images`` (``id``, ``file_name``, ``width``, ``height``), ``categories`` (``id``, ``name``) and
``annotations`` (``image_id``, ``category_id`` and a ``segmentation`` that is a list of polygons
``[x1, y1, x2, y2, ...]`` in pixels, or run-length encoded, compressed or not). :func:`load_coco`
reads it and refuses every defect a hand-made file has with one line that names the problem and
the fix; :func:`write_scenes` writes synthetic scenes in the same format, so the worked example
takes exactly the path your own data takes. No torch here: reading and checking data needs none.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.io.files import atomic_write_bytes, check_readable, staged
from maskrcnn_tutorial.synthetic.scenes import ALL_SHAPES, make_scene

#: How far (pixels) a polygon point may lie outside the picture: labelling tools put points on
#: the border at ``width`` or ``height``, and rounding moves them a little further.
EDGE_TOLERANCE = 1.0


@dataclass
class Instance:
    """One annotated object: its class (0-based into :attr:`Dataset.classes`) and its mask
    as COCO RLE (decoded on demand, so a large dataset stays small in memory)."""

    class_id: int
    rle: dict
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 of the mask, x2/y2 exclusive
    area: int


@dataclass
class Sample:
    """One picture of the dataset and its objects."""

    image_id: int
    file: Path
    width: int
    height: int
    instances: list[Instance] = field(default_factory=list)


@dataclass
class Dataset:
    """A checked COCO-format dataset: class names, and pictures with their objects."""

    annotations: Path
    classes: tuple[str, ...]
    category_ids: tuple[int, ...]  # the file's category id of each class, in class order
    samples: list[Sample]
    crowd_skipped: int = 0

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> np.ndarray:
        """The picture as BGR uint8 (H, W, 3)."""
        sample = self.samples[index]
        image = cv2.imread(str(sample.file), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"{sample.file} can no longer be read as an image; check the file")
        return image

    def targets(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class ids (N,), boxes (N, 4) x1, y1, x2, y2 in pixels and masks (N, H, W) bool."""
        sample = self.samples[index]
        n, h, w = len(sample.instances), sample.height, sample.width
        if n == 0:
            return np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros((0, h, w), bool)
        return (
            np.array([i.class_id for i in sample.instances], np.int64),
            np.array([i.box for i in sample.instances], np.float32),
            np.stack([rle.decode(i.rle) for i in sample.instances]),
        )

    def instance_counts(self) -> dict[str, int]:
        """Objects per class name, in class order."""
        counts = Counter(i.class_id for s in self.samples for i in s.instances)
        return {name: counts.get(k, 0) for k, name in enumerate(self.classes)}

    def summary(self) -> str:
        """What was read: pictures, objects per class, picture sizes and object sizes."""
        sizes = Counter(f"{s.width}x{s.height}" for s in self.samples)
        areas = np.array([i.area for s in self.samples for i in s.instances])
        counts = self.instance_counts()
        lines = [
            f"{self.annotations.name}: {len(self.samples)} pictures, {int(sum(counts.values()))} "
            f"objects in {len(self.classes)} classes"
            + (f" ({self.crowd_skipped} crowd regions skipped)" if self.crowd_skipped else ""),
            "objects per class: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
            "picture sizes: " + ", ".join(f"{k} ({v})" for k, v in sizes.most_common()),
        ]
        if len(areas):
            side = np.sqrt(areas)
            lines.append(
                f"object size (square root of the mask's area): {side.min():.0f} to "
                f"{side.max():.0f} pixels, median {np.median(side):.0f}"
            )
        return "\n".join(lines)


def _fail(where: str, problem: str) -> UserError:
    return UserError(f"{where}: {problem}")


def _read_json(path: Path) -> dict:
    check_readable(path, "a COCO annotation file (.json)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _fail(str(path), "is not text (UTF-8); give the COCO .json file") from None
    except json.JSONDecodeError as exc:
        raise _fail(
            str(path),
            f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "fix the file or export it again",
        ) from None
    if not isinstance(data, dict):
        raise _fail(str(path), "holds no JSON object; a COCO file is {images, annotations, ...}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise _fail(
                str(path),
                f"has no '{key}' list; a COCO instance file has images, annotations and categories",
            )
    return data


def _number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _categories(path: Path, items: list) -> tuple[tuple[str, ...], dict[int, int]]:
    if not items:
        raise _fail(str(path), "declares no categories; add at least one {id, name}")
    names: list[str] = []
    index: dict[int, int] = {}
    for item in items:
        cid = item.get("id") if isinstance(item, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        if not _whole(cid) or not isinstance(name, str) or not name.strip():
            raise _fail(
                str(path), f"category {item!r} needs a whole-number id and a name; add them"
            )
        if cid in index:
            raise _fail(str(path), f"category id {cid} is declared twice; give each its own id")
        if name in names:
            raise _fail(str(path), f"category name {name!r} is declared twice; merge them")
        index[cid] = len(names)
        names.append(name)
    return tuple(names), index


def _images(path: Path, folder: Path, items: list) -> dict[int, Sample]:
    if not items:
        raise _fail(str(path), "lists no images; add the pictures under 'images'")
    samples: dict[int, Sample] = {}
    for item in items:
        if not isinstance(item, dict):
            raise _fail(
                str(path),
                f"image entry {item!r} is not an object; give {{id, file_name, width, height}}",
            )
        iid, name = item.get("id"), item.get("file_name")
        w, h = item.get("width"), item.get("height")
        if not _whole(iid) or not isinstance(name, str) or not name:
            raise _fail(
                str(path), f"image {item!r} needs a whole-number id and a file_name; add them"
            )
        if not (_whole(w) and _whole(h) and w > 0 and h > 0):
            raise _fail(str(path), f"image {name!r} needs its width and height in pixels; add them")
        if iid in samples:
            raise _fail(str(path), f"image id {iid} is listed twice; give each its own id")
        file = folder / name
        if not file.is_file():
            raise _fail(
                str(path),
                f"image {name!r} is not in {folder}; copy it there or fix its file_name",
            )
        header = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
        if header is None:
            raise _fail(str(file), "cannot be read as an image; replace the file")
        if header.shape[:2] != (h, w):
            raise _fail(
                str(path),
                f"image {name!r} is {header.shape[1]}x{header.shape[0]} pixels but the file "
                f"says {w}x{h}; fix its width and height",
            )
        samples[iid] = Sample(iid, file, w, h)
    return samples


def _mask(where: str, seg: object, w: int, h: int) -> dict:
    """COCO RLE of one annotation's segmentation, after checking it fits its picture."""
    if isinstance(seg, list):
        if not seg:
            raise _fail(where, "has an empty segmentation; draw its outline or delete it")
        for poly in seg:
            if not isinstance(poly, list) or not all(_number(v) for v in poly):
                raise _fail(
                    where,
                    "has a polygon that is not a list of numbers; write it as [x1, y1, ...]",
                )
            if len(poly) % 2 or len(poly) < 6:
                raise _fail(
                    where,
                    f"has a polygon of {len(poly)} numbers; it needs x, y pairs of at least "
                    "3 points",
                )
            xs, ys = np.asarray(poly[0::2], float), np.asarray(poly[1::2], float)
            bad = (xs < -EDGE_TOLERANCE) | (xs > w + EDGE_TOLERANCE)
            bad |= (ys < -EDGE_TOLERANCE) | (ys > h + EDGE_TOLERANCE)
            if bad.any():
                k = int(np.argmax(bad))
                raise _fail(
                    where,
                    f"has polygon point ({xs[k]:g}, {ys[k]:g}) outside the {w}x{h} picture; "
                    "fix the point or the picture's size",
                )
        return mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    if isinstance(seg, dict) and "counts" in seg and "size" in seg:
        size = seg["size"]
        if not (isinstance(size, list) and len(size) == 2 and all(_whole(v) for v in size)):
            raise _fail(where, "has an RLE mask whose size is not [height, width]; export it again")
        if list(size) != [h, w]:
            raise _fail(
                where,
                f"has an RLE mask of size {size[1]}x{size[0]} on a {w}x{h} picture; "
                "encode it at the picture's size",
            )
        counts = seg["counts"]
        try:
            if isinstance(counts, list):  # uncompressed RLE
                if not all(_whole(v) and v >= 0 for v in counts) or sum(counts) != h * w:
                    raise ValueError
                return mask_utils.frPyObjects(seg, h, w)
            if isinstance(counts, str):
                coded = {"size": [h, w], "counts": counts.encode("ascii")}
                decoded = mask_utils.decode(coded)  # raises on counts that overrun
                return mask_utils.encode(np.asfortranarray(decoded))
        except (ValueError, TypeError, UnicodeEncodeError):
            pass
        raise _fail(where, f"has RLE counts that do not describe a {w}x{h} mask; export it again")
    raise _fail(where, "has no segmentation (a list of polygons or an RLE mask); add one")


def load_coco(images: str | Path, annotations: str | Path) -> Dataset:
    """Read and check a folder of pictures and its COCO instance annotations.

    Args:
        images: the folder the annotations' ``file_name`` entries are relative to.
        annotations: the COCO ``.json`` file.
    Returns:
        The dataset; every class of ``categories``, in the file's order, becomes a class.
    Raises:
        UserError: one line naming the first defect found and how to fix it.
    """
    folder, path = Path(images), Path(annotations)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of images; give the folder with the pictures")
    data = _read_json(path)
    classes, index = _categories(path, data["categories"])
    samples = _images(path, folder, data["images"])
    crowd, seen = 0, set()
    for ann in data["annotations"]:
        if not isinstance(ann, dict):
            raise _fail(
                str(path),
                f"annotation {ann!r} is not an object; give {{image_id, category_id, ...}}",
            )
        where = f"{path}: annotation {ann.get('id', '(no id)')}"
        if ann.get("id") is not None and ann["id"] in seen:
            raise _fail(where, "is listed twice (the same id); give each its own id")
        seen.add(ann.get("id"))
        sample = samples.get(ann.get("image_id"))  # type: ignore[arg-type]
        if sample is None:
            raise _fail(
                where,
                f"refers to image id {ann.get('image_id')!r}, which is not listed; "
                "list the image or fix image_id",
            )
        where += f" (image {sample.file.name!r})"
        category = ann.get("category_id")
        if category not in index:
            declared = ", ".join(str(k) for k in index)
            raise _fail(
                where,
                f"has category id {category!r}, which is not declared (declared: {declared}); "
                "add it to 'categories'",
            )
        coded = _mask(where, ann.get("segmentation"), sample.width, sample.height)
        if ann.get("iscrowd"):
            crowd += 1
            continue
        area = int(mask_utils.area(coded))
        if area == 0:
            raise _fail(where, "has a mask with no pixels; fix its outline or delete it")
        x, y, bw, bh = (float(v) for v in mask_utils.toBbox(coded))
        counts = coded["counts"]
        sample.instances.append(
            Instance(
                index[category],
                {
                    "size": [sample.height, sample.width],
                    "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
                },
                (x, y, x + bw, y + bh),
                area,
            )
        )
    kept = list(samples.values())
    if not any(s.instances for s in kept):
        raise _fail(str(path), "has no annotated objects; label some pictures first")
    return Dataset(path, classes, tuple(index), kept, crowd)


# --- the worked example's data ---------------------------------------------------------------


def _polygons(mask: np.ndarray) -> list[list[float]] | None:
    """The outline of a mask as one COCO polygon, or ``None`` when one outline cannot hold it
    (a hole, several pieces) or does not give back the same pixels."""
    contours, hierarchy = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE
    )
    if len(contours) != 1 or len(contours[0]) < 3:
        return None
    poly = [float(v) + 0.5 for v in contours[0].reshape(-1)]  # pixel centres
    h, w = mask.shape
    back = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], h, w))).astype(bool)
    iou = (back & mask).sum() / max((back | mask).sum(), 1)
    return [poly] if iou > 0.9 else None


def write_scenes(
    out: str | Path,
    seeds: range | list[int],
    classes: tuple[str, ...] = ALL_SHAPES,
    annotations: str = "annotations.json",
    polygons: bool = True,
) -> Path:
    """Write synthetic scenes as a COCO dataset: ``out/images/<seed>.png`` and
    ``out/<annotations>``; returns the annotation file's path.

    Objects that one outline describes are written as polygons, the others (rings with their
    hole, objects cut in two by another) as compressed RLE, so both kinds a labelling tool
    writes are exercised (``polygons=False``: every mask as RLE, exactly the scene's). Category
    ids start at 1, as COCO's do.
    """
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    doc: dict = {
        "info": {"description": f"synthetic scenes {seeds[0]}..{seeds[-1]}"},
        "images": [],
        "annotations": [],
        "categories": [{"id": k + 1, "name": name} for k, name in enumerate(classes)],
    }
    with staged():
        for seed in seeds:
            scene = make_scene(seed, classes=classes)
            h, w = scene.image.shape[:2]
            name = f"{seed}.png"
            ok, png = cv2.imencode(".png", scene.image)
            if not ok:  # pragma: no cover - PNG encoding of a uint8 image does not fail
                raise UserError(f"cannot encode scene {seed} as PNG")
            atomic_write_bytes(out / "images" / name, png.tobytes())
            doc["images"].append({"id": seed, "file_name": name, "width": w, "height": h})
            for cid, box, mask in zip(scene.class_ids, scene.boxes, scene.masks, strict=True):
                seg = (polygons and _polygons(mask)) or rle.encode(mask)
                x1, y1, x2, y2 = (float(v) for v in box)
                doc["annotations"].append(
                    {
                        "id": len(doc["annotations"]) + 1,
                        "image_id": seed,
                        "category_id": int(cid) + 1,
                        "segmentation": seg,
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "area": int(mask.sum()),
                        "iscrowd": 0,
                    }
                )
        path = out / annotations
        atomic_write_bytes(path, json.dumps(doc).encode())
    return path
