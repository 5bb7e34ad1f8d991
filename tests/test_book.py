"""The book's sources (book/stage.py): explorers become the pictures their stored widget state
holds, each notebook page says how to run it, and the API page lists the modules the notebooks
import. (The built book itself is checked in a browser: tests/browser/test_book.py.)"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import cv2
import ipywidgets as widgets
import numpy as np
import pytest
from ipywidgets.embed import embed_data

from book.stage import (
    APP_EXPLORERS,
    LIVE,
    LIVE_IN_APP,
    NOTEBOOKS,
    SNAPSHOT_CLASS,
    WIDGET_STATE,
    WIDGET_VIEW,
    StageError,
    api_page,
    called_modules,
    stage,
    static_notebook,
    widget_snapshot,
)

ROOT = Path(__file__).resolve().parents[1]
STORED = sorted(ROOT.glob(NOTEBOOKS))
WITH_EXPLORERS = [nb for nb in STORED if WIDGET_VIEW in nb.read_text("utf-8")]


def png(height: int, width: int, value: int) -> bytes:
    ok, data = cv2.imencode(".png", np.full((height, width, 3), value, np.uint8))
    assert ok
    return data.tobytes()


def images_of(outputs: list[dict]) -> list[bytes]:
    return [base64.b64decode(o["data"]["image/png"]) for o in outputs if "image/png" in o["data"]]


def stored_pictures(state: dict, model_id: str) -> list[bytes]:
    """The Image values under ``model_id``, depth first (read here without book.stage)."""
    model = state[model_id]
    if model["model_name"] == "ImageModel":
        return [base64.b64decode(b["data"]) for b in model["buffers"]]
    children = model["state"].get("children", [])
    return [p for child in children for p in stored_pictures(state, child[len("IPY_MODEL_") :])]


def test_a_widget_tree_saved_by_ipywidgets_becomes_its_pictures_text_and_settings():
    picture, second = png(20, 30, 200), png(8, 8, 10)
    slider = widgets.IntSlider(value=3, max=9, description="proposal")
    choice = widgets.Dropdown(options=[("whole picture", -1), ("#0 star", 0)], value=0)
    choice.description = "start at"
    box = widgets.VBox(
        [
            slider,
            choice,
            widgets.HBox([widgets.Image(value=picture, format="png"), widgets.Label("a label")]),
            widgets.HTML("<b>objectness</b> 0.9"),
            widgets.Image(value=second, format="png"),
            widgets.Output(),
        ]
    )
    saved = embed_data(views=[box])  # the state JupyterLab saves, buffers in base64
    view = saved["view_specs"][0]
    outputs = widget_snapshot(view, saved["manager_state"]["state"], LIVE)

    note = outputs[0]["data"]["text/html"]
    assert f'class="{SNAPSHOT_CLASS}"' in note and "JupyterLab" in note
    assert "proposal = 3" in note and "start at = #0 star" in note
    assert images_of(outputs) == [picture, second]  # the bytes the widgets held, in order
    assert [o["data"].get("text/plain") for o in outputs if "text/plain" in o["data"]] == [
        "a label"
    ]
    assert any("<b>objectness</b> 0.9" in o["data"].get("text/html", "") for o in outputs[1:])
    assert not any(WIDGET_VIEW in o["data"] for o in outputs)


def test_an_explorer_without_a_stored_picture_is_refused_not_shown_empty():
    saved = embed_data(views=[widgets.VBox([widgets.IntSlider(description="row")])])
    with pytest.raises(ValueError, match="no picture"):
        widget_snapshot(saved["view_specs"][0], saved["manager_state"]["state"], LIVE)


@pytest.mark.parametrize("path", WITH_EXPLORERS, ids=lambda p: p.name)
def test_each_stored_explorer_shows_the_pictures_it_last_drew(path):
    notebook = json.loads(path.read_text("utf-8"))
    state = notebook["metadata"]["widgets"][WIDGET_STATE]["state"]
    static = static_notebook(notebook, path.name, f"../{path.name}")

    assert "widgets" not in static["metadata"]  # nothing for widget JavaScript to load
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    static_code = [c for c in static["cells"] if c["cell_type"] == "code"]
    explorers = 0
    for before, after in zip(code, static_code, strict=True):
        assert before["source"] == after["source"]
        views = [
            o["data"][WIDGET_VIEW] for o in before["outputs"] if WIDGET_VIEW in o.get("data", {})
        ]
        assert not any(WIDGET_VIEW in o.get("data", {}) for o in after["outputs"])
        if not views:
            assert after["outputs"] == before["outputs"]
            continue
        explorers += len(views)
        expected = [p for view in views for p in stored_pictures(state, view["model_id"])]
        assert images_of(after["outputs"]) == expected and expected
        for picture in expected:
            pixels = cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_COLOR)
            assert pixels is not None and min(pixels.shape[:2]) > 0
        notes = [o for o in after["outputs"] if SNAPSHOT_CLASS in o["data"].get("text/html", "")]
        assert len(notes) == len(views)
        in_app = any(f"explorers.{name}(" in "".join(before["source"]) for name in APP_EXPLORERS)
        for note in notes:
            assert (LIVE_IN_APP if in_app else LIVE) in note["data"]["text/html"]
    assert explorers >= 1


def test_the_explorers_said_to_be_in_the_app_are_the_ones_the_app_builds():
    import inspect
    import typing

    from maskrcnn_tutorial.apps import app, explorers

    factories = [
        name
        for name, function in inspect.getmembers(explorers, inspect.isfunction)
        if function.__module__ == explorers.__name__
        and isinstance(ret := typing.get_type_hints(function).get("return"), type)
        and issubclass(ret, explorers.Explorer)
    ]
    assert len(factories) >= 5, factories
    source = Path(app.__file__).read_text("utf-8")
    assert set(APP_EXPLORERS) == {name for name in factories if f"{name}(" in source}


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.name)
def test_each_notebook_page_links_its_source_and_says_how_to_run_it(path):
    notebook = json.loads(path.read_text("utf-8"))
    static = static_notebook(notebook, path.name, f"../../{path.name}")
    title, note = static["cells"][0], static["cells"][1]
    assert title == notebook["cells"][0] and "".join(title["source"]).startswith("# ")
    assert f"{{download}}`notebooks/{path.name} <../../{path.name}>`" in note["source"]
    for command in ("make demo", "make lab", "make test"):
        assert f"`{command}`" in note["source"]
    assert len(static["cells"]) == len(notebook["cells"]) + 1


def test_the_api_page_lists_imported_modules_and_where_imported_names_live():
    cells = [
        "%matplotlib inline\nfrom maskrcnn_tutorial.explain import anatomy, render",
        "import numpy as np\nfrom maskrcnn_tutorial.models import load_model",
        "import maskrcnn_tutorial.draw\nfrom maskrcnn_tutorial.synthetic.scenes import LABELS",
        "this is not python (",
        # the training modules need torch (the train extra), which a book build may not have
        "from maskrcnn_tutorial.training import mirror\n"
        "from maskrcnn_tutorial.training.mirror import ShapesMaskRCNN",
    ]
    notebook = {"cells": [{"cell_type": "code", "source": c, "outputs": []} for c in cells]}
    modules = called_modules(notebook)
    assert modules == {
        "maskrcnn_tutorial.explain.anatomy",
        "maskrcnn_tutorial.explain.render",
        "maskrcnn_tutorial.models",
        "maskrcnn_tutorial.models.registry",  # where load_model is defined
        "maskrcnn_tutorial.draw",
        "maskrcnn_tutorial.synthetic.scenes",
        "maskrcnn_tutorial.training.mirror",
    }
    page = api_page(modules)
    for module in modules:
        assert f".. automodule:: {module}\n" in page


def test_staging_rewrites_only_what_changed_and_drops_what_is_gone(tmp_path):
    target = tmp_path / "src"
    staged = stage(target)
    names = {p.relative_to(target).as_posix() for p in staged}
    assert {"index.md", "api.md", "README.md", "notebooks/WORKSHOP.md"} <= names
    assert {f"notebooks/{p.name}" for p in STORED} <= names
    assert "maskrcnn_tutorial/models/shapes/MODEL_CARD.md" in names
    page = target / "notebooks" / STORED[0].name
    os.utime(page, (1, 1))
    stale = target / "notebooks" / "gone.ipynb"
    stale.write_text("{}")
    stage(target)
    assert page.stat().st_mtime == 1  # unchanged: Sphinx need not read it again
    assert not stale.exists()


def test_the_publish_workflow_builds_with_make_book_and_publishes_its_folder():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert [s["run"] for s in steps if "run" in s] == ["make book"]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload["with"]["path"] == "build/book"
    assert "make book" in (ROOT / "Makefile").read_text()
    assert "python -m book.build build/book" in (ROOT / "Makefile").read_text()


def test_the_build_command_refuses_bad_arguments_in_one_line(tmp_path, capsys):
    from book.build import main

    assert main(["--fast"]) == 2
    assert main(["one", "two"]) == 2
    taken = tmp_path / "book"
    taken.write_text("a file, not a folder")
    assert main([str(taken)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors[-1] == f"error: {taken} is not a folder; name a folder for the book"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]  # nothing staged or built


def a_repository(folder: Path, notebook_text: str) -> Path:
    """The files the book reads, with one notebook of ``notebook_text``."""
    for name in (
        "README.md",
        "notebooks/WORKSHOP.md",
        "maskrcnn_tutorial/models/shapes/MODEL_CARD.md",
    ):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("# page\n")
    (folder / "notebooks" / "00_first.ipynb").write_text(notebook_text)
    return folder


def test_a_notebook_saved_without_its_widget_state_is_named_with_the_fix(tmp_path):
    view = {"model_id": "0123", "version_major": 2, "version_minor": 0}
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# 00 · First"},
        {
            "cell_type": "code",
            "metadata": {},
            "source": "explorers.layer_explorer(raw)",
            "outputs": [{"output_type": "display_data", "data": {WIDGET_VIEW: view}}],
        },
    ]
    root = a_repository(tmp_path / "repo", json.dumps({"cells": cells, "metadata": {}}))
    with pytest.raises(StageError) as error:
        stage(tmp_path / "src", root)
    assert str(error.value) == (
        "00_first.ipynb cell 1: the stored widget state holds no picture for view 0123; store it "
        "again with `make run-notebooks` (nbconvert saves the widget state)"
    )


def test_a_notebook_that_is_not_json_is_named(tmp_path):
    root = a_repository(tmp_path / "repo", '{"cells": [')
    with pytest.raises(StageError, match=r"00_first.ipynb is not a notebook \(JSON\)"):
        stage(tmp_path / "src", root)
