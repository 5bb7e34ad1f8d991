"""COCO-style evaluation of the shapes model on held-out scenes (small runs)."""

import json

import pytest

from maskrcnn_tutorial.apps.cli import main
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import Model
from maskrcnn_tutorial.synthetic.evaluate import EVAL_CONF_THRESHOLD, evaluate, format_report


@pytest.fixture(scope="module")
def report():
    return evaluate("shapes", images=6, seed=1_000_500)


def test_report_has_box_and_mask_ap(report):
    assert report["model"] == "shapes" and report["images"] == 6
    for kind in ("box", "mask"):
        figures = report[kind]
        assert set(figures) == {"AP", "AP50", "AP75"}
        assert 0.0 <= figures["AP"] <= figures["AP50"] <= 1.0
        assert figures["AP75"] <= figures["AP50"]
    # the trained model finds most objects on scenes it never saw
    assert report["box"]["AP50"] > 0.6 and report["mask"]["AP50"] > 0.6


def test_a_mask_threshold_near_one_ruins_mask_ap(report):
    shrunk = evaluate("shapes", images=6, seed=1_000_500, mask_threshold=0.995)
    assert shrunk["box"] == report["box"]  # boxes do not depend on the mask threshold
    assert shrunk["mask"]["AP75"] < report["mask"]["AP75"]


def test_masks_for_the_kept_rows_only_give_the_whole_graphs_figures(report, monkeypatch):
    asked = []
    forward = Model.forward

    def whole_graph(self, image, **options):
        asked.append(options)
        return forward(self, image)  # a mask for every row, as OpenCV's whole graph gives

    monkeypatch.setattr(Model, "forward", whole_graph)
    assert evaluate("shapes", images=6, seed=1_000_500) == report
    assert asked == [{"mask_branch": "kept", "conf_threshold": EVAL_CONF_THRESHOLD}] * 6


def test_format_report_is_a_table(report):
    lines = format_report(report).splitlines()
    assert lines[0] == "model shapes, 6 held-out scenes"
    assert lines[2].startswith("box") and lines[3].startswith("mask")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"seed": 5}, "training scenes"),
        ({"images": 0}, "at least one image"),
        ({"model_name": "coco"}, "not available"),
    ],
)
def test_bad_requests_are_user_errors(kwargs, words):
    with pytest.raises(UserError, match=words):
        evaluate(**{"images": 1, **kwargs})


def test_cli_writes_the_json(tmp_path, capsys):
    out = tmp_path / "ap.json"
    code = main(["--quiet", "evaluate", "--images", "2", "--seed", "1000600", "--json", str(out)])
    assert code == 0
    saved = json.loads(out.read_text())
    assert saved["images"] == 2 and set(saved) == {"model", "images", "box", "mask"}
    assert "AP50" in capsys.readouterr().out


def test_a_coco_dataset_of_the_same_scenes_gets_the_same_ap(tmp_path):
    """evaluate_dataset (any COCO folder) against evaluate (scenes drawn in memory)."""
    from maskrcnn_tutorial.models import load_model
    from maskrcnn_tutorial.synthetic.evaluate import evaluate, evaluate_dataset
    from maskrcnn_tutorial.synthetic.scenes import LABELS
    from maskrcnn_tutorial.training.dataset import load_coco, write_scenes

    seeds = range(1_000_000, 1_000_012)
    path = write_scenes(tmp_path, seeds, classes=LABELS, polygons=False)
    data = load_coco(tmp_path / "images", path)
    got = evaluate_dataset(load_model("shapes"), data)
    want = evaluate("shapes", images=len(seeds), seed=seeds[0])
    for kind in ("box", "mask"):
        for key in ("AP", "AP50", "AP75"):
            assert got[kind][key] == pytest.approx(want[kind][key], abs=1e-9), (kind, key)
    assert set(got["per_class"]) == set(LABELS)


def test_a_class_the_model_lacks_scores_zero_and_others_are_kept(tmp_path):
    from maskrcnn_tutorial.models import load_model
    from maskrcnn_tutorial.synthetic.evaluate import evaluate_dataset
    from maskrcnn_tutorial.synthetic.scenes import ALL_SHAPES
    from maskrcnn_tutorial.training.dataset import load_coco, write_scenes

    path = write_scenes(tmp_path, range(1_950_000, 1_950_012), classes=ALL_SHAPES)
    report = evaluate_dataset(load_model("shapes"), load_coco(tmp_path / "images", path))
    assert report["per_class"]["hexagon"] == {
        kind: {"AP": 0.0, "AP50": 0.0, "AP75": 0.0} for kind in ("box", "mask")
    }
    assert report["per_class"]["ring"]["mask"]["AP50"] > 0.5
