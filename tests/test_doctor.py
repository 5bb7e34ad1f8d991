"""`maskrcnn-tutorial doctor`: every check runs for real, and a broken laptop is named."""

from maskrcnn_tutorial.apps import doctor
from maskrcnn_tutorial.apps.cli import main


def test_this_environment_passes_every_check(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok    shapes model" in out and "segments the lead scene correctly" in out
    assert out.rstrip().endswith("ready: every check passed")


def test_a_missing_coco_model_fails_with_the_fix(capsys):
    # the autouse fixture gives every test an empty model cache: coco is not installed
    assert main(["doctor", "--coco"]) == 2
    captured = capsys.readouterr()
    assert "FAIL  coco model" in captured.out and "fetch coco --from" in captured.out
    assert captured.err.strip().splitlines()[-1].startswith("error: 1 check(s) failed: coco model")


def test_a_broken_check_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(doctor, "PACKAGES", (("no_such_module_xyz", "nothing"),))
    checks = doctor.run_checks()
    broken = [c for c in checks if not c.ok]
    assert [c.name for c in broken] == ["no_such_module_xyz"]
    assert "ModuleNotFoundError" in broken[0].detail and "pip install" in broken[0].detail
