"""Sphinx configuration of the book (``make book``; sources staged by book/stage.py).

Stack: Sphinx with MyST-NB (notebooks from their stored outputs, never executed) and the
sphinx-book-theme, which is what Jupyter Book 1 runs on; all from PyPI (the ``docs`` extra).
Everything a page loads is served from the build: no fonts, scripts or MathJax from the
internet (the series has no math, so no page loads MathJax; the browser tests fail on any
request that leaves the machine).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from book.stage import MOCK_IMPORTS  # noqa: E402 (found through the line above)

project = "Mask R-CNN through OpenCV's DNN module"
root_doc = "index"

# viewcode: each documented function links to its highlighted source ([source])
# napoleon: the docstrings that use Google-style sections (Args:, Returns:) read as such
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx_codeautolink",
]

# the README is read only in part, by index.md's include
exclude_patterns = ["README.md"]

# MyST-NB: show what the notebooks stored; never run them
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from CDNs (book/stage.py makes explorers static)
nb_merge_streams = True
myst_heading_anchors = 3  # README links to its own sections (#the-command-line)
myst_enable_extensions = ["colon_fence"]

# names in the notebooks' code cells link to the API page; a notebook's cells are read as one
# program, so a call links through an import made cells before
codeautolink_concat_default = True

# the training modules import torch (the train extra), which `make book` does not install
autodoc_mock_imports = MOCK_IMPORTS
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
add_module_names = False  # the module is the section's title; a phone has no room to repeat it

html_theme = "sphinx_book_theme"
html_title = "Mask R-CNN with OpenCV DNN"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_copy_source = False  # the notebooks are linked from each page (downloads), once
html_show_sourcelink = False
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
# the notebooks draw their figures on white (the theme button still offers dark); without a
# default, the theme logs a console error on a reader's first visit
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_show_copyright = False  # the project names no holder (MIT, see pyproject.toml)


def source_module(app, modname: str, fullname: str) -> str:
    """viewcode: the package module that holds ``modname.fullname``'s source. An object whose
    code lies outside the package (a constant of a built-in type) keeps its own module: Sphinx
    would otherwise list ``builtins`` among the source pages without writing one."""
    try:
        value = importlib.import_module(modname)
        for part in fullname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError):
        return modname
    home = getattr(value, "__module__", None)
    return home if isinstance(home, str) and home.split(".")[0] == "maskrcnn_tutorial" else modname


def setup(app):
    app.connect("viewcode-follow-imported", source_module)
