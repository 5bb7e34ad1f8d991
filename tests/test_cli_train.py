"""``maskrcnn-tutorial train`` on bad input: one error line, exit status 2, checked before any
training step and nothing written (no torch needed: every case stops before it)."""

from __future__ import annotations

import json

import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.apps.cli import main
from maskrcnn_tutorial.training import command
from maskrcnn_tutorial.training.dataset import write_scenes


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_scenes(root, range(300_000, 300_002))
    return root


@pytest.fixture(autouse=True)
def no_training(monkeypatch, tmp_path):
    """Any case that got as far as training fails the test loudly."""
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("training started on bad input")

    monkeypatch.setattr("maskrcnn_tutorial.training.finetune.fine_tune", refuse, raising=False)


def run(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _args(data, tmp_path, **change):
    args = {
        "--images": str(data / "images"),
        "--annotations": str(data / "annotations.json"),
        "--out": str(tmp_path / "out"),
    }
    args.update(change)
    return ["train", *[v for k, val in args.items() if val is not None for v in (k, val)]]


CASES = {
    "no images folder": ({"--images": "/nonexistent/pics"}, "does not exist; give the folder"),
    "images is a file": ({"--images": "ANNOTATIONS"}, "is not a folder"),
    "annotations missing": ({"--annotations": "/nonexistent.json"}, "does not exist"),
    "annotations empty": ({"--annotations": "EMPTY"}, "is empty (0 bytes)"),
    "annotations a folder": ({"--annotations": "IMAGES"}, "is a directory"),
    "annotations not json": ({"--annotations": "GARBAGE"}, "is not valid JSON"),
    "steps zero": ({"--steps": "0"}, "must be between 1 and"),
    "steps text": ({"--steps": "many"}, "not a whole number"),
    "lr nan": ({"--lr": "nan"}, "must be between"),
    "batch huge": ({"--batch": "1000"}, "must be between 1 and 64"),
    "name built in": ({"--name": "shapes"}, "belongs to a built-in model"),
    "name with a slash": ({"--name": "a/b"}, "is not usable"),
    "out is a file": ({"--out": "ANNOTATIONS"}, "exists and is not a folder"),
    "resume nothing": ({"--resume": None}, "holds no training run"),
    "images missing": ({"--images": None}, "the following arguments are required: --images"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_line_and_exit_2(data, tmp_path, capsys, case):
    change, expected = CASES[case]
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "garbage.json").write_text("{oops")
    places = {
        "ANNOTATIONS": str(data / "annotations.json"),
        "IMAGES": str(data / "images"),
        "EMPTY": str(tmp_path / "empty.json"),
        "GARBAGE": str(tmp_path / "garbage.json"),
    }
    change = {k: places.get(v, v) if v else v for k, v in change.items()}
    argv = _args(data, tmp_path, **{k: v for k, v in change.items() if k != "--resume"})
    if "--resume" in change:
        argv.append("--resume")
    if change.get("--images", "") is None:
        argv = [a for a in argv if a != "--images"]
    err = run(capsys, argv)
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_a_defect_in_the_file_is_named_before_training(data, tmp_path, capsys):
    doc = json.loads((data / "annotations.json").read_text())
    doc["annotations"][0]["category_id"] = 99
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    err = run(capsys, _args(data, tmp_path, **{"--annotations": str(bad)}))
    assert "category id 99, which is not declared" in err


def test_an_out_name_that_cannot_name_a_model_needs_name(data, tmp_path, capsys):
    err = run(capsys, _args(data, tmp_path, **{"--out": str(tmp_path / "my model")}))
    assert "'my model' is not usable" in err


def test_an_out_inside_the_registered_models_is_refused(data, tmp_path, capsys):
    inside = models.user_models_dir() / "mine"
    err = run(capsys, _args(data, tmp_path, **{"--out": str(inside)}))
    assert "is inside the registered models' folder" in err
    assert not inside.exists()


def test_without_torch_it_says_how_to_install_it(data, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(command, "torch_available", lambda: False)
    err = run(capsys, _args(data, tmp_path))
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in err
