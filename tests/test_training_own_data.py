"""Fine-tuning to your own classes: replaced heads, resuming an interrupted run, the export run
by OpenCV, and the train command end to end (needs torch, the ``train`` extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from maskrcnn_tutorial import models  # noqa: E402
from maskrcnn_tutorial.apps.cli import main  # noqa: E402
from maskrcnn_tutorial.errors import UserError  # noqa: E402
from maskrcnn_tutorial.graph import names  # noqa: E402
from maskrcnn_tutorial.synthetic.scenes import LABELS, make_scene  # noqa: E402
from maskrcnn_tutorial.training.command import BASE_MODEL  # noqa: E402
from maskrcnn_tutorial.training.dataset import load_coco, write_scenes  # noqa: E402
from maskrcnn_tutorial.training.export import export  # noqa: E402
from maskrcnn_tutorial.training.finetune import (  # noqa: E402
    Pictures,
    Schedule,
    TrainingInterrupted,
    fine_tune,
    load_checkpoint,
    opencv_parity,
    replace_heads,
)
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN  # noqa: E402

CLASSES = ("hexagon", "circle", "star")


@pytest.fixture(scope="module")
def base() -> ShapesMaskRCNN:
    return ShapesMaskRCNN.from_pb(BASE_MODEL)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    path = write_scenes(root, range(300_000, 300_006), classes=CLASSES)
    return load_coco(root / "images", path)


def test_replaced_heads_have_one_slot_per_new_class_and_keep_the_rest(base):
    model = replace_heads(base, CLASSES)
    new, old = dict(model.named_layers()), dict(base.named_layers())
    hidden = old[names.MASK_CONV].out_channels
    assert new[names.CLASS_FC].weight.shape == (len(CLASSES) + 1, old[names.CLASS_FC].in_features)
    assert new[names.BOX_FC].weight.shape == (4 * len(CLASSES), old[names.BOX_FC].in_features)
    assert new[names.MASK_OUT].weight.shape[:2] == (len(CLASSES), hidden)
    for name, layer in new.items():
        if name not in (names.CLASS_FC, names.BOX_FC, names.MASK_OUT):
            assert torch.equal(layer.weight, old[name].weight), name
    circle, star = LABELS.index("circle"), LABELS.index("star")
    cls_new, cls_old = new[names.CLASS_FC].weight, old[names.CLASS_FC].weight
    assert torch.equal(cls_new[0], cls_old[0])  # background
    assert torch.equal(cls_new[2], cls_old[1 + circle]) and torch.equal(
        cls_new[3], cls_old[1 + star]
    )
    box_new, box_old = new[names.BOX_FC].weight, old[names.BOX_FC].weight
    assert torch.equal(box_new[4:8], box_old[4 * circle : 4 * circle + 4])
    mask_new, mask_old = new[names.MASK_OUT].weight, old[names.MASK_OUT].weight
    assert torch.equal(mask_new[2], mask_old[star])
    # the hexagon's slots are fresh: small, and none of the old classes' slots
    fresh = cls_new[1]
    assert fresh.abs().max() < 0.1 and not any(torch.equal(fresh, row) for row in cls_old)
    assert torch.equal(new[names.CLASS_FC].bias[1], torch.tensor(0.0))


def test_replace_heads_refuses_a_bad_class_list(base):
    with pytest.raises(UserError, match="without repeats"):
        replace_heads(base, ("a", "a"))
    with pytest.raises(UserError, match="non-empty"):
        replace_heads(base, ())


def test_fine_tune_refuses_a_model_with_other_classes(base, data, tmp_path):
    with pytest.raises(UserError, match="call replace_heads"):
        fine_tune(base, data, tmp_path, Schedule(steps=1, batch=1), progress=False)


def test_an_interrupted_run_resumes_to_the_same_weights(base, data, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    schedule = Schedule(steps=4, batch=2, checkpoint_every=100)
    straight = replace_heads(base, CLASSES)
    log = fine_tune(straight, data, tmp_path / "a", schedule, progress=False)
    assert [e["step"] for e in log] == [1, 2, 3, 4]
    assert all(set(e) >= {"rpn_cls", "rpn_box", "cls", "box", "mask", "total"} for e in log)

    calls, batch = [], Pictures.batch

    def stop_third(self, rng, size):  # Ctrl+C while the third step draws its pictures
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return batch(self, rng, size)

    monkeypatch.setattr(Pictures, "batch", stop_third)
    halted = replace_heads(base, CLASSES)
    with pytest.raises(TrainingInterrupted, match="interrupted after step 2") as info:
        fine_tune(halted, data, tmp_path / "b", schedule, progress=False)
    assert isinstance(info.value, KeyboardInterrupt)
    state = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2 and len(state["log"]) == 2
    monkeypatch.setattr(Pictures, "batch", batch)

    with pytest.raises(UserError, match="another schedule"):
        fine_tune(halted, data, tmp_path / "b", Schedule(steps=5, batch=2), resume=True)
    resumed = replace_heads(base, CLASSES)  # a fresh process: weights come from the file
    log2 = fine_tune(resumed, data, tmp_path / "b", schedule, resume=True, progress=False)
    assert [e["step"] for e in log2] == [1, 2, 3, 4]
    for key in ("rpn_cls", "cls", "mask"):
        np.testing.assert_allclose([e[key] for e in log2], [e[key] for e in log], rtol=1e-4)
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)


def test_a_checkpoint_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable training checkpoint"):
        load_checkpoint(bad)
    torch.save({"step": 1}, bad)
    with pytest.raises(UserError, match="not a checkpoint written by fine-tuning"):
        load_checkpoint(bad)


def test_the_export_runs_in_opencv_like_the_pytorch_model(base, data, tmp_path, monkeypatch):
    model = replace_heads(base, CLASSES)
    fine_tune(model, data, tmp_path / "run", Schedule(steps=2, batch=2), progress=False)
    held_out = make_scene(1_960_000, classes=CLASSES).image
    export(model, tmp_path / "out", {"steps": 2}, name="mine", parity_images=[held_out])
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["mine.pb", "mine.pbtxt", "model.json", "parity.npz"]
    diff = opencv_parity(
        model, tmp_path / "out" / "mine.pb", tmp_path / "out" / "mine.pbtxt", held_out
    )
    assert diff["count"] > 0
    assert max(diff["rpn"], diff["detections"], diff["masks"]) < 1e-3, diff
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    models.register_model(tmp_path / "out")
    loaded = models.load_model("mine")
    assert loaded.labels == CLASSES
    assert json.loads((tmp_path / "out" / "model.json").read_text())["training"] == {"steps": 2}


def test_the_train_command_trains_exports_registers_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "data"
    write_scenes(root, range(300_000, 300_004), classes=CLASSES)
    args = ["--quiet", "train", "--images", str(root / "images")]
    args += ["--annotations", str(root / "annotations.json"), "--batch", "1"]
    out = tmp_path / "hexagons"
    assert main([*args, "--out", str(out), "--steps", "2"]) == 0
    said = capsys.readouterr().out
    assert "registered as 'hexagons'" in said and "trained 2 steps" in said
    assert "OpenCV runs the export as PyTorch does" in said
    assert {"hexagons.pb", "hexagons.pbtxt", "model.json", "losses.csv"} <= {
        p.name for p in out.iterdir()
    }
    assert len((out / "losses.csv").read_text().splitlines()) == 3
    assert models.load_model("hexagons").labels == CLASSES
    # the same --out again: refused before any work
    assert main([*args, "--out", str(out), "--steps", "3"]) == 2
    assert "add --resume" in capsys.readouterr().err
    # Ctrl+C at the third step keeps the checkpoint, and --resume goes on from it
    again, batch, calls = tmp_path / "again", Pictures.batch, []

    def stop_third(self, rng, size):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return batch(self, rng, size)

    monkeypatch.setattr(Pictures, "batch", stop_third)
    assert main([*args, "--out", str(again), "--steps", "3"]) == 130
    err = capsys.readouterr().err
    assert "interrupted after step 2" in err and "--resume" in err
    assert sorted(p.name for p in again.iterdir()) == ["training"]  # no model yet
    monkeypatch.setattr(Pictures, "batch", batch)
    assert main([*args, "--out", str(again), "--steps", "3", "--resume"]) == 0
    assert "trained 3 steps" in capsys.readouterr().out
    assert len((again / "losses.csv").read_text().splitlines()) == 4
    assert main([*args, "--out", str(again), "--steps", "4", "--resume"]) == 2
    assert "another schedule" in capsys.readouterr().err
    # segment with it, by name
    scene = tmp_path / "scene.png"
    assert main(["scene", "--seed", "1960000", "--out", str(scene)]) == 0
    assert (
        main(["segment", str(scene), "--model", "hexagons", "--json", str(tmp_path / "d.json")])
        == 0
    )


def test_the_numpy_mask_target_is_the_one_training_uses():
    from maskrcnn_tutorial.training.targets import mask_target
    from maskrcnn_tutorial.training.train import mask_targets

    scene = make_scene(1_000_172)
    h, w = scene.masks.shape[1:]
    rng = np.random.default_rng(0)
    boxes = scene.boxes / np.array([w, h, w, h], np.float32)
    boxes = np.concatenate([boxes, boxes + rng.normal(0, 0.05, boxes.shape)]).astype(np.float32)
    boxes[-1] = [-0.1, -0.1, 1.1, 0.5]  # partly outside the picture
    masks = np.concatenate([scene.masks, scene.masks])
    want = mask_targets(masks, boxes, 15).numpy()
    got = np.stack([mask_target(m, b, 15) for m, b in zip(masks, boxes, strict=True)])
    np.testing.assert_allclose(got, want, atol=1e-4)  # torch maps the grid in float32
    assert got.shape == (len(masks), 15, 15) and 0 < got.mean() < 1
