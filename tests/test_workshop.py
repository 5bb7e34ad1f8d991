"""The workshop guide's plan adds up to 90 minutes and names notebooks and sections that exist."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GUIDE = NOTEBOOKS / "WORKSHOP.md"


def plan_rows():
    text = GUIDE.read_text()
    table = text.split("## The plan (90 minutes)")[1].split("\n\n")[2]
    rows = [line.split("|")[1:-1] for line in table.splitlines()[2:]]
    return [[cell.strip() for cell in row] for row in rows]


def test_the_minutes_add_up_to_ninety_and_the_start_times_follow():
    rows = plan_rows()
    minutes = [int(row[1]) for row in rows if row[0]]
    assert sum(minutes) == 90 and rows[-1][1] == "**90**"
    clock = 0
    for row, length in zip([r for r in rows if r[0]], minutes, strict=True):
        hours, mins = map(int, row[0].split(":"))
        assert hours * 60 + mins == clock
        clock += length


def test_every_notebook_section_the_plan_names_exists():
    for row in plan_rows():
        match = re.match(r"`(\d\d_\w+)`: (.*)", row[2])
        if not match:
            continue
        (path,) = NOTEBOOKS.glob(match.group(1) + ".ipynb")
        cells = json.loads(path.read_text())["cells"]
        headings = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for quoted in re.findall(r'"([^"]+)"', match.group(2)):
            assert quoted.split(" to ")[0] in headings, (path.name, quoted)


def test_every_section_the_misconceptions_point_to_exists():
    text = GUIDE.read_text()
    table = text.split("## Misconceptions to expect")[1].split("\n\n")[1]
    for line in table.splitlines()[2:]:
        where = line.split("|")[3].strip()
        number, section = re.match(r"`(\d\d)`, \"(.+)\"", where).groups()
        (path,) = NOTEBOOKS.glob(number + "_*.ipynb")
        cells = json.loads(path.read_text())["cells"]
        headings = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        assert section.split(":")[0] in headings, (path.name, section)


@pytest.mark.parametrize("command", ["make check", "fetch coco --from", "pip download"])
def test_the_offline_preparation_is_described(command):
    assert command in GUIDE.read_text()
