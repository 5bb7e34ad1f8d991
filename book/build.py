"""Build the book: ``python -m book.build [OUT]`` (``make book``).

Stages the sources (:func:`book.stage.stage`) under ``OUT/../book-src`` and runs Sphinx on them
with warnings as errors; the HTML lands in ``OUT`` (default ``build/book``), ``OUT/index.html``
its first page. Exit status 0 when the build is clean, 1 when Sphinx warned or failed, 2 on a
bad argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

from book.stage import ROOT, stage

CONF = Path(__file__).resolve().parent


def build(out: Path, quiet: bool = True) -> int:
    """Stage the sources beside ``out`` and build the HTML into ``out``; Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    sources = out.parent / f"{out.name}-src"
    stage(sources)
    args = ["-b", "html", "-W", "--keep-going", "-c", str(CONF), "-d", str(sources / ".doctrees")]
    return build_main([*args, *(["-q"] if quiet else []), str(sources), str(out)])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or any(arg.startswith("-") for arg in argv):
        print("usage: python -m book.build [OUT]  (default: build/book)", file=sys.stderr)
        return 2
    out = Path(argv[0]) if argv else ROOT / "build" / "book"
    status = build(out.resolve())
    if status == 0:
        print(f"the book is in {out / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
