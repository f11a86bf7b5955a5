"""Write a notebook the way it is committed: outputs stripped (like nbstripout) except in cells whose first
line is `# NBVAL_CHECK_OUTPUT`, which keep their outputs (and an execution count) from an executed copy.

    python ci/stripout.py notebooks/04_hot.ipynb [--from executed.ipynb]

Without --from, the notebook is executed at the smoke profile with papermill first.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

MARK = "# NBVAL_CHECK_OUTPUT"


def strip(committed: Path, executed: Path) -> None:
    nb = nbformat.read(committed, as_version=4)
    ran = [c for c in nbformat.read(executed, as_version=4).cells
           if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(ran) != len(code):
        sys.exit(f"{executed} has {len(ran)} code cells, {committed} has {len(code)}: not the same notebook")
    for cell, done in zip(code, ran):
        cell.execution_count = None
        cell.outputs = []
        if cell.source.startswith(MARK):  # nbval treats a cell without execution_count as never run
            cell.execution_count = done.execution_count or 1
            cell.outputs = [o for o in done.outputs if o.get("output_type") in ("stream", "execute_result")]
            for o in cell.outputs:
                if "execution_count" in o:
                    o["execution_count"] = cell.execution_count
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, committed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--from", dest="executed", type=Path)
    args = ap.parse_args()
    executed = args.executed
    if executed is None:
        executed = Path(tempfile.mkdtemp()) / args.notebook.name
        subprocess.run([sys.executable, "-m", "papermill", str(args.notebook), str(executed), "-p", "PROFILE", "smoke",
                        "--cwd", str(args.notebook.parent)], check=True, env={**os.environ, "POSEKIT_PROFILE": "smoke"})
    strip(args.notebook, executed)
    print(f"{args.notebook}: outputs stripped, {MARK} cells kept")


if __name__ == "__main__":
    main()
