"""Build the book: ``python -m book.build [OUT]`` (``make book``).

Stages the sources (:func:`book.stage.stage`) in ``OUT-src`` beside ``OUT`` and runs Sphinx on
them with warnings as errors (its cache in ``OUT-doctrees``, so a second build reads only the
pages that changed); the HTML lands in ``OUT`` (default ``build/book``), ``OUT/index.html``
its first page. Exit status 0 when the build is clean, 1 when Sphinx warned or failed or a
notebook cannot be shown (one line says which and why), 2 on a bad argument.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from book.stage import ROOT, StageError, stage

CONF = Path(__file__).resolve().parent


def build(out: Path, quiet: bool = True) -> int:
    """Stage the sources beside ``out`` and build the HTML into ``out``; Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    sources, doctrees = out.parent / f"{out.name}-src", out.parent / f"{out.name}-doctrees"
    stage(sources)
    args = ["-b", "html", "-W", "--keep-going", "-c", str(CONF), "-d", str(doctrees)]
    status = build_main([*args, *(["-q"] if quiet else []), str(sources), str(out)])
    if status != 0:  # Sphinx warns only about pages it reads: read them all again next time
        shutil.rmtree(doctrees, ignore_errors=True)
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or any(arg.startswith("-") for arg in argv):
        print("usage: python -m book.build [OUT]  (default: build/book)", file=sys.stderr)
        return 2
    out = Path(argv[0]) if argv else ROOT / "build" / "book"
    for path in (out, out.parent / f"{out.name}-src", out.parent / f"{out.name}-doctrees"):
        if path.exists() and not path.is_dir():
            print(f"error: {path} is not a folder; name a folder for the book", file=sys.stderr)
            return 2
    try:
        status = build(out.resolve())
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if status == 0:
        print(f"the book is in {out / 'index.html'}")
    else:
        print("error: the book has warnings (above): fix them, then build again", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
