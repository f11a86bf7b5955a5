"""Command-line runs: repeatable, explicitly resumed, one run per folder, every dataset trainable and evaluable.

In-process `posekit.cli.main`, smoke profile, the session's tiny synthetic dataset or tiny files in the real layouts.
"""
from __future__ import annotations

import functools
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit import cli, runcard
from posekit.data import synthetic
from posekit.data.samplers import ClipBank
from test_loaders import make_3dhp_sequence, obj, write_3dhp_test_mat, write_3dpw, write_h36m, write_humaneva


@pytest.fixture
def synth_root(tiny_synth, monkeypatch):
    """`--data synth --root <this>` reads the session's tiny synthetic dataset (100 frames per sequence)."""
    monkeypatch.setattr(synthetic, "load_synthetic",
                        functools.partial(synthetic.load_synthetic, frames_per_sequence=100))
    return str(Path(tiny_synth.info["folder"]).parent)


@pytest.fixture
def h36m_root(tmp_path):
    """Tiny Human3.6M files (VideoPose3D layout): a run on them takes a fraction of a second."""
    root = tmp_path / "h36m"
    root.mkdir()
    write_h36m(root, joints=32, t=40)
    return str(root)


def train_synth(root, out, *extra, method="tcn"):
    return cli.main(["train", method, "--data", "synth", "--root", root, "--profile", "smoke", "--out", str(out),
                     "--threads", "1", *map(str, extra)])


def train_h36m(root, out, *extra, method="tcn"):
    return cli.main(["train", method, "--data", "h36m", "--keypoints", "gt", "--root", root, "--profile", "smoke",
                     "--out", str(out), "--threads", "1", *map(str, extra)])


def comparable(out: Path) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["run"].pop("resumed_from_epoch", None)
    return runcard.without_timings(metrics)


def weights(out: Path) -> torch.Tensor:
    state = torch.load(out / "model.pt", weights_only=True)["model"]
    return torch.cat([v.flatten().float() for v in state.values()])


def last_line(capsys) -> str:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()][-1]


@pytest.mark.slow
def test_same_command_twice_gives_the_same_metrics_field_by_field(synth_root, tmp_path):
    assert train_synth(synth_root, tmp_path / "a", "--seed", 3) == 0
    assert train_synth(synth_root, tmp_path / "b", "--seed", 3) == 0
    a, b = comparable(tmp_path / "a"), comparable(tmp_path / "b")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key
    assert torch.equal(weights(tmp_path / "a"), weights(tmp_path / "b"))
    assert train_synth(synth_root, tmp_path / "c", "--seed", 4) == 0
    assert comparable(tmp_path / "c")["MPJPE"] != a["MPJPE"]  # the seed reaches the initial weights


def test_run_card_in_metrics_and_checkpoint(synth_root, tmp_path):
    assert train_synth(synth_root, tmp_path / "r", "--epochs", 1, "--lr", 0.002, method="mlp") == 0
    card = json.loads((tmp_path / "r" / "metrics.json").read_text())["run"]
    assert card == torch.load(tmp_path / "r" / "model.pt", weights_only=True)["run"]
    assert card == json.loads((tmp_path / "r" / "run.json").read_text())
    for key in ("method", "configuration", "overrides", "frames", "joints", "profile", "dataset", "root", "keypoints",
                "split", "seed", "optimiser", "epochs", "epochs_done", "data_version", "posekit_version",
                "git_commit", "torch_version", "device", "threads"):
        assert key in card, key
    assert card["overrides"] == {"epochs": 1, "lr": 0.002, "threads": 1}
    assert card["optimiser"]["lr"] == 0.002 and card["optimiser"]["batch_size"] == 32
    assert (card["method"], card["frames"], card["epochs_done"], card["threads"]) == ("mlp", 1, 1, 1)
    assert card["data_version"] == f"synth-v{synthetic.VERSION}-seed0-T100"


@pytest.mark.slow
def test_resume_continues_to_the_uninterrupted_result(synth_root, tmp_path, capsys):
    assert train_synth(synth_root, tmp_path / "full", "--epochs", 2) == 0
    assert train_synth(synth_root, tmp_path / "cut", "--epochs", 1) == 0
    capsys.readouterr()
    assert train_synth(synth_root, tmp_path / "cut", "--epochs", 2, "--resume") == 0
    err = capsys.readouterr().err
    assert "resuming" in err and "from epoch 2 of 2" in err
    assert comparable(tmp_path / "cut") == comparable(tmp_path / "full")


@pytest.mark.slow
def test_ctrl_c_names_the_epoch_and_the_resuming_command(synth_root, tmp_path, capsys, monkeypatch):
    assert train_synth(synth_root, tmp_path / "full", "--epochs", 2) == 0
    calls = []
    original = ClipBank.batches

    def interrupt_in_epoch_2(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *a, **k)
    monkeypatch.setattr(ClipBank, "batches", interrupt_in_epoch_2)
    capsys.readouterr()
    assert train_synth(synth_root, tmp_path / "cut", "--epochs", 2) == cli.INTERRUPTED
    line = last_line(capsys)
    assert "interrupted in epoch 2 of 2" in line and "epochs 1-1 are saved" in line
    command = line.split("resume with: ")[1]
    assert command.startswith("posekit train tcn") and command.endswith("--resume")
    monkeypatch.setattr(ClipBank, "batches", original)
    assert cli.main(shlex.split(command)[1:]) == 0
    assert comparable(tmp_path / "cut") == comparable(tmp_path / "full")


def test_a_folder_holds_one_run(h36m_root, tmp_path, capsys):
    out = tmp_path / "r"
    assert train_h36m(h36m_root, out, "--epochs", 1, method="mlp") == 0
    before = (out / "metrics.json").read_text()

    def refused(*argv, method="mlp"):
        capsys.readouterr()
        assert train_h36m(h36m_root, out, *argv, method=method) == 2
        return last_line(capsys)
    msg = refused("--epochs", 1)
    assert "already holds this run (finished, 1 epoch)" in msg and "--resume" in msg and "--overwrite" in msg
    msg = refused("--epochs", 1, "--seed", 5, "--lr", 0.01)
    assert "another run" in msg and "seed 0 -> 5" in msg and "lr 0.001 -> 0.01" in msg and "--overwrite" in msg
    msg = refused("--epochs", 1, method="tcn")
    assert "method 'mlp' -> 'tcn'" in msg
    msg = refused("--epochs", 1, "--resume")
    assert "already trained 1 epoch;" in msg and "--epochs N with N > 1" in msg
    msg = refused("--epochs", 2, "--resume", "--lr", 0.01)
    assert "holds a different run" in msg and "lr 0.001 -> 0.01" in msg
    msg = refused("--epochs", 2, "--resume", "--overwrite")
    assert "contradict" in msg
    assert (out / "metrics.json").read_text() == before  # nothing was touched
    capsys.readouterr()
    assert train_h36m(h36m_root, tmp_path / "empty", "--resume", method="mlp") == 2
    assert "holds no run to resume" in last_line(capsys)
    assert train_h36m(h36m_root, out, "--epochs", 1, "--seed", 5, "--overwrite", method="mlp") == 0
    assert json.loads((out / "metrics.json").read_text())["run"]["seed"] == 5


def test_nan_guard_on_the_command_line(h36m_root, tmp_path, capsys):
    capsys.readouterr()
    assert train_h36m(h36m_root, tmp_path / "r", "--epochs", 1, "--lr", 1e30, method="mlp") == 2
    msg = last_line(capsys)
    assert "training loss became" in msg and "--overwrite and a lower --lr" in msg


def test_checkpoint_is_saved_before_evaluation(h36m_root, tmp_path, capsys, monkeypatch):
    from posekit import models

    def failing_evaluate(model, data):
        raise FloatingPointError("the model predicted NaN/inf for 1 of 1 frames")
    real = models.trainer_for
    monkeypatch.setattr(models, "trainer_for", lambda name: real(name)._replace(evaluate=failing_evaluate))
    capsys.readouterr()
    assert train_h36m(h36m_root, tmp_path / "r", "--epochs", 1, method="mlp") == 2
    assert "the trained model is saved" in last_line(capsys)
    assert (tmp_path / "r" / "model.pt").is_file()


def test_eval_reads_the_model_from_the_checkpoint(h36m_root, tmp_path, capsys):
    out = tmp_path / "r"
    assert train_h36m(h36m_root, out, "--epochs", 1, "--frames", 27) == 0
    trained = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    common = ["--checkpoint", str(out / "model.pt"), "--data", "h36m", "--keypoints", "gt", "--root", h36m_root,
              "--profile", "smoke"]
    assert cli.main(["eval", *common]) == 0  # method, configuration and frames from model.pt
    assert json.loads(capsys.readouterr().out)["MPJPE"] == trained["MPJPE"]
    assert cli.main(["eval", "mixste", *common]) == 2
    assert "holds a 'tcn' model, not 'mixste'" in last_line(capsys)
    assert cli.main(["eval", *common, "--frames", "81"]) == 2
    assert "trained with clip length 27, not --frames 81: drop --frames" in last_line(capsys)


def _write_3dhp(root):
    write_3dhp_test_mat(root, n=12)
    data = {}
    for key in ("S1 Seq1", "S2 Seq2"):
        univ, _, annot2, _, _ = make_3dhp_sequence(12, (2048, 2048))
        data[key] = [{"0": {"data_2d": annot2, "data_3d": univ}, "4": {"data_2d": annot2, "data_3d": univ}}, 25]
    np.savez(root / "data_train_3dhp.npz", data=obj(data))


def _write_3dpw(root):
    write_3dpw(root)
    write_3dpw(root, split="train", name="courtyard_basketball_00", actors=1)
    write_3dpw(root, split="validation", name="courtyard_dancing_00")


@pytest.mark.parametrize("data,write,extra,joints", [
    ("h36m", lambda r: write_h36m(r, joints=32, t=12), ["--keypoints", "gt"], 17),
    ("humaneva", lambda r: write_humaneva(r, t=12), ["--keypoints", "gt"], 15),
    ("3dhp", _write_3dhp, [], 17),
    ("3dpw", _write_3dpw, [], 17),
    ("3dpw", _write_3dpw, ["--split", "validation"], 17),
])
def test_every_dataset_trains_and_evaluates_from_the_cli(tmp_path, capsys, data, write, extra, joints):
    root = tmp_path / "data"
    root.mkdir()
    write(root)
    for method in ("mlp", "tcn"):
        out = tmp_path / method
        args = ["--data", data, "--root", str(root), "--profile", "smoke", *extra]
        assert cli.main(["train", method, *args, "--out", str(out), "--epochs", "1"]) == 0
        state = torch.load(out / "model.pt", weights_only=True)
        assert state["joints"] == joints and state["run"]["split"] == (extra[1] if "--split" in extra else "test")
        capsys.readouterr()
        assert cli.main(["eval", "--checkpoint", str(out / "model.pt"), *args]) == 0
        assert np.isfinite(json.loads(capsys.readouterr().out)["MPJPE"])


def test_eval_refuses_a_model_of_another_joint_set(tmp_path, capsys):
    (tmp_path / "h").mkdir()
    (tmp_path / "he").mkdir()
    write_h36m(tmp_path / "h", joints=17, t=12)
    write_humaneva(tmp_path / "he", t=12)
    assert cli.main(["train", "mlp", "--data", "h36m", "--root", str(tmp_path / "h"), "--keypoints", "gt",
                     "--profile", "smoke", "--out", str(tmp_path / "r"), "--epochs", "1"]) == 0
    capsys.readouterr()
    assert cli.main(["eval", "--checkpoint", str(tmp_path / "r" / "model.pt"), "--data", "humaneva", "--root",
                     str(tmp_path / "he"), "--keypoints", "gt", "--profile", "smoke"]) == 2
    assert "predicts 17 joints but humaneva has 15" in last_line(capsys)
