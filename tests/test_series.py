"""`maskrcnn-tutorial notebooks DIR`: the series copied into a new (or empty) folder, all of it
or nothing; anything else is one error line."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskrcnn_tutorial.apps import series
from maskrcnn_tutorial.apps.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + ["WORKSHOP.md"]


def test_a_clone_copies_its_own_notebooks(tmp_path, capsys):
    assert main(["notebooks", str(tmp_path / "workshop")]) == 0
    copied = sorted(p.name for p in (tmp_path / "workshop").iterdir())
    assert copied == sorted(EXPECTED)
    for name in EXPECTED:
        assert (tmp_path / "workshop" / name).read_bytes() == (
            ROOT / "notebooks" / name
        ).read_bytes()
    assert f"{len(EXPECTED)} files copied" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["workshop"]  # no staging folder left


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    assert len(series.copy_series(tmp_path / "empty")) == len(EXPECTED)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p.mkdir(), (p / "mine.ipynb").write_text("{}")), "is not empty"),
        (lambda p: p.write_text("x"), "is a file"),
        (lambda p: None, "does not exist; create it first"),
    ],
)
def test_a_folder_that_cannot_take_the_series_is_one_error_line(tmp_path, capsys, make, message):
    target = tmp_path / "target"
    make(target)
    if message.startswith("does not exist"):
        target = tmp_path / "missing" / "target"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["notebooks", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written or lost


def test_a_failed_copy_leaves_nothing(tmp_path, monkeypatch):
    def broken(source, dest):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(series.shutil, "copyfile", broken)
    with pytest.raises(series.UserError, match="the disk is full"):
        series.copy_series(tmp_path / "workshop")
    assert list(tmp_path.iterdir()) == []


def test_without_the_notebooks_the_fix_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(series, "PACKAGE", tmp_path / "maskrcnn_tutorial")
    with pytest.raises(series.UserError, match="reinstall it"):
        series.series_files()
