"""Registered (fine-tuned) models: found by name in the cache's models folder, each defect of
their model.json one line (no torch: the shipped shapes files stand in for an export)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.models import SHAPES_DIR, all_specs, get_spec, load_model, register_model
from maskrcnn_tutorial.synthetic.scenes import make_scene


def exported(folder: Path, name: str) -> Path:
    """An export folder as training writes it, made of the shipped shapes files."""
    folder.mkdir(parents=True)
    meta = json.loads((SHAPES_DIR / "model.json").read_text())
    digests = {}
    for suffix in ("pb", "pbtxt"):
        data = (SHAPES_DIR / f"shapes.{suffix}").read_bytes()
        (folder / f"{name}.{suffix}").write_bytes(data)
        digests[f"{name}.{suffix}"] = hashlib.sha256(data).hexdigest()
    meta.update(name=name, sha256=digests)
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    return tmp_path / "cache"


def test_a_registered_model_loads_by_name_and_segments(cache, tmp_path):
    spec = register_model(exported(tmp_path / "out", "mine"))
    assert spec.weights == cache / "models" / "mine" / "mine.pb"
    assert "mine" in all_specs() and get_spec("mine").labels == load_model("shapes").labels
    model = load_model("mine")
    scene = make_scene(1_000_050)
    a, b = model.forward(scene.image), load_model("shapes").forward(scene.image)
    assert (a.detection_out_final == b.detection_out_final).all()


def test_registering_again_replaces_the_model_whole(cache, tmp_path):
    register_model(exported(tmp_path / "a", "mine"))
    folder = exported(tmp_path / "b", "mine")
    meta = json.loads((folder / "model.json").read_text())
    meta["labels"] = ["a", "b", "c", "d", "e"]
    (folder / "model.json").write_text(json.dumps(meta))
    assert register_model(folder).labels == ("a", "b", "c", "d", "e")
    assert sorted(p.name for p in (cache / "models").iterdir()) == ["mine"]


@pytest.mark.parametrize("name", ["coco", "shapes", "../up", "", "a b", "-x", "x" * 65])
def test_unusable_names_are_refused(name):
    with pytest.raises(UserError, match="choose another|not usable"):
        models.check_model_name(name)


def _break(key, value):
    def change(meta):
        if value is KeyError:
            del meta[key]
        else:
            meta[key] = value

    return change


BROKEN = {
    "labels missing": (_break("labels", KeyError), "'labels' must list distinct class names"),
    "labels repeated": (_break("labels", ["a", "a"]), "'labels' must list distinct"),
    "size wrong": (_break("input_hw", [256]), "'input_hw' must be [height, width]"),
    "size negative": (_break("input_hw", [256, -1]), "'input_hw' must be [height, width]"),
    "no checksums": (_break("sha256", {}), "'sha256' must give the checksums"),
    "no name": (_break("name", 3), "has no usable 'name'"),
}


@pytest.mark.parametrize("defect", BROKEN, ids=list(BROKEN))
def test_a_damaged_model_json_is_one_line_and_leaves_the_others_usable(cache, tmp_path, defect):
    change, expected = BROKEN[defect]
    register_model(exported(tmp_path / "out", "mine"))
    meta_file = cache / "models" / "mine" / "model.json"
    meta = json.loads(meta_file.read_text())
    change(meta)
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(UserError) as info:
        get_spec("mine")
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert "mine" not in all_specs() and load_model("shapes").name == "shapes"


def test_model_json_that_is_not_json_and_a_name_that_differs(cache, tmp_path):
    register_model(exported(tmp_path / "out", "mine"))
    meta_file = cache / "models" / "mine" / "model.json"
    meta_file.write_text("{not json")
    with pytest.raises(UserError, match="is not valid JSON"):
        get_spec("mine")
    exported(cache / "models" / "other", "mine")  # a folder renamed by hand
    with pytest.raises(UserError, match="names the model 'mine', not 'other'"):
        get_spec("other")


def test_damaged_weights_are_caught_at_load_and_refused_at_registration(cache, tmp_path):
    folder = exported(tmp_path / "out", "mine")
    register_model(folder)
    weights = cache / "models" / "mine" / "mine.pb"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="damaged"):
        load_model("mine")
    (folder / "mine.pb").write_bytes(bytes(data))
    with pytest.raises(UserError, match="do not match model.json"):
        register_model(folder)


def test_unknown_names_list_the_registered_models(cache, tmp_path):
    register_model(exported(tmp_path / "out", "mine"))
    with pytest.raises(UserError, match="choose one of: coco, shapes, mine"):
        get_spec("theirs")
