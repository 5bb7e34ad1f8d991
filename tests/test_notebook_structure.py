"""Every notebook is teaching material with a fixed shape, stored as a fresh top-to-bottom run.

nbval (``make notebooks``) re-runs them and compares outputs; these checks make sure there is
something real to compare: all code cells executed in order, no errors stored.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HEADINGS = ("Overview", "Prerequisites", "Summary", "Exercises", "What's next")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_the_series_is_numbered_without_gaps():
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(len(numbers))) and len(numbers) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_the_teaching_sections(path):
    markdown = "\n".join(
        "".join(cell["source"]) for cell in load(path)["cells"] if cell["cell_type"] == "markdown"
    )
    for heading in HEADINGS:
        assert f"## {heading}" in markdown, f"{path.name} lacks '## {heading}'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_in_order_without_errors(path):
    code = [cell for cell in load(path)["cells"] if cell["cell_type"] == "code"]
    counts = [cell["execution_count"] for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: run it top to bottom, fresh"
    for cell in code:
        assert all(output["output_type"] != "error" for output in cell["outputs"])


def exercises_section(cells: list[dict]) -> tuple[int, int]:
    """Indices of the cells holding '## Exercises' and "## What's next"."""
    text = ["".join(cell["source"]) if cell["cell_type"] == "markdown" else "" for cell in cells]
    start = next(k for k, t in enumerate(text) if "## Exercises" in t)
    return start, next(k for k, t in enumerate(text) if "## What's next" in t)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_solutions_are_cells_that_run(path):
    """A solution is a code cell tagged ``solution`` (source and output collapsed, so a learner
    opens it on purpose) inside the Exercises section: nbval and the coco run execute it like
    every other cell, so a solution that breaks fails ``make test``."""
    cells = load(path)["cells"]
    start, end = exercises_section(cells)
    as_text = [
        k
        for k in range(start, end + 1)
        if cells[k]["cell_type"] == "markdown" and "```python" in "".join(cells[k]["source"])
    ]
    solutions = [k for k, c in enumerate(cells) if "solution" in c["metadata"].get("tags", [])]
    assert not as_text, f"{path.name}: cells {as_text} hold solutions as text; make them cells"
    assert solutions, f"{path.name} has no solution cells"
    for k in solutions:
        cell = cells[k]
        assert start < k < end and cell["cell_type"] == "code", f"{path.name} cell {k}"
        assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
        assert cell["execution_count"] is not None
