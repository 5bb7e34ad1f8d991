"""The workshop guide: its plan fits 90 minutes with slack and agrees with the notebooks' own
times, names sections that exist, and its answer key says what the model does today; the
commands it gives for Windows name only programs and options that exist."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.apps.cli import build_parser
from maskrcnn_tutorial.explain.answers import answer_key

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
GUIDE = NOTEBOOKS / "WORKSHOP.md"
MIN_SLACK = 10


def section(title: str) -> str:
    text = GUIDE.read_text()
    return text.split(f"\n## {title}\n")[1].split("\n## ")[0]


def table(text: str) -> list[list[str]]:
    """The rows (cells stripped) of the first markdown table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[2:]]


def plan_rows() -> list[list[str]]:
    return table(section("The plan (90 minutes)"))


def slots() -> list[list[str]]:
    return [row for row in plan_rows() if row[0]]


def notebook_of(row: list[str]) -> Path | None:
    match = re.match(r"`(\d\d_\w+)`", row[2])
    return next(NOTEBOOKS.glob(match.group(1) + ".ipynb")) if match else None


def markdown_of(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def reading_minutes(path: Path) -> int:
    """The notebook's own time to read, from the table under its Prerequisites."""
    prerequisites = markdown_of(path).split("## Prerequisites")[1].split("\n## ")[0]
    (minutes,) = re.findall(r"(\d+) minutes", prerequisites)
    return int(minutes)


def test_the_minutes_add_up_to_ninety_and_the_start_times_follow():
    minutes = [int(row[1]) for row in slots()]
    assert sum(minutes) == 90 and plan_rows()[-1][1] == "**90**"
    clock = 0
    for row, length in zip(slots(), minutes, strict=True):
        hours, mins = map(int, row[0].split(":"))
        assert hours * 60 + mins == clock, row
        clock += length


def test_the_plan_keeps_slack():
    slack = sum(int(row[1]) for row in slots() if row[2] == "slack")
    assert slack >= MIN_SLACK


def test_no_notebook_gets_more_minutes_than_its_own_time_to_read():
    planned: dict[Path, int] = {}
    for row in slots():
        if (path := notebook_of(row)) is not None:
            planned[path] = planned.get(path, 0) + int(row[1])
    for path, minutes in planned.items():
        assert minutes <= reading_minutes(path), (path.name, minutes, reading_minutes(path))


def test_the_guide_states_the_notebooks_total_reading_time():
    total = sum(reading_minutes(p) for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    intro = GUIDE.read_text().split("\n## ")[0]
    assert f"add up to {total} minutes" in intro


def test_every_notebook_slot_starts_with_run_all():
    for row in slots():
        if notebook_of(row) is not None:
            assert row[3].startswith("Run All"), row


def test_notebook_03s_core_and_08s_two_findings_are_in_the_plan():
    rows = {notebook_of(row).name[:2]: row for row in slots() if notebook_of(row) is not None}
    assert '"2. Anchors" to "5. The proposals"' in rows["03"][2]
    for step in ("anchors", "objectness", "NMS", "proposal"):
        assert step in rows["03"][3] + rows["03"][4], step
    assert re.findall(r'"([^"]+)"', rows["08"][2]) == [
        "IoU: how much two regions agree",
        "How the thresholds move the figures",
    ]


def test_every_notebook_section_the_plan_names_exists():
    for row in slots():
        if (path := notebook_of(row)) is None:
            continue
        headings = markdown_of(path)
        quoted = re.findall(r'"([^"]+)"', row[2].split(":", 1)[1])
        assert quoted, row
        for name in quoted:
            assert f"## {name}" in headings, (path.name, name)


def test_every_section_the_misconceptions_point_to_exists():
    for row in table(section("Misconceptions to expect, and where the notebooks answer them")):
        number, name = re.match(r"`(\d\d)`, \"(.+)\"", row[2]).groups()
        (path,) = NOTEBOOKS.glob(number + "_*.ipynb")
        assert f"## {name}" in markdown_of(path), (path.name, name)


@pytest.fixture(scope="module")
def key():
    return answer_key(models.load_model("shapes"))


def test_the_answer_key_is_what_the_model_answers_today(key):
    """Each row of the guide's key is the computed answer, word for word and number for number."""
    rows = table(section("The teacher's answer key"))
    assert [[a.where, a.prompt, a.answer] for a in key] == rows


def test_every_predict_prompt_of_the_plan_has_its_answer_in_the_key(key):
    for row in slots():
        for question in re.findall(r"[^?]+\?", row[4]):
            assert any(question.strip() in a.prompt for a in key), question


def test_the_in_session_exercises_have_solutions_and_answers(key):
    listed = re.findall(r"\*\*(\d\d)\.(\d)\*\*", section("The plan (90 minutes)"))
    assert len(listed) >= 2
    for number, exercise in listed:
        (path,) = NOTEBOOKS.glob(number + "_*.ipynb")
        exercises = markdown_of(path).split("## Exercises")[1]
        assert re.search(rf"^{exercise}\. ", exercises, re.M), (path.name, exercise)
        # the notebooks' solutions are code cells tagged "solution", one per exercise, in order
        assert len(solution_cells(path)) >= int(exercise), (path.name, exercise)
        assert any(a.where == number and a.prompt.startswith(f"Exercise {exercise}:") for a in key)


def solution_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "solution" in c.get("metadata", {}).get("tags", [])
    ]


@pytest.mark.parametrize(
    "command", ["pip download", "--no-index --find-links wheels", "fetch coco --from", "doctor"]
)
def test_the_offline_preparation_is_described(command):
    assert command in section("The offline room")


def test_nothing_claims_a_room_it_was_not_tried_in():
    text = GUIDE.read_text()
    assert "30 laptops" not in text and "150 minutes" not in text and "real face" not in text


# --- the commands given for Windows -----------------------------------------------------------

DOCS = [ROOT / "README.md", GUIDE]
#: What a fresh Windows Python has besides the venv's console scripts.
WINDOWS_BUILTINS = {"py", "python"}


def windows_lines() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for block in re.findall(r"```(?:powershell|bat)\n(.*?)```", doc.read_text(), re.S):
            found += [(doc.name, line) for line in block.splitlines() if line.strip()]
    return found


def console_scripts() -> set[str]:
    return {ep.name for ep in entry_points(group="console_scripts")}


def test_there_are_windows_commands_in_the_readme_and_the_guide():
    assert {doc for doc, _ in windows_lines()} == {"README.md", "WORKSHOP.md"}


@pytest.mark.parametrize(("doc", "line"), windows_lines())
def test_each_windows_command_names_a_program_and_options_that_exist(doc, line):
    words = line.split()
    program = re.sub(r"^(\.\\)?\.venv\\Scripts\\", "", words[0]).removesuffix(".exe")
    assert "/" not in line.split(" -m ")[0], f"{doc}: {line}"  # no POSIX path to a program
    assert program in WINDOWS_BUILTINS | console_scripts(), f"{doc}: {program} in {line}"
    if words[0].startswith(".venv") or words[0].startswith(".\\"):
        assert re.match(r"^(\.\\)?\.venv\\Scripts\\[\w-]+\.exe$", words[0]), line
    if program == "maskrcnn-tutorial":
        build_parser().parse_args(words[1:])  # an unknown command or option exits
