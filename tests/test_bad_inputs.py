"""Every class of bad input ends in one clear message that names the problem and the fix.

Through the command line (`posekit.cli.main` in-process: exit status 2 and exactly one line on stderr) wherever a
user meets the case, through the API otherwise. Dataset files are tiny files in the real layouts, written here.
"""
from __future__ import annotations

import pickle
import sys

import h5py
import numpy as np
import pytest
import torch

from posekit import cli, metrics
from posekit.data import DatasetFileError
from posekit.data.h36m import load_videopose3d, write_videopose3d
from posekit.data.mpi3dhp import load_3dhp
from posekit.nn import mixste_loss, mpjpe_loss
from test_loaders import (make_3dhp_sequence, obj, world_poses, write_3dhp_test_mat, write_3dpw, write_annot_mat,
                          write_h36m, write_humaneva)

README = "data/README.md"


def run(capsys, *argv) -> str:
    """Run `posekit argv`, assert exit status 2 and one line on stderr; return that line."""
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


def train(capsys, root, *extra, data="h36m", out=None):
    out = out or root / "run"
    return run(capsys, "train", "mlp", "--data", data, "--root", root, "--profile", "smoke", "--out", out, *extra)


def assert_names(msg, *parts):
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"


# --- arguments ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag,value,expected", [
    ("--epochs", "-1", "expected an integer >= 1, got -1"),
    ("--epochs", "0", "expected an integer >= 1, got 0"),
    ("--batch-size", "0", "expected an integer >= 1, got 0"),
    ("--frames", "0", "expected an integer >= 1, got 0"),
    ("--lr", "nan", "expected a positive finite number"),
    ("--lr", "-0.1", "expected a positive finite number"),
    ("--seed", "-3", "expected an integer >= 0"),
    ("--threads", "two", "expected an integer >= 1, got 'two'"),
])
def test_bad_numbers_are_refused_before_anything_runs(capsys, tmp_path, flag, value, expected):
    msg = run(capsys, "train", "mlp", "--out", tmp_path / "r", flag, value)
    assert_names(msg, f"argument {flag}", expected, "posekit train --help")
    assert not (tmp_path / "r").exists()


def test_unknown_method_dataset_profile(capsys, tmp_path, monkeypatch):
    assert_names(run(capsys, "train", "videopose", "--out", tmp_path / "a"), "unknown method 'videopose'",
                 "known:", "mixste")
    assert_names(run(capsys, "train", "mlp", "--data", "h37m", "--root", tmp_path, "--out", tmp_path / "b",
                     "--profile", "smoke"), "unknown dataset 'h37m'", "known:", "3dpw")
    assert_names(run(capsys, "train", "mlp", "--profile", "laptop", "--out", tmp_path / "c"),
                 "unknown profile 'laptop'", "choose one of")


def test_posekit_profile_environment_variable_is_read(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEKIT_PROFILE", "laptop")  # the CLI's default no longer shadows it
    assert_names(run(capsys, "train", "mlp", "--out", tmp_path / "a"), "unknown profile 'laptop'")


def test_real_dataset_without_root(capsys, tmp_path):
    assert_names(run(capsys, "train", "mlp", "--data", "3dhp", "--out", tmp_path / "a", "--profile", "smoke"),
                 "pass --root <folder>", "root=", "'MPI-INF-3DHP'")


def test_validation_split_only_where_it_exists(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    assert_names(train(capsys, tmp_path, "--keypoints", "gt", "--split", "validation"),
                 "'h36m' has no validation split", "--split test")


def test_output_folder_that_is_a_file_or_not_writable(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_names(run(capsys, "train", "mlp", "--out", tmp_path / "file"), "is a file", "choose another --out")
    assert_names(run(capsys, "train", "mlp", "--out", tmp_path / "file" / "sub"), "cannot write to the output folder",
                 "choose a writable --out")


def test_notebooks_without_papermill(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "papermill", None)
    assert_names(run(capsys, "notebooks", "01"), "papermill is needed", "pip install")


# --- Human3.6M layout (VideoPose3D npz) --------------------------------------------------------------------------

def _rewrite_3d(root, change):
    pos3d = dict(np.load(root / "data_3d_h36m.npz", allow_pickle=True)["positions_3d"].item())
    change(pos3d)
    np.savez(root / "data_3d_h36m.npz", positions_3d=obj(pos3d))


def _rewrite_2d(root, change, source="gt"):
    with np.load(root / f"data_2d_h36m_{source}.npz", allow_pickle=True) as f:
        pos2d, meta = f["positions_2d"].item(), f["metadata"].item()
    change(pos2d, meta)
    np.savez(root / f"data_2d_h36m_{source}.npz", positions_2d=obj(pos2d), metadata=obj(meta))


def _h36m_error(capsys, root, *parts):
    msg = train(capsys, root, "--keypoints", "gt")
    assert_names(msg, README, "'Human3.6M'", *parts)
    assert not (root / "run" / "checkpoint").exists()  # refused before any training
    return msg


def test_h36m_3d_in_millimetres(capsys, tmp_path):
    write_h36m(tmp_path, joints=32, t=6)
    _rewrite_3d(tmp_path, lambda p: p["S1"].update(Walking=p["S1"]["Walking"] * 1000))
    _h36m_error(capsys, tmp_path, "data_3d_h36m.npz", "positions_3d['S1']['Walking']", "looks like millimetres",
                "divide the positions by 1000")


def test_h36m_nan_in_training_3d(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)

    def nan(p):
        p["S1"]["Walking"][3, 5, 1] = np.nan
    _rewrite_3d(tmp_path, nan)
    _h36m_error(capsys, tmp_path, "positions_3d['S1']['Walking']", "NaN/inf values in 1 of 6 frames", "frame 3",
                "re-export")


def test_h36m_inf_in_test_targets_fails_before_training(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)

    def inf(p):
        p["S9"]["Sitting 1"][5, 2, 0] = np.inf
    _rewrite_3d(tmp_path, inf)
    _h36m_error(capsys, tmp_path, "positions_3d['S9']['Sitting 1']", "NaN/inf", "expected finite coordinates")


def test_h36m_empty_sequence(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_3d(tmp_path, lambda p: p["S1"].update(Walking=np.zeros((0, 17, 3), np.float32)))
    _h36m_error(capsys, tmp_path, "positions_3d['S1']['Walking'] has 0 frames", "expected a non-empty sequence")


def test_h36m_3d_joint_count(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_3d(tmp_path, lambda p: p["S1"].update(Walking=world_poses(6, 16)))
    _h36m_error(capsys, tmp_path, "has shape (6, 16, 3)", "expected (T, 17 or 32, 3)")


def test_h36m_subject_not_named_like_the_dataset(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_3d(tmp_path, lambda p: p.update(subject1=p.pop("S1")))
    _h36m_error(capsys, tmp_path, "subject 'subject1'", "S1, S5", "rename the key")


def test_h36m_without_a_test_subject(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_3d(tmp_path, lambda p: p.pop("S9"))
    _h36m_error(capsys, tmp_path, "no test sequences", "S9, S11", "expected both a training and a test split")


def test_h36m_2d_with_one_channel(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_2d(tmp_path, lambda p, m: p["S1"]["Walking"].__setitem__(0, p["S1"]["Walking"][0][..., :1]))
    _h36m_error(capsys, tmp_path, "data_2d_h36m_gt.npz", "positions_2d['S1']['Walking'][0]", "(6, 17, 1)",
                "expected (T, 17, 2 or 3)")


def test_h36m_2d_with_16_joints(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_2d(tmp_path, lambda p, m: p["S9"]["Sitting 1"].__setitem__(2, p["S9"]["Sitting 1"][2][:, :16]))
    _h36m_error(capsys, tmp_path, "positions_2d['S9']['Sitting 1'][2]", "(6, 16, 2)", "expected (T, 17, 2 or 3)")


def test_h36m_nan_in_2d(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)

    def nan(p, m):
        p["S1"]["Walking"][1][4, 0] = np.nan
    _rewrite_2d(tmp_path, nan)
    _h36m_error(capsys, tmp_path, "positions_2d['S1']['Walking'][1]", "NaN/inf", "frame 4")


def test_h36m_2d_metadata_with_other_joints(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_2d(tmp_path, lambda p, m: m.update(num_joints=16))
    _h36m_error(capsys, tmp_path, "expected 17-joint metadata")


def test_h36m_missing_camera_list(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    _rewrite_2d(tmp_path, lambda p, m: p["S9"]["Sitting 1"].pop())
    _h36m_error(capsys, tmp_path, "no 2D keypoints for S9 / Sitting 1 / camera 3")


def test_stored_cameras_that_are_not_a_camera_table(tmp_path):
    pos3d = {"S1": {"Walking": world_poses(4, 17)}, "S9": {"Walking": world_poses(4, 17)}}
    write_videopose3d(tmp_path, "mine", pos3d, {"gt": {s: {"Walking": [np.zeros((4, 17, 2))]} for s in pos3d}})
    with np.load(tmp_path / "data_3d_mine.npz", allow_pickle=True) as f:
        stored = dict(f)
    np.savez(tmp_path / "data_3d_mine.npz", positions_3d=stored["positions_3d"], cameras=np.array("{not json"))
    with pytest.raises(DatasetFileError) as e:
        load_videopose3d(tmp_path, "mine", "gt", train_subjects=("S1",), test_subjects=("S9",))
    assert_names(str(e.value), "data_3d_mine.npz", "key 'cameras' is not a camera table", "expected JSON")


# --- HumanEva-I --------------------------------------------------------------------------------------------------

def test_humaneva_subject_names(capsys, tmp_path):
    write_humaneva(tmp_path)
    pos3d = np.load(tmp_path / "data_3d_humaneva15.npz", allow_pickle=True)["positions_3d"].item()
    pos3d["S1"] = pos3d.pop("Train/S1")
    np.savez(tmp_path / "data_3d_humaneva15.npz", positions_3d=obj(pos3d))
    assert_names(train(capsys, tmp_path, "--keypoints", "gt", data="humaneva"), "subject key 'S1'", "'Train/S1'",
                 "'HumanEva-I'")


def test_humaneva_coco_detections_cannot_train_a_15_joint_lifter(capsys, tmp_path):
    write_humaneva(tmp_path, sources=("gt", "detectron_pt_coco"), coco_det=True)
    assert_names(train(capsys, tmp_path, "--keypoints", "det", data="humaneva"), "2D input has 17 joints",
                 "3D targets have 15", "use --keypoints gt")


def test_humaneva_3d_in_millimetres(capsys, tmp_path):
    write_humaneva(tmp_path)
    pos3d = np.load(tmp_path / "data_3d_humaneva15.npz", allow_pickle=True)["positions_3d"].item()
    pos3d["Validate/S3"]["Jog 1"] = pos3d["Validate/S3"]["Jog 1"] * 1000
    np.savez(tmp_path / "data_3d_humaneva15.npz", positions_3d=obj(pos3d))
    assert_names(train(capsys, tmp_path, "--keypoints", "gt", data="humaneva"), "positions_3d['Validate/S3']",
                 "looks like millimetres", "'HumanEva-I'")


# --- MPI-INF-3DHP ------------------------------------------------------------------------------------------------

def _write_3dhp_train(root, t=8, change=None):
    data = {}
    for key in ("S1 Seq1", "S2 Seq2"):
        univ, _, annot2, _, _ = make_3dhp_sequence(t, (2048, 2048))
        data[key] = [{"0": {"data_2d": annot2, "data_3d": univ}}, 25]
    if change:
        change(data)
    np.savez(root / "data_train_3dhp.npz", data=obj(data))


def _ts1(root):
    return root / "mpi_inf_3dhp_test_set" / "TS1" / "annot_data.mat"


def test_3dhp_nan_on_a_valid_frame(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    _write_3dhp_train(tmp_path)
    univ, annot3, annot2, valid, activity = make_3dhp_sequence(6, (2048, 2048))
    annot3[1, 4] = np.nan  # frame 1 is valid (every third frame is not)
    write_annot_mat(_ts1(tmp_path), univ, annot3, annot2, valid, activity)
    assert_names(train(capsys, tmp_path, data="3dhp"), "annot_data.mat", "annot3 has NaN/inf values in 1 frames "
                 "marked valid", "frame 1", "'MPI-INF-3DHP'")


def test_3dhp_nan_on_invalid_frames_is_accepted_and_never_reaches_a_model(tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    univ, annot3, annot2, valid, activity = make_3dhp_sequence(6, (2048, 2048))
    for a in (univ, annot3, annot2):
        a[3] = np.nan  # frame 3 is marked invalid
    write_annot_mat(_ts1(tmp_path), univ, annot3, annot2, valid, activity)
    seq = load_3dhp(tmp_path, subjects=["TS1"])[0]
    assert not seq.valid[3] and np.isfinite(seq.poses_3d).all() and np.isfinite(seq.keypoints_2d).all()
    np.testing.assert_array_equal(seq.poses_3d[3], seq.poses_3d[2])  # the nearest valid frame


def test_3dhp_hdf5_group_where_an_array_belongs(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    _write_3dhp_train(tmp_path)
    with h5py.File(_ts1(tmp_path), "a") as f:
        del f["valid_frame"]
        f.create_group("valid_frame")
    assert_names(train(capsys, tmp_path, data="3dhp"), "key 'valid_frame' is an HDF5 group", "expected a dataset")


def test_3dhp_test_set_in_metres(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    _write_3dhp_train(tmp_path)
    univ, annot3, annot2, valid, activity = make_3dhp_sequence(6, (2048, 2048))
    write_annot_mat(_ts1(tmp_path), univ / 1000, annot3, annot2, valid, activity)
    assert_names(train(capsys, tmp_path, data="3dhp"), "univ_annot3 looks like metres",
                 "multiply the positions by 1000")


def test_3dhp_training_file_missing_for_a_training_run(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    assert_names(train(capsys, tmp_path, data="3dhp"), "data_train_3dhp.npz", "training file not found",
                 "'MPI-INF-3DHP'")


def test_3dhp_training_subject_names(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    _write_3dhp_train(tmp_path, change=lambda d: d.update({"subject1 Seq1": d.pop("S1 Seq1")}))
    assert_names(train(capsys, tmp_path, data="3dhp"), "subject key 'subject1'", "'S1 Seq1'")


def test_3dhp_nan_in_training_file_without_validity_flag(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)

    def nan(d):
        d["S2 Seq2"][0]["0"]["data_3d"][2, 3, 0] = np.nan
    _write_3dhp_train(tmp_path, change=nan)
    assert_names(train(capsys, tmp_path, data="3dhp"), "data['S2 Seq2/0']['data_3d']", "NaN/inf",
                 "no invalid-frame flag")


def test_3dhp_empty_training_sequence(capsys, tmp_path):
    write_3dhp_test_mat(tmp_path, n=6)
    _write_3dhp_train(tmp_path, change=lambda d: d["S1 Seq1"][0]["0"].update(
        data_2d=np.zeros((0, 17, 2)), data_3d=np.zeros((0, 17, 3))))
    assert_names(train(capsys, tmp_path, data="3dhp"), "data['S1 Seq1/0']['data_3d'] has 0 frames")


# --- 3DPW --------------------------------------------------------------------------------------------------------

def _pkl(root, split="test", name="downtown_walking_00"):
    return root / "sequenceFiles" / split / f"{name}.pkl"


def _edit_pkl(path, change):
    with open(path, "rb") as f:
        data = pickle.load(f, encoding="latin1")
    change(data)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)


def test_3dpw_training_split_missing(capsys, tmp_path):
    write_3dpw(tmp_path)
    assert_names(train(capsys, tmp_path, data="3dpw"), "no train sequences", "sequenceFiles/train/<sequence>.pkl",
                 "'3DPW'")


def test_3dpw_joint_positions_in_millimetres(capsys, tmp_path):
    write_3dpw(tmp_path)
    write_3dpw(tmp_path, split="train", name="courtyard_basketball_00", actors=1)
    _edit_pkl(_pkl(tmp_path, "train", "courtyard_basketball_00"),
              lambda d: d.update(jointPositions=[j * 1000 for j in d["jointPositions"]]))
    assert_names(train(capsys, tmp_path, data="3dpw"), "courtyard_basketball_00.pkl", "jointPositions[0] looks like "
                 "millimetres", "divide the positions by 1000")


def test_3dpw_nan_on_a_valid_frame(capsys, tmp_path):
    write_3dpw(tmp_path)
    write_3dpw(tmp_path, split="train", name="courtyard_basketball_00", actors=1)

    def nan(d):
        d["jointPositions"][1][4, 7] = np.nan  # actor 1 is valid on every frame
    _edit_pkl(_pkl(tmp_path), nan)
    assert_names(train(capsys, tmp_path, data="3dpw"), "jointPositions[1] has NaN/inf values in 1 frames marked "
                 "valid", "frame 4")


def test_3dpw_empty_actor(capsys, tmp_path):
    write_3dpw(tmp_path)
    write_3dpw(tmp_path, split="train", name="courtyard_basketball_00", actors=1)
    _edit_pkl(_pkl(tmp_path), lambda d: d.update(jointPositions=[d["jointPositions"][0], np.zeros((0, 72))],
                                                 campose_valid=[d["campose_valid"][0], np.zeros(0)]))
    assert_names(train(capsys, tmp_path, data="3dpw"), "jointPositions[1] has 0 frames")


def test_3dpw_bad_intrinsics(capsys, tmp_path):
    write_3dpw(tmp_path)
    write_3dpw(tmp_path, split="train", name="courtyard_basketball_00", actors=1)
    _edit_pkl(_pkl(tmp_path), lambda d: d.update(cam_intrinsics=np.zeros((3, 3))))
    assert_names(train(capsys, tmp_path, data="3dpw"), "cam_intrinsics is", "fx, fy > 0")


# --- checkpoints (posekit eval) ----------------------------------------------------------------------------------

def test_eval_checkpoint_missing_folder_random_bytes_foreign(capsys, tmp_path):
    write_h36m(tmp_path, joints=17, t=6)
    common = ("--data", "h36m", "--root", tmp_path, "--keypoints", "gt", "--profile", "smoke")
    assert_names(run(capsys, "eval", "--checkpoint", tmp_path / "nope.pt", *common), "not found",
                 "pass the model.pt that posekit train wrote")
    assert_names(run(capsys, "eval", "--checkpoint", tmp_path, *common), "is a folder", "pass the model.pt")
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(500))
    assert_names(run(capsys, "eval", "--checkpoint", tmp_path / "random.pt", *common),
                 "cannot read", "as a posekit checkpoint", "pass the model.pt")
    torch.save({"weights": [1, 2]}, tmp_path / "foreign.pt")
    assert_names(run(capsys, "eval", "--checkpoint", tmp_path / "foreign.pt", *common),
                 "is not a posekit checkpoint", "pass the model.pt")


# --- API: metrics, losses, models, evaluation, training configuration --------------------------------------------

def _poses_m(n=4, seed=0):
    return np.random.default_rng(seed).normal(scale=0.3, size=(n, 17, 3))


def test_pck_and_auc_refuse_millimetres_read_as_metres():
    gt = _poses_m() * 1000
    pred = gt + 30.0
    for fn in (metrics.pck, metrics.auc):
        with pytest.raises(ValueError, match="look like millimetres.*pass unit='mm' or divide the poses by 1000"):
            fn(pred, gt)
        assert fn(pred, gt, unit="mm") == pytest.approx(fn(pred / 1000, gt / 1000))
    assert metrics.pck(pred, gt, unit="mm") == 100.0  # 30 * sqrt(3) = 52 mm < 150 mm


def test_pck_refuses_metres_read_as_millimetres():
    with pytest.raises(ValueError, match="look like metres.*pass unit='m'"):
        metrics.pck(_poses_m(), _poses_m(seed=1), unit="mm")


def test_losses_and_metrics_refuse_mismatched_shapes():
    a, b = torch.zeros(2, 5, 17, 3), torch.zeros(2, 1, 17, 3)
    for fn in (mpjpe_loss, mixste_loss, metrics.mpjpe_torch):
        with pytest.raises(ValueError, match=r"\(2, 5, 17, 3\).*\(2, 1, 17, 3\)"):
            fn(a, b)
    with pytest.raises(ValueError, match="differs from target shape"):
        metrics.pck(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))


@pytest.mark.parametrize("name", ["mlp", "tcn", "mixste"])
def test_models_check_their_input_shape(name):
    from posekit.models import build_model
    model = build_model(name, "smoke")
    x = model.example_input(2)
    with pytest.raises(ValueError, match=r"expects 2D keypoints \(B, .*, 17, 2\).*build the model with joints="):
        model(x[:, :, :15])


def test_evaluation_refuses_nan_predictions(tiny_synth):
    from posekit.evaluation import evaluate

    class Diverged(torch.nn.Module):
        receptive_field, output = 1, "center"

        def forward(self, x):
            return torch.full((*x.shape[:-1], 3), float("nan"))
    with pytest.raises(FloatingPointError, match="predicted NaN/inf.*retrain with a lower learning rate"):
        evaluate(Diverged(), tiny_synth.test.subsample_sequences(40))


def test_train_config_refuses_impossible_settings():
    from posekit.train import TrainConfig
    for field, value, expected in (("batch_size", 0, ">= 1"), ("epochs", -1, ">= 0"), ("lr", float("nan"), "positive"),
                                   ("loss", "l2", "one of mpjpe")):
        with pytest.raises(ValueError, match=f"TrainConfig.{field}.*{expected}"):
            TrainConfig(**{field: value})


def test_3dpw_test_split_missing_for_a_training_run(capsys, tmp_path):
    write_3dpw(tmp_path, split="train", name="courtyard_basketball_00", actors=1)
    write_3dpw(tmp_path, split="validation", name="courtyard_dancing_00")
    assert_names(train(capsys, tmp_path, data="3dpw"), "3dpw has no test-split sequences", "'3DPW'")
    assert cli.main(["train", "mlp", "--data", "3dpw", "--root", str(tmp_path), "--profile", "smoke", "--out",
                     str(tmp_path / "v"), "--split", "validation", "--epochs", "1"]) == 0  # no test split needed
