"""environment.yml (conda) and binder/environment.yml (repo2docker) ask for the packages
pyproject.toml gives a learner (its dependencies and its `notebooks` extra), and Binder's
Python is the one this project is tested on."""

import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = [ROOT / "environment.yml", ROOT / "binder" / "environment.yml"]


def dependencies(path: Path) -> tuple[list, list[str]]:
    """(conda dependencies, the pip section) of an environment file."""
    env = yaml.safe_load(path.read_text())
    sections = [item["pip"] for item in env["dependencies"] if isinstance(item, dict)]
    assert len(sections) == 1, f"{path.name} needs exactly one pip section"
    return [d for d in env["dependencies"] if isinstance(d, str)], sections[0]


def learner_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["notebooks"])


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_environment_matches_pyproject(path):
    listed = {line for line in dependencies(path)[1] if not line.startswith("-e")}
    wanted = learner_packages()
    assert listed == wanted, (
        f"only in {path.name}: {listed - wanted}; only in pyproject: {wanted - listed}"
    )


def test_the_conda_environment_installs_the_package():
    assert "-e ." in dependencies(ENVIRONMENTS[0])[1]


def test_binder_pins_the_tested_python_and_installs_the_package_after_the_copy():
    conda = dependencies(ENVIRONMENTS[1])[0]
    assert f"python={sys.version_info[0]}.{sys.version_info[1]}" in conda
    postbuild = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in postbuild
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111  # executable
