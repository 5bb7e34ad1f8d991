import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.labels import COCO_LABELS, COCO_UNUSED


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
    registry = models.registry()
    assert set(registry) == {"coco", "shapes"}
    assert registry["coco"].labels == COCO_LABELS and registry["coco"].input_size is None
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
