"""The papers' evaluation protocols (posekit.protocols) on small files in the real layouts, written here."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from posekit.camera import h36m_cameras
from posekit.cli import main as cli_main
from posekit.data import load_dataset
from posekit.protocols import PROTOCOLS, evaluate, get_protocol, pck_auc, published, window_plan
from posekit.skeleton import H36M_FROM_3DHP

RNG = np.random.default_rng(3)


def obj(d):
    a = np.empty((), dtype=object)
    a[()] = d
    return a


class RootOffset(nn.Module):
    """Predicts 0 for every joint except the root, `root_z` metres along the depth axis (flip-invariant)."""

    def __init__(self, frames: int, output: str, root_z: float = 0.01):
        super().__init__()
        self.receptive_field, self.output, self.root_z = frames, output, root_z

    def forward(self, x):
        b, t, j, _ = x.shape
        y = x.new_zeros(b, t if self.output == "sequence" else 1, j, 3)
        y[..., 0, 2] = self.root_z
        return y


# ---------------------------------------------------------------- test windows, by hand

def test_window_plans_by_hand():
    mixste, hot, vp3d = (get_protocol(n) for n in ("h36m-mixste", "h36m-hot", "h36m-videopose3d"))
    # MixSTE: 0, F, ... and the last chunk = the last F frames (frames 6, 7 twice); short video padded right
    assert window_plan(mixste, 10, 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]]
    assert window_plan(mixste, 8, 4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert window_plan(mixste, 3, 4).tolist() == [[0, 1, 2, 2]]
    # HoT: centred chunks, edge-padded at both ends
    assert window_plan(hot, 10, 4).tolist() == [[0, 0, 1, 2], [3, 4, 5, 6], [7, 8, 9, 9]]
    assert window_plan(hot, 3, 4).tolist() == [[0, 1, 2, 2]]
    # VideoPose3D: one window per frame, receptive-field padding by edge frames
    assert window_plan(vp3d, 4, 3).tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]


# ---------------------------------------------------------------- Human3.6M on small npz files

def write_h36m(root, lengths=(("S9", "Sitting 1", 10), ("S11", "Walking", 3)), source="gt"):
    pos3d, pos2d = {}, {}
    for subject, action, t in lengths:
        world = (np.array([0.0, 0.0, 1.0]) + RNG.uniform(-0.5, 0.5, size=(t, 17, 3))).astype(np.float32)
        pos3d.setdefault(subject, {})[action] = world
        pos2d.setdefault(subject, {})[action] = [RNG.uniform(100, 900, (t, 17, 2)).astype(np.float32)
                                                 for _ in h36m_cameras(subject)]
    meta = {"layout_name": "h36m", "num_joints": 17,
            "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez(root / "data_3d_h36m.npz", positions_3d=obj(pos3d))
    np.savez(root / f"data_2d_h36m_{source}.npz", positions_2d=obj(pos2d), metadata=obj(meta))


def frame_error(seq, root_mm=0.0):
    """(T,) mean joint error (mm) of a zero prediction whose root is off by root_mm."""
    e = 1000 * np.linalg.norm(seq.poses_3d, axis=-1)
    e[:, 0] = root_mm
    return e.mean(-1)


def test_h36m_protocols_on_files(tmp_path):
    write_h36m(tmp_path)
    ds = load_dataset("h36m", root=tmp_path, keypoints="gt", subjects=("S9", "S11"))
    seqs = {a: [s for s in ds if s.action == a] for a in ("Sitting 1", "Walking")}
    # MixSTE: root prediction kept (10 mm), frames 6 and 7 of the 10-frame video counted twice, frame 2 of the
    # 3-frame video twice (right padding), frame-weighted over the four cameras
    idx = {"Sitting 1": [0, 1, 2, 3, 4, 5, 6, 7, 6, 7, 8, 9], "Walking": [0, 1, 2, 2]}
    want = {a: np.mean([frame_error(s, 10.0)[idx[a]] for s in seqs[a]]) for a in seqs}
    got = evaluate(RootOffset(4, "sequence"), ds, "h36m-mixste")
    assert got["per_action"]["Sitting"] == pytest.approx(want["Sitting 1"])
    assert got["per_action"]["Walking"] == pytest.approx(want["Walking"])
    assert got["MPJPE"] == pytest.approx((want["Sitting 1"] + want["Walking"]) / 2)
    assert got["windows"] == 4 * 3 + 4 * 1 and got["frames_scored"] == 4 * 12 + 4 * 4
    # HoT: root zeroed, centred edge-padded chunks, window-weighted
    windows = {"Sitting 1": [[0, 0, 1, 2], [3, 4, 5, 6], [7, 8, 9, 9]], "Walking": [[0, 1, 2, 2]]}
    want = {a: np.mean([frame_error(s)[w].mean() for s in seqs[a] for w in windows[a]]) for a in seqs}
    got = evaluate(RootOffset(4, "sequence"), ds, "h36m-hot")
    assert got["per_action"]["Sitting"] == pytest.approx(want["Sitting 1"])
    assert got["MPJPE"] == pytest.approx((want["Sitting 1"] + want["Walking"]) / 2)
    # VideoPose3D: every frame once, root kept; h36m-frame: root zeroed
    for name, root in (("h36m-videopose3d", 10.0), ("h36m-frame", 0.0)):
        want = {a: np.mean([frame_error(s, root) for s in seqs[a]]) for a in seqs}
        got = evaluate(RootOffset(3, "center"), ds, name)
        assert got["MPJPE"] == pytest.approx((want["Sitting 1"] + want["Walking"]) / 2)
        assert got["frames_scored"] == 4 * 13 and np.isfinite(got["P-MPJPE"])


def test_chunk_protocol_needs_a_sequence_model(tmp_path):
    write_h36m(tmp_path)
    ds = load_dataset("h36m", root=tmp_path, keypoints="gt", subjects=("S9", "S11"))
    with pytest.raises(ValueError, match="per-frame protocol"):
        evaluate(RootOffset(3, "center"), ds, "h36m-mixste")


# ---------------------------------------------------------------- MPI-INF-3DHP PCK / AUC

def test_pck_auc_hand_checked():
    """Two frames, H36M order. Frame A: the 14 PCK joints err 10, 20, ..., 140 mm; frame B: 7 joints 100 mm and 7
    joints 160 mm; Hip, Spine and Neck/Nose (not PCK joints) 1000 mm in both.
    PCK@150 = (14 + 7) / 28 = 75 %. AUC over t = 0, 5, ..., 150: frame A has floor-like counts summing to 210 over
    the 31 thresholds (0+0+0+1+1+2+2+...+13+13+14), frame B 7 hits for each of the 10 thresholds above 100 -> 70;
    AUC = 100 * 280 / (31 * 28) = 32.258 %. MPJPE over all 17 joints = (1050 + 3000 + 700 + 1120 + 3000) / 34."""
    pck_joints = [1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16]
    gt = np.zeros((2, 17, 3))
    pred = np.zeros((2, 17, 3))
    pred[0, pck_joints, 0] = np.arange(10, 141, 10) / 1000
    pred[1, pck_joints, 0] = np.array([100] * 7 + [160] * 7) / 1000
    pred[:, [0, 7, 9], 1] = 1.0
    got = pck_auc(pred, gt)
    assert got["PCK"] == pytest.approx(75.0)
    assert got["AUC"] == pytest.approx(100 * 280 / (31 * 28))
    assert got["MPJPE"] == pytest.approx((1050 + 3000 + 700 + 1120 + 3000) / 34)


TS_SIZE = {"TS1": (2048, 2048), "TS2": (2048, 2048), "TS3": (2048, 2048), "TS4": (2048, 2048),
           "TS5": (1920, 1080), "TS6": (1920, 1080)}


def test_3dhp_protocol_on_the_npz_layout(tmp_path):
    """P-STMO's data_test_3dhp.npz; a zero prediction: the error of joint j is its distance to the pelvis (3DHP
    index 14); PCK counts the 14 joints 0..13 of the 3DHP order on valid frames only, pooled over TS1-TS6."""
    data, errors, all_errors = {}, [], []
    for ts, size in TS_SIZE.items():
        n = 7
        pose = RNG.uniform(-250, 250, size=(n, 17, 3)) + [0, 0, 4000]
        valid = (np.arange(n) % 3 != 1)
        data[ts] = {"data_2d": RNG.uniform(0, min(size), (n, 17, 2)).astype(np.float32),
                    "data_3d": pose.astype(np.float32), "valid": valid.astype(np.float64)}
        e = np.linalg.norm(pose.astype(np.float32) - pose.astype(np.float32)[:, 14:15], axis=-1)[valid]
        errors.append(e[:, :14])
        all_errors.append(e)
    np.savez(tmp_path / "data_test_3dhp.npz", data=obj(data))
    ds = load_dataset("3dhp", root=tmp_path, keypoints="gt")
    got = evaluate(RootOffset(1, "center"), ds, "3dhp-pck")
    e = np.concatenate(errors)
    assert got["PCK"] == pytest.approx(100 * (e < 150).mean(), abs=1e-6)
    assert got["AUC"] == pytest.approx(100 * np.mean([(e < t).mean() for t in range(0, 151, 5)]), abs=1e-6)
    assert got["MPJPE"] == pytest.approx(np.concatenate(all_errors).mean(), rel=1e-5)
    assert got["frames_scored"] == 6 * 5 and set(got["per_sequence"]) == set(TS_SIZE)
    from posekit.protocols.card import dataset_files
    assert dataset_files("3dhp", tmp_path, "gt") == [tmp_path / "data_test_3dhp.npz"]
    assert sorted(H36M_FROM_3DHP[j] for j in (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16)) == list(range(14))


# ---------------------------------------------------------------- HumanEva-I

class Template(nn.Module):
    """Predicts one fixed 15-joint pose for every frame (centre output)."""

    receptive_field, output = 1, "center"

    def __init__(self):
        super().__init__()
        self.pose = torch.from_numpy(np.random.default_rng(0).uniform(-0.4, 0.4, (15, 3)).astype(np.float32))
        self.pose[0] = 0

    def forward(self, x):
        return self.pose.expand(x.shape[0], 1, 15, 3).clone()


def test_humaneva_p2_cells(tmp_path):
    pos3d = {"Validate/S1": {"Walking 1 chunk0": None, "Jog 1 chunk0": None, "Gestures 1 chunk0": None},
             "Validate/S2": {"Walking 1 chunk0": None, "Walking 1 chunk1": None}, "Train/S1": {"Jog 1 chunk0": None}}
    pos2d = {}
    for s, acts in pos3d.items():
        for a in acts:
            acts[a] = (RNG.uniform(-0.5, 0.5, (6, 15, 3)) + [0, 0, 1.0]).astype(np.float32)
            pos2d.setdefault(s, {})[a] = [RNG.uniform(0, 640, (6, 15, 2)).astype(np.float32) for _ in range(3)]
    meta = {"layout_name": "humaneva15", "num_joints": 15,
            "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]]}
    np.savez(tmp_path / "data_3d_humaneva15.npz", positions_3d=obj(pos3d))
    np.savez(tmp_path / "data_2d_humaneva15_gt.npz", positions_2d=obj(pos2d), metadata=obj(meta))
    ds = load_dataset("humaneva", root=tmp_path, keypoints="gt")
    got = evaluate(Template(), ds, "humaneva-p2")
    assert set(got["per_cell_p_mpjpe"]) == {"Walking S1", "Jog S1", "Walking S2"}   # Gestures and Train/* left out
    assert got["P-MPJPE"] == pytest.approx(np.mean(list(got["per_cell_p_mpjpe"].values())))
    assert got["P-MPJPE"] < got["MPJPE"]
    assert got["frames_scored"] == 6 * 3 * 4   # 4 sequences x 3 cameras x 6 frames


# ---------------------------------------------------------------- CLI: import + eval --protocol, the card

def test_cli_eval_writes_the_reproduction_card(tmp_path, capsys):
    from test_weights import official_tcn, training_checkpoint
    write_h36m(tmp_path, lengths=(("S9", "Sitting 1", 30), ("S11", "Walking", 20)), source="cpn_ft_h36m_dbb")
    torch.save(training_checkpoint(official_tcn((3, 3, 3), 16), False), tmp_path / "pretrained_h36m_cpn.bin")
    assert cli_main(["import", "tcn", str(tmp_path / "pretrained_h36m_cpn.bin"), "--out", str(tmp_path / "t.pt")]) == 0
    out = tmp_path / "run"
    assert cli_main(["eval", "tcn", "--checkpoint", str(tmp_path / "t.pt"), "--data", "h36m", "--root", str(tmp_path),
                     "--keypoints", "cpn", "--protocol", "h36m-videopose3d", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "paper   48.8 (VideoPose3D README" in printed and "measured" in printed
    card = json.loads((out / "reproduction.json").read_text())
    assert card["method"] == "tcn" and card["frames"] == 27 and card["flip"] is True
    assert card["protocol"]["name"] == "h36m-videopose3d" and card["dataset"]["keypoints_2d"] == "cpn_ft_h36m_dbb"
    assert set(card["dataset"]["files"]) == {"data_3d_h36m.npz", "data_2d_h36m_cpn_ft_h36m_dbb.npz"}
    assert len(card["checkpoint"]["sha256"]) == 64 and card["checkpoint"]["imported_from"]["file"] == \
        "pretrained_h36m_cpn.bin"
    assert card["versions"]["torch"] and card["device"] == "cpu" and card["paper"]["values"]["MPJPE"] == 48.8
    # a protocol on the wrong dataset is refused with one message
    assert cli_main(["eval", "tcn", "--checkpoint", str(tmp_path / "t.pt"), "--data", "h36m", "--root",
                     str(tmp_path), "--protocol", "3dhp-pck"]) == 2


def test_every_protocol_and_published_entry_is_consistent():
    from posekit.protocols import DEFAULT_PROTOCOL, PUBLISHED
    from posekit.weights import LAYOUTS
    assert set(DEFAULT_PROTOCOL) == set(LAYOUTS)
    for entry in PUBLISHED:
        p = PROTOCOLS[entry["protocol"]]
        assert p.dataset == entry["dataset"] and set(entry["values"]) <= set(p.headline) | {"MPJPE"}
    assert published("mixste", "h36m", "cpn_ft_h36m_dbb", 243)["values"]["MPJPE"] == 40.9
    assert published("mixste", "h36m", "cpn_ft_h36m_dbb", 81)["values"]["P-MPJPE"] == 33.9


def test_videopose3d_whole_video_pass_equals_one_window_per_frame(tmp_path):
    """The TCN runs the edge-padded video in one pass (as VideoPose3D does); it must equal per-frame windows."""
    from posekit.protocols.scoring import h36m_window_errors
    from posekit.models import build_model
    write_h36m(tmp_path)
    ds = load_dataset("h36m", root=tmp_path, keypoints="gt", subjects=("S9", "S11")).test
    tcn = build_model("tcn", "smoke").eval()
    for m in tcn.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.1, 0.1)
    fast = h36m_window_errors(tcn, ds, get_protocol("h36m-videopose3d"))
    slow = h36m_window_errors(_Windowed(tcn), ds, get_protocol("h36m-videopose3d"))
    for (a, e1), (b, e2) in zip(fast["p1"], slow["p1"]):
        assert a == b and e1.shape == e2.shape and np.allclose(e1, e2, atol=1e-6)


class _Windowed(nn.Module):
    """The same TCN seen as a plain model (so the protocol cuts one window per frame)."""

    def __init__(self, tcn):
        super().__init__()
        self.tcn, self.receptive_field, self.output = tcn, tcn.receptive_field, "center"

    def forward(self, x):
        return self.tcn(x)
