"""Your own data: the COCO-format loader, its one-line errors, its summary, and the writer of
synthetic scenes in that format (no torch needed)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.synthetic.scenes import ALL_SHAPES, make_scene
from maskrcnn_tutorial.training.dataset import load_coco, write_scenes

SEEDS = range(1_950_005, 1_950_010)  # every shape, rings among them (written as RLE)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    write_scenes(root, SEEDS)
    return root


def test_written_scenes_load_back_with_their_exact_classes_and_close_masks(written):
    data = load_coco(written / "images", written / "annotations.json")
    assert data.classes == ALL_SHAPES and data.category_ids == tuple(range(1, 7))
    assert [s.image_id for s in data.samples] == list(SEEDS)
    kinds = Counter()
    raw = json.loads((written / "annotations.json").read_text())
    kinds.update(
        "polygon" if isinstance(a["segmentation"], list) else "rle" for a in raw["annotations"]
    )
    assert kinds["polygon"] and kinds["rle"], kinds  # both formats are exercised
    for k, seed in enumerate(SEEDS):
        scene = make_scene(seed, classes=ALL_SHAPES)
        np.testing.assert_array_equal(data.image(k), scene.image)  # PNG is lossless
        ids, boxes, masks = data.targets(k)
        np.testing.assert_array_equal(ids, scene.class_ids)
        inter = (masks & scene.masks).sum((1, 2))
        union = (masks | scene.masks).sum((1, 2))
        assert (inter / union > 0.85).all()  # polygons trace pixel centres: a thin edge differs
        np.testing.assert_allclose(boxes, scene.boxes, atol=2.5)  # a star's tip, cut


def test_the_loader_agrees_with_pycocotools_on_every_mask(written):
    data = load_coco(written / "images", written / "annotations.json")
    coco = COCO(str(written / "annotations.json"))
    for k, sample in enumerate(data.samples):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[sample.image_id]))
        _, _, masks = data.targets(k)
        want = np.stack([coco.annToMask(a).astype(bool) for a in anns])
        np.testing.assert_array_equal(masks, want)


def test_summary_counts_pictures_objects_per_class_and_sizes(written):
    data = load_coco(written / "images", written / "annotations.json")
    text = data.summary()
    counts = Counter(c for s in SEEDS for c in make_scene(s, classes=ALL_SHAPES).labels)
    assert f"{len(SEEDS)} pictures, {sum(counts.values())} objects in 6 classes" in text
    for name in ALL_SHAPES:
        assert f"{name} {counts.get(name, 0)}" in text
    assert f"256x256 ({len(SEEDS)})" in text
    assert data.instance_counts() == {n: counts.get(n, 0) for n in ALL_SHAPES}


def _first_polygon(doc: dict) -> dict:
    return next(a for a in doc["annotations"] if isinstance(a["segmentation"], list))


def _first_rle(doc: dict) -> dict:
    return next(a for a in doc["annotations"] if isinstance(a["segmentation"], dict))


def _set(path: list, value):
    def change(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _polygon_out(doc):
    _first_polygon(doc)["segmentation"][0][0] = 300.0


def _odd_polygon(doc):
    _first_polygon(doc)["segmentation"][0].append(4.0)


def _rle_size(doc):
    _first_rle(doc)["segmentation"]["size"] = [128, 128]


def _rle_counts(doc):
    _first_rle(doc)["segmentation"]["counts"] = [5, 5]


def _rle_garbage(doc):
    _first_rle(doc)["segmentation"]["counts"] = "\u00e9\u00e9"


def _empty_mask(doc):
    _first_rle(doc)["segmentation"] = rle.encode(np.zeros((256, 256), bool))


def _wrong_size(doc):
    doc["images"][0]["width"] = 300


def _missing_image(doc):
    doc["images"][0]["file_name"] = "nowhere.png"


def _no_annotations(doc):
    doc["annotations"] = []


DEFECTS = {
    "missing image": (_missing_image, "'nowhere.png' is not in"),
    "image size differs": (_wrong_size, "is 256x256 pixels but the file says 300x256"),
    "polygon outside": (_polygon_out, "polygon point (300, "),
    "odd polygon": (_odd_polygon, "needs x, y pairs"),
    "undeclared category": (
        _set(["annotations", 0, "category_id"], 42),
        "category id 42, which is not declared (declared: 1, 2, 3, 4, 5, 6)",
    ),
    "unknown image id": (_set(["annotations", 0, "image_id"], 7), "image id 7, which is not"),
    "no segmentation": (_set(["annotations", 0, "segmentation"], None), "has no segmentation"),
    "empty polygon list": (_set(["annotations", 0, "segmentation"], []), "empty segmentation"),
    "RLE of another size": (_rle_size, "RLE mask of size 128x128 on a 256x256 picture"),
    "RLE counts too short": (_rle_counts, "do not describe a 256x256 mask"),
    "RLE counts not ASCII": (_rle_garbage, "do not describe a 256x256 mask"),
    "mask without pixels": (_empty_mask, "mask with no pixels"),
    "no categories": (_set(["categories"], []), "declares no categories"),
    "category twice": (_set(["categories", 1, "id"], 1), "category id 1 is declared twice"),
    "category name twice": (
        _set(["categories", 1, "name"], "circle"),
        "category name 'circle' is declared twice",
    ),
    "no images": (_set(["images"], []), "lists no images"),
    "no annotations": (_no_annotations, "has no annotated objects"),
    "images key missing": (lambda doc: doc.pop("images"), "has no 'images' list"),
    "image without size": (_set(["images", 0, "height"], "tall"), "needs its width and height"),
    "duplicate annotation id": (
        _set(["annotations", 1, "id"], 1),
        "is listed twice (the same id)",
    ),
}


@pytest.mark.parametrize("defect", DEFECTS, ids=list(DEFECTS))
def test_every_defect_is_one_line_naming_it(written, tmp_path, defect):
    change, expected = DEFECTS[defect]
    doc = copy.deepcopy(json.loads((written / "annotations.json").read_text()))
    change(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError) as info:
        load_coco(written / "images", path)
    message = str(info.value)
    assert expected in message, message
    assert "\n" not in message and ";" in message  # one line, with the fix after the problem


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty (0 bytes)"),
        (b'{"images": [', "is not valid JSON (Expecting value at line 1, column 13)"),
        (b"[1, 2]", "holds no JSON object"),
        (b"\xff\xfe\x00garbage", "is not text (UTF-8)"),
    ],
    ids=["empty", "truncated", "a list", "binary"],
)
def test_files_that_are_not_coco_json_are_named(written, tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(UserError, match=None) as info:
        load_coco(written / "images", path)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_missing_paths_and_unreadable_pictures_are_named(written, tmp_path):
    with pytest.raises(UserError, match="is not a folder of images"):
        load_coco(tmp_path / "nope", written / "annotations.json")
    with pytest.raises(UserError, match="does not exist"):
        load_coco(written / "images", tmp_path / "nope.json")
    images = tmp_path / "images"
    images.mkdir()
    for file in (written / "images").iterdir():
        (images / file.name).write_bytes(file.read_bytes())
    first = json.loads((written / "annotations.json").read_text())["images"][0]["file_name"]
    (images / first).write_bytes(b"not a picture")
    with pytest.raises(UserError, match="cannot be read as an image"):
        load_coco(images, written / "annotations.json")


def test_points_on_the_border_and_crowd_regions_are_accepted(written, tmp_path):
    doc = json.loads((written / "annotations.json").read_text())
    poly = _first_polygon(doc)
    poly["segmentation"][0][0] = 256.0  # on the right edge: what labelling tools write
    crowd = copy.deepcopy(poly)
    crowd.update(id=10_000, iscrowd=1)
    doc["annotations"].append(crowd)
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(doc))
    data = load_coco(written / "images", path)
    assert data.crowd_skipped == 1 and "1 crowd regions skipped" in data.summary()


def test_pictures_of_any_size_keep_their_own_size(tmp_path):
    image = np.full((90, 160, 3), 50, np.uint8)
    cv2.imwrite(str(tmp_path / "wide.png"), image)
    doc = {
        "images": [{"id": 1, "file_name": "wide.png", "width": 160, "height": 90}],
        "categories": [{"id": 3, "name": "heart"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 3,
                "segmentation": [[10, 10, 60, 10, 60, 50, 10, 50]],
            }
        ],
    }
    (tmp_path / "a.json").write_text(json.dumps(doc))
    data = load_coco(tmp_path, tmp_path / "a.json")
    ids, boxes, masks = data.targets(0)
    assert data.classes == ("heart",) and ids.tolist() == [0]
    assert masks.shape == (1, 90, 160)
    np.testing.assert_allclose(boxes[0], [10, 10, 60, 50], atol=1)
    assert "160x90 (1)" in data.summary()
