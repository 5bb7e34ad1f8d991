"""Fine-tuning the shapes model from exported weights (needs torch, the ``train`` extra)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests import requires

requires.module("torch", requires.TORCH)

from maskrcnn_tutorial.graph import names  # noqa: E402
from maskrcnn_tutorial.graph.graphdef import read_consts  # noqa: E402
from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN, spec_of  # noqa: E402
from maskrcnn_tutorial.training.spec import Spec  # noqa: E402
from maskrcnn_tutorial.training.train import jitter, train  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "maskrcnn_tutorial" / "models" / "shapes"


def small_head(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The shipped weights with the mask head of the first training stage (24 channels, 1x1)."""
    spec = replace(Spec(), mask_channels=24, mask_out_kernel=1)
    other = ShapesMaskRCNN(spec).tf_weights()
    head = (names.MASK_CONV, names.MASK_OUT)
    return {k: other[k] if k.startswith(head) else v for k, v in weights.items()}


def test_spec_is_read_from_the_weights():
    weights = read_consts((SHIPPED / "shapes.pb").read_bytes())
    spec = spec_of(weights)
    assert spec.mask_channels == weights[f"{names.MASK_CONV}/weights"].shape[3]
    assert spec.mask_out_kernel == weights[f"{names.MASK_OUT}/weights"].shape[0]
    first = spec_of(small_head(weights))
    assert (first.mask_channels, first.mask_out_kernel) == (24, 1)


def test_matching_layers_load_and_a_resized_head_starts_fresh():
    weights = small_head(read_consts((SHIPPED / "shapes.pb").read_bytes()))
    model = ShapesMaskRCNN(replace(Spec(), mask_channels=96, mask_out_kernel=3))
    before = model.tf_weights()
    fresh = model.load_matching(weights)
    assert fresh == [names.MASK_CONV, names.MASK_OUT]
    after = model.tf_weights()
    for key, value in after.items():
        if key.startswith((names.MASK_CONV, names.MASK_OUT)):
            np.testing.assert_array_equal(value, before[key], err_msg=key)
        else:
            np.testing.assert_array_equal(value, weights[key], err_msg=key)


def test_jitter_moves_sides_by_a_fraction_of_the_size_and_stays_inside():
    rng = np.random.default_rng(0)
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0]] * 200, np.float32)
    np.testing.assert_allclose(jitter(boxes, rng, 0.0), boxes)
    moved = jitter(boxes, rng, 0.05)
    assert moved.min() >= 0 and moved.max() <= 1
    assert (moved[:, 2] > moved[:, 0]).all() and (moved[:, 3] > moved[:, 1]).all()
    offset = (moved - boxes)[0::2, :2] / 0.4  # first box: 0.4 wide and high, never clipped
    assert 0.035 < offset.std() < 0.065


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    weights = read_consts((SHIPPED / "shapes.pb").read_bytes())
    model, seconds = train(
        2,
        0,
        tmp_path,
        batch=2,
        lr=1e-4,
        spec=spec_of(weights),
        init=weights,
        mask_weight=2.0,
        mask_jitter=0.05,
    )
    assert seconds > 0 and (tmp_path / "checkpoint.pt").is_file()
    tuned = model.tf_weights()
    for key, value in weights.items():
        if key in tuned:  # two small steps from the shipped weights: close, but moved
            np.testing.assert_allclose(tuned[key], value, atol=0.01, err_msg=key)
    assert any(not np.array_equal(tuned[k], weights[k]) for k in tuned)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "must be between 1"),
        (["--mask-channels", "wide"], "not a whole number"),
        (["--mask-jitter", "0.9"], "must be between 0 and 0.5"),
        (["--lr", "nan"], "must be between"),
        (["--mask-out-kernel", "2"], "invalid choice"),
        (["--steps", "10", "--stop-after", "20"], "beyond --steps 10"),
        (["--init-from", "{tmp}/missing.pb"], "does not exist"),
        (["--init-from", "{tmp}"], "is a directory; pass an exported shapes.pb"),
        (["--init-from", "/dev/zero"], "is not a regular file"),
        (["--init-from", "{tmp}/empty.pb"], "is empty"),
        (["--init-from", "{tmp}/notes.txt"], "holds no weights"),
        (["--from-checkpoint", "{tmp}/missing.pt"], "does not exist"),
        (["--workdir", "{tmp}/notes.txt"], "--workdir"),
        (["--workdir", "/dev/null"], "is not a folder"),
        # issue 20: found before the first step, not after hours of training
        (["--workdir", "/proc/no-such/w"], "cannot write in --workdir /proc/no-such/w"),
        (["--out", "/proc/no-such/o"], "cannot write in --out /proc/no-such/o"),
        (["--out", str(SHIPPED), "--out"], "is the shipped model's folder"),
        (["--from-checkpoint", "{tmp}/notes.txt"], "is damaged or not a checkpoint"),
        (["--from-checkpoint", "{tmp}/code.pt"], "holds Python objects besides tensors"),
        (["--from-checkpoint", "{tmp}/narrow.pt"], "does not fit --mask-channels 96"),
    ],
)
def test_bad_arguments_give_one_error_line_and_status_2(tmp_path, capsys, args, message):
    import pickle

    import torch

    from maskrcnn_tutorial.training.__main__ import main

    (tmp_path / "notes.txt").write_text("not a GraphDef\n")
    (tmp_path / "empty.pb").touch()
    # a pickle that would run a command when loaded without weights_only
    (tmp_path / "code.pt").write_bytes(pickle.dumps({"model": Path.cwd, "step": 1}, protocol=2))
    narrow = ShapesMaskRCNN(replace(Spec(), mask_channels=8)).state_dict()  # another head
    torch.save({"model": narrow, "step": 1}, tmp_path / "narrow.pt")
    if args[-1] == "--out":  # this case's --out is the one checked
        args = args[:-1]
    out = tmp_path / "out"
    argv = [a.format(tmp=tmp_path) for a in args]
    argv += [] if "--out" in argv else ["--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()


def test_an_output_folder_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    from maskrcnn_tutorial.training.__main__ import main

    taken = tmp_path / "shapes.pb"
    taken.write_bytes(b"keep me")
    assert main(["--steps", "1", "--out", str(taken), "--workdir", str(tmp_path / "w")]) == 2
    assert "--out" in capsys.readouterr().err and taken.read_bytes() == b"keep me"
    assert not (tmp_path / "w").exists()


def test_a_failed_export_leaves_the_folder_as_it_was(tmp_path, capsys, monkeypatch):
    import errno
    import os

    import torch

    from maskrcnn_tutorial.training import export
    from maskrcnn_tutorial.training.__main__ import EXPORTED, main

    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"model": ShapesMaskRCNN(Spec()).state_dict(), "step": 1}, checkpoint)
    out = tmp_path / "model"
    out.mkdir()
    for name in EXPORTED:
        (out / name).write_bytes(b"previous " + name.encode())

    def full_disk(model, folder, images=None):
        (folder / "parity.npz").write_bytes(b"trunc")  # what a full disk leaves half-written
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export, "write_parity", full_disk)
    assert main(["--from-checkpoint", str(checkpoint), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the disk is full" in err[0] and "nothing was replaced" in err[0]
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORTED)  # no temporary left
    for name in EXPORTED:
        assert (out / name).read_bytes() == b"previous " + name.encode()
    monkeypatch.undo()
    assert main(["--from-checkpoint", str(checkpoint), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORTED)
    assert all(not (out / n).read_bytes().startswith(b"previous") for n in EXPORTED)
