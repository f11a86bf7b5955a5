"""posekit.leaderboard: one budget, the same seeds, paired verdicts, floors as rows, CSV/markdown/README output."""
import csv

import pytest

from posekit import leaderboard
from posekit.profiles import get_profile


@pytest.fixture(scope="module")
def board(tiny_synth, tmp_path_factory):
    budget = get_profile("smoke").with_(epochs=1, max_train_windows=32, batch_size=16, test_every=20)
    with pytest.MonkeyPatch.context() as patch:           # a private run cache, restored after this module
        patch.setenv("POSEKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield leaderboard.run(budget, methods=("mlp", "tcn"), seeds=[0, 1], log=None,
                              datasets={leaderboard.MAIN: tiny_synth})


def test_every_method_is_scored_with_every_seed_and_judged_against_the_best(board):
    assert set(board.methods(leaderboard.MAIN)) == {"mlp", "tcn"}
    rows = [r for r in board.rows() if r["method"] in ("mlp", "tcn")]
    assert [r["seeds"] for r in rows] == [2, 2]
    best, other = rows
    assert best["method"] == board.ranking()[0] and best["vs best (mm)"] == "" and other["vs best (mm)"] > 0
    assert other["vs best (mm)"] == pytest.approx(other["MPJPE"] - best["MPJPE"], abs=0.01)   # paired mean diff
    assert {r["method"] for r in board.rows()} >= {"floor: mean pose", "floor: nearest-neighbour lookup"}
    assert board.costs["tcn"].params > 0 and board.costs["mlp"].flops_linear > 0 and board.costs["tcn"].latency_ms > 0


def test_the_board_writes_csv_markdown_and_the_readme_block(board, tmp_path):
    paths = board.write(tmp_path)
    with open(paths["csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {"MPJPE", "params", "latency b1 (ms)"} <= set(rows[0])
    md = paths["md"].read_text()
    assert "| setting | method |" in md and "floor: mean pose" in md and "flip test on" in md
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{leaderboard.README_START}\nold\n{leaderboard.README_END}\ntail\n")
    leaderboard.update_readme(readme, board)
    text = readme.read_text()
    assert "old" not in text and "| tcn |" in text and text.endswith("tail\n")
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        leaderboard.update_readme(readme, board)
    with pytest.raises(ValueError, match="unknown leaderboard setting"):
        leaderboard.run(board.profile, settings=("h36m",))


def test_published_numbers_are_the_papers_cpn_headline():
    assert leaderboard.published_mpjpe("mixste") == 40.9
    assert leaderboard.published_mpjpe("mlp") is None
