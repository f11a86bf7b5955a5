"""Every notebook in notebooks/ is executed with papermill at the smoke profile (one test each, so a new notebook
is tested by existing) and checked for hygiene. Cells marked `# NBVAL_CHECK_OUTPUT` must reproduce their
committed output (the same check `pytest --nbval-lax` makes).

Notebooks are reproducibility tests: each smoke run records its key numbers (`posekit.experiment.record`), which
must agree with the committed tests/recorded/<notebook>.smoke.json within RECORD_TOLERANCE: the larger of 0.5 mm
and 1 % (one thread per run, fixed seeds; on the same machine the numbers repeat exactly, across CPUs float
rounding in training moves them a little). `UPDATE_RECORDED=1 pytest tests/test_notebooks.py` rewrites the files
after a change that is meant to move a result; the diff then shows in review.
"""
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MARK = "# NBVAL_CHECK_OUTPUT"
RECORDED = ROOT / "tests" / "recorded"


def RECORD_TOLERANCE(value: float) -> float:
    return max(0.5, 0.01 * abs(value))


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


def is_paper_notebook(path) -> bool:
    """01-08: one notebook per paper, in the order of the course (00 is the tour, 09 and later are tools)."""
    return 1 <= int(path.stem[:2]) <= 8


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
        else:
            assert cell.get("outputs") and cell.get("execution_count") is not None, \
                f"a {MARK} cell keeps its outputs and an execution count (nbval skips an 'unrun' cell):\n{cell.source[:80]}"
    if not is_paper_notebook(path):          # the tour, the leaderboard, your video: no paper structure to follow
        return
    assert any(c.source.startswith(MARK) for c in code), f"no {MARK} cell (parameter count at the paper config)"
    headings = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for section in ("Idea", "Data", "Build step by step", "Train", "Evaluate", "Reproduce the claim",
                    "Compare with the paper", "Explore"):
        assert re.search(rf"^## .*{section}", headings, re.M), f"missing section '## {section}'"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_at_smoke_profile(path, tmp_path):
    import papermill
    out = tmp_path / path.name
    records = tmp_path / "recorded"
    saved = {k: os.environ.get(k) for k in ("POSEKIT_PROFILE", "POSEKIT_RECORD_DIR")}
    os.environ.update(POSEKIT_PROFILE="smoke", POSEKIT_RECORD_DIR=str(records))
    try:
        papermill.execute_notebook(str(path), str(out), parameters={"PROFILE": "smoke"}, cwd=str(path.parent),
                                   kernel_name="python3", progress_bar=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    _check_recorded(path.stem, records / f"{path.stem}.smoke.json")
    committed = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    executed = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    executed = [c for c in executed if "injected-parameters" not in c.metadata.get("tags", [])]
    for before, after in zip(committed, executed):
        if before.source.startswith(MARK):
            assert _text(after.outputs) == _text(before.outputs), f"{MARK} cell changed:\n{before.source[:120]}"


def _check_recorded(stem: str, produced: Path) -> None:
    assert produced.is_file(), f"{stem} recorded no key numbers: call posekit.experiment.record(...) at the end"
    numbers = json.loads(produced.read_text())
    committed = RECORDED / f"{stem}.smoke.json"
    if os.environ.get("UPDATE_RECORDED"):
        RECORDED.mkdir(exist_ok=True)
        committed.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    assert committed.is_file(), f"no committed record {committed}; run UPDATE_RECORDED=1 pytest {__file__}"
    expected = json.loads(committed.read_text())
    assert set(numbers) == set(expected), f"{stem} records {sorted(numbers)}, committed {sorted(expected)}"
    moved = {k: (expected[k], numbers[k]) for k in expected
             if abs(numbers[k] - expected[k]) > RECORD_TOLERANCE(expected[k])}
    assert not moved, f"{stem}: key numbers moved beyond the tolerance (committed, now): {moved}"
