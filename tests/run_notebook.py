"""Execute one notebook top to bottom in a fresh kernel and report time, peak memory, errors.

``python tests/run_notebook.py NOTEBOOK`` prints one JSON line: ``seconds``, ``peak_mb`` (the
kernel's peak resident memory: it is this process's only waited-for child), ``errors`` (error
outputs, as ``cell N: ename: evalue``) and ``stdout`` (every cell's printed text). Used by
``tests/test_notebooks_coco.py``; the notebook file is not modified.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run(path: Path) -> dict:
    """Run the notebook at ``path`` (working directory: its folder) and describe the run."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError:
        pass  # the error output is in the notebook; reported below
    seconds = time.perf_counter() - start
    errors, stdout = [], []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {index}: {output['ename']}: {output['evalue']}")
            elif output.get("output_type") == "stream" and output.get("name") == "stdout":
                stdout.append(output["text"])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "notebook": path.name,
        "seconds": round(seconds, 1),
        "peak_mb": round(peak_kb / 1024),
        "errors": errors,
        "stdout": "".join(stdout),
    }


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]).resolve())))
