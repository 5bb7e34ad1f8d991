"""The book's sources, laid out for Sphinx: the repository's pages copied as they are, and each
notebook made static.

A notebook page shows what the notebook stored when it was last run; nothing is executed. Two
things change on the way:

- an interactive explorer (an ipywidgets view, which needs a running kernel, and whose
  JavaScript would otherwise come from a CDN) becomes the snapshot its saved widget state holds:
  the pictures it last drew, its text, and the values its controls had, under a line saying
  where it is live (:func:`widget_snapshot`);
- a note after the title links to the notebook's source and says how to run it
  (:func:`run_note`).

The staged tree keeps the repository's relative layout, so the pages' links to each other
(``../README.md``, ``05_mask_tensor.ipynb``) resolve as they do on GitHub.
"""

from __future__ import annotations

import ast
import base64
import html
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = Path(__file__).resolve().parent / "pages"
# Repository files that are pages of the book (besides book/pages/ and the notebooks).
MARKDOWN = ("README.md", "notebooks/WORKSHOP.md", "maskrcnn_tutorial/models/shapes/MODEL_CARD.md")
NOTEBOOKS = "notebooks/[0-9][0-9]_*.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SNAPSHOT_CLASS = "widget-snapshot"


class StageError(ValueError):
    """A source the book cannot show: the message names the file and the fix."""


def _model_id(reference: str) -> str:
    return reference.removeprefix("IPY_MODEL_")


def _control_text(model: dict[str, Any]) -> str | None:
    """``description = value`` of a control (slider, dropdown, checkbox...), None otherwise."""
    state = model["state"]
    description = state.get("description") or ""
    if "_options_labels" in state:  # Dropdown, ToggleButtons: the value is an index
        index = state.get("index")
        labels = state["_options_labels"]
        value = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "none"
    elif model["model_name"].endswith(("SliderModel", "CheckboxModel", "TextModel")):
        value = state.get("value")
    else:
        return None
    return f"{description} = {value}" if description else str(value)


def _walk(state: dict[str, Any], model_id: str) -> Iterator[tuple[str, Any]]:
    """The parts of a stored widget tree, in display order: ("image", png bytes), ("html",
    markup), ("text", str), ("control", "name = value") and ("output", nbformat output)."""
    model = state.get(model_id)
    if model is None:
        return
    name, values = model["model_name"], model["state"]
    if "children" in values:  # VBox, HBox, Box, GridBox, Accordion, Tab
        for child in values["children"]:
            yield from _walk(state, _model_id(child))
    elif name == "ImageModel":
        for buffer in model.get("buffers", []):
            if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
                data = base64.b64decode(buffer["data"])
                if data:
                    yield "image", (values.get("format") or "png", data)
    elif name == "HTMLModel":
        if values.get("value"):
            yield "html", values["value"]
    elif name == "LabelModel":
        if values.get("value"):
            yield "text", values["value"]
    elif name == "OutputModel":
        for output in values.get("outputs", []):
            yield "output", output
    else:
        control = _control_text(model)
        if control is not None:
            yield "control", control


def widget_snapshot(view: dict[str, Any], state: dict[str, Any], live: str) -> list[dict]:
    """Static outputs standing for the widget view ``view`` (its ``model_id``) in the stored
    widget ``state``: a line saying it is a snapshot and where it is live (``live``, markup),
    then its pictures (PNG outputs, so Sphinx writes them as image files), texts and outputs.

    Raises ValueError when the state holds no picture for the view: a page would show an empty
    box where the reader expects one."""
    parts = list(_walk(state, view["model_id"]))
    controls = [value for kind, value in parts if kind == "control"]
    if not any(kind == "image" for kind, _ in parts):
        raise ValueError(f"the stored widget state holds no picture for view {view['model_id']}")
    settings = f" (controls: {'; '.join(controls)})" if controls else ""
    note = (
        f'<p class="{SNAPSHOT_CLASS}"><strong>Interactive explorer</strong>, shown here as the '
        f"picture it last drew when the notebook was run{html.escape(settings)}. {live}</p>"
    )
    outputs = [_display({"text/html": note})]
    for kind, value in parts:
        if kind == "image":
            fmt, data = value
            mime = "image/jpeg" if fmt in ("jpg", "jpeg") else f"image/{fmt}"
            outputs.append(_display({mime: base64.b64encode(data).decode("ascii")}))
        elif kind == "html":
            outputs.append(_display({"text/html": f"<p>{value}</p>"}))
        elif kind == "text":
            outputs.append(_display({"text/plain": value}))
        elif kind == "output":
            outputs.append(value)
    return outputs


def _display(data: dict[str, str]) -> dict[str, Any]:
    return {"output_type": "display_data", "data": data, "metadata": {}}


# The explorers the classroom app (apps/app.py) also shows.
APP_EXPLORERS = ("overlay_explorer", "mask_browser", "box_probe")
LIVE = "Its controls are live when you run the notebook in JupyterLab (<code>make lab</code>)."
LIVE_IN_APP = (
    "Its controls are live when you run the notebook in JupyterLab (<code>make lab</code>) and "
    "in the classroom app (<code>maskrcnn-tutorial app</code>)."
)


def live_text(source: str) -> str:
    """Where the explorer that a cell's ``source`` makes is live."""
    return LIVE_IN_APP if any(f"{name}(" in source for name in APP_EXPLORERS) else LIVE


def run_note(name: str, source: str) -> dict[str, Any]:
    """A markdown cell linking to the notebook ``name`` (``source``: its path relative to the
    staged page) and saying how to run it."""
    text = (
        ":::{admonition} Run this notebook yourself\n"
        ":class: tip run-note\n"
        f"This page is {{download}}`notebooks/{name} <{source}>` as stored with its outputs (from\n"
        "the embedded `shapes` model); nothing runs here, and each explorer shows the picture it\n"
        "last drew. To run it: clone the repository and, with Python 3.10+, `make demo` (creates\n"
        "`.venv` and segments a sample scene), then `make lab` and open the notebook in\n"
        "JupyterLab. `make test` runs every notebook top to bottom and compares its outputs\n"
        "with the ones shown here.\n"
        ":::\n"
    )
    return {"cell_type": "markdown", "id": "run-note", "metadata": {}, "source": text}


def static_notebook(notebook: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    """``notebook`` (nbformat JSON) as the book shows it: every widget view replaced by its
    snapshot (:func:`widget_snapshot`), the saved widget state dropped, and :func:`run_note`
    after the first cell (the title)."""
    metadata = dict(notebook.get("metadata", {}))
    widgets = metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    cells = []
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            outputs = []
            for output in cell.get("outputs", []):
                view = output.get("data", {}).get(WIDGET_VIEW)
                if not view:
                    outputs.append(output)
                    continue
                try:
                    outputs += widget_snapshot(view, widgets, live_text("".join(cell["source"])))
                except ValueError as error:
                    raise StageError(
                        f"{name} cell {number}: {error}; store it again with `make run-notebooks` "
                        "(nbconvert saves the widget state)"
                    ) from None
            cell = {**cell, "outputs": outputs}
        cells.append(cell)
    cells.insert(1, run_note(name, source))
    return {**notebook, "metadata": metadata, "cells": cells}


PACKAGE = "maskrcnn_tutorial"


# Libraries of the package's extras that a book build does not install (the training's torch):
# while reading the package, imports of them get Sphinx's stand-in objects (autodoc_mock_imports).
MOCK_IMPORTS = ["torch"]


def _is_module(name: str) -> bool:
    """Whether ``name`` (maskrcnn_tutorial.x.y) is a module of the package, read from its files
    (importing a module that needs torch is not needed to know it is one)."""
    spec = importlib.util.find_spec(PACKAGE)
    base = Path(spec.submodule_search_locations[0]).joinpath(*name.split(".")[1:])
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:  # it needs a library of an extra: read it as autodoc will
        from sphinx.ext.autodoc.mock import mock

        before = set(sys.modules)
        with mock(MOCK_IMPORTS):
            try:
                return importlib.import_module(module)
            finally:  # no module built on stand-ins stays behind for later imports
                for name in set(sys.modules) - before:
                    del sys.modules[name]


def _defined_in(module: str, name: str) -> str | None:
    """The package module where ``module.name`` is defined (a name re-exported from elsewhere
    is documented where its code is), or None for a value that does not say."""
    value = getattr(_import(module), name, None)
    home = getattr(value, "__module__", None)
    return home if isinstance(home, str) and home.split(".")[0] == PACKAGE else None


def called_modules(notebook: dict[str, Any]) -> set[str]:
    """The package's modules that ``notebook``'s code imports, or imports names from (with the
    modules where those names are defined)."""
    found = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if _is_module(full):
                        found.add(full)
                    else:
                        found.add(node.module)
                        found.add(_defined_in(node.module, alias.name) or node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
    found.discard(PACKAGE)
    return found


def api_page(modules: set[str]) -> str:
    """The API reference page (MyST): one section per module, from its docstrings."""
    parts = [
        "# API reference\n\n"
        "The helper package's modules that the notebooks call, generated from their docstrings\n"
        "(the same text `help()` shows in a notebook). The names in the notebooks' code cells\n"
        "link here.\n"
    ]
    for module in sorted(modules):
        # autodoc writes reStructuredText: parsed as such, not as Markdown
        parts.append(f"\n## `{module}`\n\n```{{eval-rst}}\n.. automodule:: {module}\n```\n")
    return "".join(parts)


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write only what changed, so Sphinx rebuilds only the pages whose sources did."""
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def stage(target: Path, root: Path = ROOT) -> list[Path]:
    """Lay out the book's sources under ``target``; returns the staged files. Files staged
    before and no longer part of the book are removed."""
    staged = []
    for page in sorted(PAGES.rglob("*")):
        if page.is_file():
            staged.append(target / page.relative_to(PAGES))
            _write_if_changed(staged[-1], page.read_bytes())
    for name in MARKDOWN:
        staged.append(target / name)
        _write_if_changed(staged[-1], (root / name).read_bytes())
    modules: set[str] = set()
    for notebook in sorted(root.glob(NOTEBOOKS)):
        page = target / notebook.relative_to(root)
        source = Path(os.path.relpath(notebook, page.parent)).as_posix()
        try:
            original = json.loads(notebook.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise StageError(f"{notebook} is not a notebook (JSON): {error}") from None
        modules |= called_modules(original)
        staged.append(page)
        content = static_notebook(original, notebook.name, source)
        _write_if_changed(page, json.dumps(content, indent=1, ensure_ascii=False).encode())
    staged.append(target / "api.md")
    _write_if_changed(staged[-1], api_page(modules).encode())
    keep = set(staged)
    for old in sorted(target.rglob("*"), reverse=True):
        if old.is_file() and old not in keep:
            old.unlink()
        elif old.is_dir() and not any(old.iterdir()):
            shutil.rmtree(old)
    return staged
