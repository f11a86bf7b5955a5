"""Every notebook in notebooks/ is executed with papermill at the smoke profile (one test each, so a new notebook
is tested by existing) and checked for hygiene. Cells marked `# NBVAL_CHECK_OUTPUT` must reproduce their
committed output (the same check `pytest --nbval-lax` makes)."""
import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MARK = "# NBVAL_CHECK_OUTPUT"


def _ids(paths):
    return [p.stem for p in paths]


def _text(outputs) -> str:
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o and "text/plain" in o["data"]:
            parts.append(o["data"]["text/plain"])
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_name.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_hygiene(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernel must be python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and code[0] is tagged[0], "the first code cell, and only it, is tagged 'parameters'"
    params = tagged[0].source
    assert 'PROFILE = os.environ.get("POSEKIT_PROFILE", "auto")' in params
    for name in ("SEED", "DATA", "DATA_ROOT", "DEVICE"):
        assert re.search(rf"^{name}\s*=", params, re.M), f"parameters cell lacks {name}"
    for cell in code:
        assert not re.search(r"^\s*[!%]\s*pip", cell.source, re.M), "no !pip / %pip cells"
        if not cell.source.startswith(MARK):
            assert not cell.get("outputs") and cell.get("execution_count") is None, \
                f"outputs must be stripped (nbstripout) except in {MARK} cells:\n{cell.source[:80]}"
    assert any(c.source.startswith(MARK) for c in code), f"no {MARK} cell (parameter count at the paper config)"
    headings = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    if not path.stem.startswith("00_"):
        for section in ("Idea", "Data", "Build step by step", "Train", "Evaluate", "Reproduce the claim",
                        "Compare with the paper", "Explore"):
            assert re.search(rf"^## .*{section}", headings, re.M), f"missing section '## {section}'"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_at_smoke_profile(path, tmp_path):
    import papermill
    out = tmp_path / path.name
    env_profile = os.environ.get("POSEKIT_PROFILE")
    os.environ["POSEKIT_PROFILE"] = "smoke"
    try:
        papermill.execute_notebook(str(path), str(out), parameters={"PROFILE": "smoke"}, cwd=str(path.parent),
                                   kernel_name="python3", progress_bar=False)
    finally:
        if env_profile is None:
            os.environ.pop("POSEKIT_PROFILE", None)
        else:
            os.environ["POSEKIT_PROFILE"] = env_profile
    committed = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    executed = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    executed = [c for c in executed if "injected-parameters" not in c.metadata.get("tags", [])]
    for before, after in zip(committed, executed):
        if before.source.startswith(MARK):
            assert _text(after.outputs) == _text(before.outputs), f"{MARK} cell changed:\n{before.source[:120]}"
