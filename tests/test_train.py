import json
import os
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit import profiles
from posekit.models import build_model
from posekit.nn import mixste_loss, mpjpe_loss
from posekit.train import EvalResult, TrainConfig, evaluate, fit, mean_pose_predictions, predict, prepare_data


def _config(**kw):
    return TrainConfig(**{**dict(epochs=2, batch_size=16, lr=1e-3, max_train_windows=64, progress=False,
                                 device="cpu"), **kw})


def test_training_lowers_the_loss_and_evaluates(tiny_synth):
    model = build_model("mixste", "smoke")
    history = fit(model, tiny_synth.train, _config(epochs=3, max_train_windows=128), val=tiny_synth.test.subsample_sequences(20))
    losses = history["loss"]
    assert losses[-1] < losses[0]
    assert all(math.isfinite(v) for v in history["val_mpjpe"])
    result = evaluate(model, tiny_synth.test.subsample_sequences(20))
    assert isinstance(result, EvalResult) and result.frames > 0
    assert set(result.summary()) == {"MPJPE", "P-MPJPE", "N-MPJPE", "MPJVE", "PCK", "AUC"}
    assert result.per_joint.shape == (17,) and "Average" in result.per_action


def test_same_seed_same_numbers_and_resume_reaches_the_same_result(tiny_synth, tmp_path):
    def run(**kw):
        torch.manual_seed(123)
        model = build_model("mixste", "smoke")
        fit(model, tiny_synth.train, _config(**kw))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    a, b = run(seed=7), run(seed=7)
    assert torch.equal(a, b)
    assert not torch.equal(a, run(seed=8))
    full = run(seed=7, epochs=3, checkpoint_dir=str(tmp_path / "full"))
    run(seed=7, epochs=1, checkpoint_dir=str(tmp_path / "cut"))  # "interrupted" after one epoch
    resumed = run(seed=7, epochs=3, checkpoint_dir=str(tmp_path / "cut"))
    assert torch.allclose(full, resumed)


def test_nan_guard_stops_with_a_clear_message(tiny_synth):
    model = build_model("mlp", "smoke", frames=None)

    def bad_loss(out, target):
        return out.sum() * float("nan")
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, tiny_synth.train, _config(epochs=1), loss_fn=bad_loss)


def test_predict_covers_every_frame_and_zeroes_the_root(tiny_synth):
    test = tiny_synth.test.subsample_sequences(30)
    for name, frames in (("mixste", 27), ("tcn", 27), ("mlp", 1)):
        model = build_model(name, "smoke", frames=frames)
        preds = predict(model, test, flip_test=True)
        for s in test:
            assert preds[s.name].shape == s.poses_3d.shape
            assert np.abs(preds[s.name][:, 0]).max() == 0


def test_flip_test_of_a_mirror_symmetric_model_is_its_prediction(tiny_synth):
    class Zero(torch.nn.Module):
        receptive_field, output = 1, "center"

        def forward(self, x):
            return torch.zeros(*x.shape[:-1], 3)
    test = tiny_synth.test.subsample_sequences(40)
    r = evaluate(Zero(), test)
    mean_norm = 1000 * np.mean([np.linalg.norm(s.poses_3d, axis=-1)[:, 1:].sum(-1).mean() / 17 for s in test])
    assert r.mpjpe == pytest.approx(mean_norm, rel=0.05)


def test_mean_pose_baseline_and_losses(tiny_synth):
    test = tiny_synth.test.subsample_sequences(20)
    r = evaluate(None, test, predictions=mean_pose_predictions(tiny_synth.train, test))
    assert 50 < r.mpjpe < 500
    pred = torch.zeros(2, 5, 17, 3, requires_grad=True)
    target = torch.ones(2, 5, 17, 3)
    assert mpjpe_loss(pred, target).item() == pytest.approx(math.sqrt(3))
    assert mixste_loss((pred, None), target).item() > mpjpe_loss(pred, target).item()


def test_profiles_and_prepare_data(tiny_synth, monkeypatch):
    assert profiles.get_profile("smoke").name == "smoke"
    monkeypatch.setenv("POSEKIT_PROFILE", "cpu")
    assert profiles.get_profile().name == "cpu"
    assert profiles.resolve("auto") in ("cpu", "gpu")
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.get_profile("laptop")
    train, test = prepare_data(tiny_synth, profiles.PROFILES["smoke"])
    assert train.fps == 25.0 and len(test) < len(tiny_synth.test)


def test_cli_train_writes_metrics_and_checkpoint(tmp_path, monkeypatch, tiny_synth):
    import functools

    from posekit import cli
    from posekit.data import synthetic
    root = str(Path(tiny_synth.info["folder"]).parent)  # the tiny dataset's cache folder
    tiny = functools.partial(synthetic.load_synthetic, frames_per_sequence=100)
    monkeypatch.setattr(synthetic, "load_synthetic", tiny)
    out = tmp_path / "run"
    assert cli.main(["train", "mlp", "--data", "synth", "--root", root, "--profile", "smoke", "--out", str(out),
                     "--epochs", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["method"] == "mlp" and math.isfinite(metrics["MPJPE"])
    assert (out / "model.pt").is_file() and (out / "checkpoint" / "last.pt").is_file()
    assert cli.main(["eval", "mlp", "--checkpoint", str(out / "model.pt"), "--data", "synth", "--root", root,
                     "--profile", "smoke"]) == 0


def test_cli_complexity_and_errors(capsys):
    from posekit import cli
    assert cli.main(["complexity", "mixste", "--config", "paper", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["params"] == 33_783_811 and round(row["flops_linear"] / 1e9, 2) == 277.25
    assert cli.main(["train", "mixste", "--data", "h36m", "--profile", "smoke", "--out", "/tmp/x"]) == 2
    assert "root=" in capsys.readouterr().err


def _ddp_worker(rank, world, port, data, out):
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model("mlp", "smoke", frames=None)
    initial = torch.cat([p.detach().flatten() for p in model.parameters()]).clone()
    history = fit(model, data, _config(epochs=1, max_train_windows=97))
    torch.save({"initial": initial, "final": torch.cat([p.detach().flatten() for p in model.parameters()]),
                "loss": history["loss"]}, Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_distributed_data_parallel_on_two_cpu_processes(tiny_synth, tmp_path):
    """torchrun's environment, gloo backend: an odd window count must not leave one rank a step behind (a hang),
    and both ranks must end with the same averaged weights."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_ddp_worker, args=(2, port, tiny_synth.train, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert torch.equal(r0["final"], r1["final"])
    assert not torch.equal(r0["initial"], r0["final"])
    assert all(math.isfinite(v) for v in r0["loss"] + r1["loss"])
