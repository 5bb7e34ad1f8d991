import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.models import registry
from maskrcnn_tutorial.models.labels import COCO_LABELS, COCO_UNUSED


def fake_coco(cache):
    spec = models.coco_spec(cache)
    spec.weights.parent.mkdir(parents=True, exist_ok=True)
    spec.weights.write_bytes(b"x")
    spec.config.write_text("x")
    return spec


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "c"))
    assert models.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(models.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.cache_dir() == tmp_path / "xdg" / "maskrcnn_tutorial"


def test_registry_names_both_models():
    registry = models.all_specs()
    assert set(registry) == {"coco", "shapes"}
    assert registry["coco"].labels == COCO_LABELS and registry["coco"].input_hw is None
    assert registry["shapes"].available  # ships inside the package
    assert len(registry["shapes"].labels) >= 4


def test_default_is_shapes_until_coco_is_fetched(empty_model_cache):
    assert models.default_model_name() == "shapes"
    assert "fetch coco" in models.default_model_notice()
    fake_coco(empty_model_cache)
    assert models.default_model_name() == "coco"
    assert models.default_model_notice() is None


def test_unknown_model_is_a_user_error():
    with pytest.raises(UserError, match="unknown model 'x'; choose one of: coco, shapes"):
        models.get_spec("x")


def test_loading_a_missing_model_says_how_to_get_it():
    with pytest.raises(UserError, match="fetch coco"):
        models.load_model("coco")


def test_coco_labels_have_ninety_slots():
    assert len(COCO_LABELS) == 90
    assert COCO_LABELS[0] == "person" and COCO_LABELS[89] == "toothbrush"
    assert COCO_LABELS[16] == "cat" and COCO_LABELS[19] == "sheep"
    assert {COCO_LABELS[i] for i in COCO_UNUSED} >= {"street sign", "hat", "desk"}


@pytest.fixture
def shapes_copy(tmp_path, monkeypatch):
    """The embedded model's files, copied where a test may damage them."""
    import shutil

    folder = tmp_path / "shapes"
    shutil.copytree(models.SHAPES_DIR, folder)
    monkeypatch.setattr(registry, "SHAPES_DIR", folder)
    return folder


def flip_bytes(path, count=400):
    data = bytearray(path.read_bytes())
    for k in range(count):
        data[len(data) // 3 + k] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: flip_bytes(d / "shapes.pb"), ["shapes.pb", "damaged", "checksum", "reinstall"]),
        (lambda d: flip_bytes(d / "shapes.pbtxt", 4), ["shapes.pbtxt", "damaged", "reinstall"]),
        (lambda d: (d / "model.json").write_text("{not json"), ["model.json", "not a valid"]),
        (lambda d: (d / "model.json").write_text("[1, 2]"), ["model.json", "not a valid"]),
        (lambda d: (d / "model.json").write_text('{"input_hw": 7}'), ["model.json", "reinstall"]),
    ],
)
def test_a_damaged_embedded_model_is_one_error_line_with_the_right_advice(
    capsys, shapes_copy, scene_file, damage, words
):
    from maskrcnn_tutorial.apps.cli import main

    damage(shapes_copy)
    assert main(["segment", str(scene_file), "--model", "shapes"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    for word in words:
        assert word in err, (word, err)
    assert "fetch" not in err  # the embedded model is not fetched


def test_the_shipped_checksums_match_the_shipped_files():
    spec = models.shapes_spec()
    assert {name for name, _ in spec.sha256} == {"shapes.pb", "shapes.pbtxt"}
    assert spec.damaged_files() == []
