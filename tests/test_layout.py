"""The package's layout: every name the notebooks and the README import resolves, the README's
module table matches the tree, every subpackage says its job, and no module imports itself back
through others (an import circle)."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "maskrcnn_tutorial"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def code_of_docs() -> list[tuple[str, str]]:
    """(where, source) of every notebook code cell and every README / guide python block."""
    found = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")) + [PACKAGE / "apps" / "app.ipynb"]:
        for k, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] == "code":
                found.append((f"{nb.name} cell {k}", "".join(cell["source"])))
    for doc in [ROOT / "README.md", *sorted(ROOT.glob("notebooks/*.md"))]:
        for k, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)):
            found.append((f"{doc.name} block {k}", block))
    return found


def imported_names(source: str) -> list[tuple[str, str | None]]:
    """(module, name) for every ``from maskrcnn_tutorial... import name`` / ``import ...``."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("maskrcnn_tutorial"):
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.startswith("maskrcnn_tutorial")]
    return out


def test_every_name_the_notebooks_and_readme_import_resolves():
    checked = 0
    for _where, source in code_of_docs():
        for module, name in imported_names(source):
            mod = importlib.import_module(module)
            if name is not None and not hasattr(mod, name):
                importlib.import_module(f"{module}.{name}")  # a submodule: raises if missing
            checked += 1
    assert checked > 40, f"only {checked} imports found: is the scan broken?"


def test_the_voila_kernel_class_and_entry_points_resolve():
    from maskrcnn_tutorial.apps import server

    text = (PACKAGE / "apps" / "server.py").read_text()
    for dotted in re.findall(r'"(maskrcnn_tutorial\.[\w.]+)"', text):
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted
    assert server.APP_NOTEBOOK.is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    for target in re.findall(r'= "(maskrcnn_tutorial[\w.]*):(\w+)"', pyproject):
        assert hasattr(importlib.import_module(target[0]), target[1]), target
    for dotted in set(re.findall(r"python -m (maskrcnn_tutorial[\w.]*)", readme_and_guides())):
        assert importlib.util.find_spec(dotted) is not None, dotted


def readme_and_guides() -> str:
    texts = [ROOT / "README.md", ROOT / "Makefile", *ROOT.glob("notebooks/*.md")]
    return "\n".join(p.read_text() for p in texts)


def test_the_readme_module_table_matches_the_tree():
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| module | what it does |") :].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([\w/]+)` \| (.*) \|$", table, re.M)
    listed = {name.rstrip("/") for name, _ in rows}
    top = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__")}
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert listed == top | subpackages
    for name, what in rows:
        if name.endswith("/"):  # each subpackage row names every module in it
            modules = {p.stem for p in (PACKAGE / name).glob("*.py") if not p.stem.startswith("__")}
            modules |= {p.parent.name for p in (PACKAGE / name).glob("*/__init__.py")}
            missing = {m for m in modules if f"`{m}`" not in what and f"`{m}/`" not in what}
            assert not missing, f"{name}: {sorted(missing)} not in the README's table"


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_every_subpackage_says_its_job(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
    assert doc and len(doc.split()) >= 8, f"{package}/__init__.py needs a docstring saying its job"


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Package modules that ``path`` imports, at module level or inside a function (a deferred
    import is a circle put off, not removed), with the packages above each; not counted: imports
    under ``if TYPE_CHECKING`` (never run) and the packages above ``path`` itself (already being
    imported when it runs)."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update([node.module] + [f"{node.module}.{a.name}" for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    parts = module_name(path).split(".")
    above = {".".join(parts[:k]) for k in range(1, len(parts) + 1)}
    with_parents = set()
    for name in found:
        bits = name.split(".")
        with_parents.update(".".join(bits[:k]) for k in range(1, len(bits) + 1))
    return {m for m in with_parents if m in modules and m not in above}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every module that can reach itself again through imports, with one such path."""
    found = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    found.append(path + [start])
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


def test_no_import_circles():
    modules = package_modules()
    graph = {name: imports_of(path, modules) for name, path in modules.items()}
    assert sum(len(v) for v in graph.values()) > 100, "too few imports found: is the scan broken?"
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found[:10])


def test_the_circle_check_finds_the_circles_this_package_had(tmp_path, monkeypatch):
    pkg = tmp_path / "maskrcnn_tutorial"
    (pkg / "models").mkdir(parents=True)
    files = {
        "inference.py": "from maskrcnn_tutorial.split import SplitNet\n",
        "split.py": "from maskrcnn_tutorial.inference import read_net\n",
        "models/__init__.py": "def f():\n    from maskrcnn_tutorial.fetch import COCO_SOURCE\n",
        "fetch.py": "from maskrcnn_tutorial.models import coco_spec\n",
        "models/sources.py": "from maskrcnn_tutorial.models.spec import ModelSpec\n",
        "models/spec.py": "import numpy\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setattr("tests.test_layout.ROOT", tmp_path)
    modules = {module_name(p): p for p in pkg.rglob("*.py")}
    graph = {name: imports_of(path, modules) for name, path in modules.items()}
    starts = {c[0] for c in circles(graph)}
    assert starts == {
        "maskrcnn_tutorial.inference",
        "maskrcnn_tutorial.split",
        "maskrcnn_tutorial.models",
        "maskrcnn_tutorial.fetch",
    }
