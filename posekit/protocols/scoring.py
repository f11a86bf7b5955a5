"""The evaluation protocols of the papers, each named, exactly as the official test loops run them.

Human3.6M (test subjects S9 and S11, every camera; errors pooled within an action group, 'Directions' and
'Directions 1' together, then the plain mean over the 15 groups). The codebases differ in how a video is cut into
test windows, whether the predicted root is zeroed, and how windows are weighted:

- `h36m-videopose3d` (VideoPose3D run.py `evaluate`, GLA-GCN run_s-agcn.py `-tta`): one window of the receptive
  field per frame, edge-padded at the ends; flip test-time augmentation; the target root is 0, the predicted root
  is kept (it counts toward MPJPE); every frame scored once.
- `h36m-mixste` (MixSTE run.py `eval_data_prepare`, KTPFormer run_ktpformer.py, identical): non-overlapping
  F-frame chunks from frame 0, the last chunk being the last F frames of the video (so the frames it shares with
  the previous chunk are scored twice); a video shorter than F is replicate-padded on the right and the padded
  frames are scored; flip augmentation; predicted root kept; frame-weighted.
- `h36m-hot` (HoT common/generator_stride.py + main_mixste.py `test`): centred non-overlapping F-frame chunks,
  edge-padded at both ends, padded frames scored; flip augmentation; root zeroed on prediction and target;
  window-weighted (HoT's per-batch P-MPJPE bug, utils.py `mpjpe_by_action_p2`, is not reproduced).
- `h36m-frame` (UAO main.py, single frame; HoT main_mixste_tpc.py for the seq2frame TPC model, --stride 1): one
  window per frame, flip augmentation, predicted root zeroed, frame-weighted. (HoT's TPC test reuses the kept
  frames of the un-mirrored clip for the mirrored one; here the mirrored clip runs its own selection.)

MPI-INF-3DHP `3dhp-pck` (the official MATLAB kit, mpii_test_predictions_py.m / mpii_compute_3d_pck.m): valid frames
of TS1-TS6 only; PCK = % of the 14 joints (head top, neck, shoulders, elbows, wrists, hips, knees, ankles; not
pelvis, spine, head) with error < 150 mm; AUC = mean PCK over thresholds 0:5:150 mm; MPJPE over all 17 joints;
the headline row pools every valid frame of the six sequences.

HumanEva-I `humaneva-p2` (VideoPose3D run.py `--by-subject`, Table 4 of the paper): Validate/S1-S3, actions Walk, Jog
and Box; P-MPJPE (and MPJPE) per (action, subject) cell, averaged over the cells.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .. import metrics
from ..data.dataset import PoseDataset
from ..data.samplers import chunk_starts, edge_index
from ..nn.tcn import TemporalConvLifter
from ..skeleton import flip_poses
from ..evaluation import predict, resolve_device
from ..nn.contract import pose_of


@dataclass(frozen=True)
class Protocol:
    name: str
    dataset: str          # 'h36m', '3dhp' or 'humaneva'
    windows: str          # 'per-frame', 'end-aligned-chunks', 'centred-chunks' or 'predict' (posekit.train.predict)
    flip: bool            # flip test-time augmentation
    zero_root: bool       # set the predicted root joint to 0 before scoring
    weighting: str        # 'frame' or 'window' (within an action group)
    headline: tuple       # the metrics the papers report, in order
    source: str           # where the official code does it
    actions: tuple = ()   # actions kept (HumanEva); empty: all

    def describe(self) -> dict:
        return asdict(self)


PROTOCOLS = {p.name: p for p in (
    Protocol("h36m-videopose3d", "h36m", "per-frame", True, False, "frame", ("MPJPE", "P-MPJPE"),
             "facebookresearch/VideoPose3D run.py evaluate(); bruceyo/GLA-GCN run_s-agcn.py"),
    Protocol("h36m-mixste", "h36m", "end-aligned-chunks", True, False, "frame", ("MPJPE", "P-MPJPE"),
             "JinluZhang1126/MixSTE run.py eval_data_prepare(); JihuaPeng/KTPFormer run_ktpformer.py"),
    Protocol("h36m-hot", "h36m", "centred-chunks", True, True, "window", ("MPJPE", "P-MPJPE"),
             "NationalGAILab/HoT common/generator_stride.py, main_mixste.py test()"),
    Protocol("h36m-frame", "h36m", "per-frame", True, True, "frame", ("MPJPE", "P-MPJPE"),
             "xiu-cs/UAO-Pose3D main.py (single frame, no test-time optimisation); NationalGAILab/HoT "
             "main_mixste_tpc.py (--stride 1)"),
    Protocol("3dhp-pck", "3dhp", "predict", True, True, "frame", ("PCK", "AUC", "MPJPE"),
             "MPI-INF-3DHP test_util mpii_test_predictions_py.m / mpii_compute_3d_pck.m (14-joint PCK/AUC)"),
    Protocol("humaneva-p2", "humaneva", "predict", True, True, "frame", ("P-MPJPE", "MPJPE"),
             "facebookresearch/VideoPose3D run.py --by-subject", actions=("Walking", "Jog", "Box")),
)}

# The protocol each released model was evaluated with by its authors on Human3.6M.
DEFAULT_PROTOCOL = {"mixste": "h36m-mixste", "ktpformer": "h36m-mixste", "hot": "h36m-hot",
                    "hot-tpc": "h36m-frame", "uao": "h36m-frame",
                    "glagcn-released": "h36m-videopose3d", "tcn": "h36m-videopose3d"}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


# ---------------------------------------------------------------- test windows

def end_aligned_starts(length: int, frames: int) -> np.ndarray:
    """MixSTE's test chunks: 0, F, 2F, ... with the last chunk starting at length - F (one chunk at 0 when the video
    is shorter than F; it is then replicate-padded on the right)."""
    n = max(1, math.ceil(length / frames))
    starts = np.arange(n) * frames
    starts[-1] = max(0, length - frames)
    return starts


def window_plan(protocol: Protocol, length: int, frames: int) -> np.ndarray:
    """(W, frames) frame indices of every test window of a video of `length` frames (edge-clamped)."""
    if protocol.windows == "per-frame":
        starts = np.arange(length) - (frames - 1) // 2
    elif protocol.windows == "end-aligned-chunks":
        starts = end_aligned_starts(length, frames)
    elif protocol.windows == "centred-chunks":
        starts = chunk_starts(length, frames, frames)
    else:
        raise ValueError(f"protocol {protocol.name} has no window plan ({protocol.windows})")
    return edge_index(starts, frames, np.full(len(starts), length))


@torch.no_grad()
def run_windows(model: nn.Module, x: np.ndarray, flip: bool, skeleton, batch_size: int, device) -> np.ndarray:
    """Model outputs for windows x (W, T, J, 2): (W, T or 1, J, 3), averaged with the un-flipped prediction of the
    mirrored input when `flip`."""
    out = []
    for i in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])).to(device)
        y = pose_of(model(xb)).float()
        if flip:
            y = (y + flip_poses(pose_of(model(flip_poses(xb, skeleton))).float(), skeleton)) / 2
        out.append(y.cpu().numpy())
    return np.concatenate(out)


def h36m_window_errors(model: nn.Module, dataset: PoseDataset, protocol: Protocol, batch_size: int = 64,
                       device="auto") -> dict:
    """Per-window P1 and P2 errors (metres) of every test video: {'p1': [(action, errors (W, T'))], 'p2': ...}."""
    device = resolve_device(device) if isinstance(device, str) else device
    model.eval().to(device)
    frames, root = model.receptive_field, dataset.skeleton.root
    p1, p2, windows = [], [], 0
    for seq in dataset:
        idx = window_plan(protocol, seq.num_frames, frames)
        if protocol.windows == "per-frame" and isinstance(model, TemporalConvLifter):
            # VideoPose3D's own evaluation: the whole edge-padded video in one pass (T + RF - 1 in, T out), which
            # equals one window per frame for a convolutional model and costs RF times less
            whole = np.concatenate([idx[:, 0], idx[-1, 1:]])[None]
            pred = run_windows(model, seq.keypoints_2d[whole], protocol.flip, dataset.skeleton, 1, device)
            pred, gt = pred[0][:, None], seq.poses_3d[:, None]
        else:
            pred = run_windows(model, seq.keypoints_2d[idx], protocol.flip, dataset.skeleton, batch_size, device)
            if protocol.windows == "per-frame":
                centre = (frames - 1) // 2
                pred = pred[:, 0 if pred.shape[1] == 1 else centre][:, None]
                gt = seq.poses_3d[idx[:, centre]][:, None]
            elif pred.shape[1] != frames:
                raise ValueError(f"protocol {protocol.name} scores every frame of a window; the model predicts "
                                 f"{pred.shape[1]} of {frames} (use a per-frame protocol for it)")
            else:
                gt = seq.poses_3d[idx]
        if protocol.zero_root:
            pred[..., root, :] = 0.0
        p1.append((seq.action, metrics.joint_errors(pred, gt).mean(-1)))
        p2.append((seq.action, metrics.joint_errors(metrics.procrustes_align(pred, gt), gt).mean(-1)))
        windows += len(idx)
    return {"p1": p1, "p2": p2, "windows": windows}


def aggregate(errors: list, weighting: str) -> dict:
    """Per action group and 'Average' (mm) from [(action, errors (W, T'))]: frame- or window-weighted."""
    if weighting == "frame":
        rows = [(a, float(e.mean()), e.size) for a, e in errors]
    else:
        rows = [(a, float(w.mean()), 1) for a, e in errors for w in e]
    return metrics.to_mm(metrics.per_action(rows))


def evaluate_h36m(model, dataset, protocol, batch_size=64, device="auto") -> dict:
    errs = h36m_window_errors(model, dataset, protocol, batch_size, device)
    p1, p2 = aggregate(errs["p1"], protocol.weighting), aggregate(errs["p2"], protocol.weighting)
    return {"MPJPE": p1["Average"], "P-MPJPE": p2["Average"], "per_action": p1, "per_action_p_mpjpe": p2,
            "windows": errs["windows"], "frames_scored": int(sum(e.size for _, e in errs["p1"]))}


# ---------------------------------------------------------------- MPI-INF-3DHP and HumanEva-I

def pck_auc(pred: np.ndarray, gt: np.ndarray, joints=metrics.PCK_JOINTS_H36M) -> dict:
    """The official kit's 'All' row for root-relative poses (N, 17, 3) in metres, Human3.6M joint order."""
    return {"PCK": metrics.pck(pred, gt, joints=joints), "AUC": metrics.auc(pred, gt, joints=joints),
            "MPJPE": 1000 * metrics.mpjpe(pred, gt)}


def evaluate_3dhp(model, dataset, protocol, batch_size=256, device="auto") -> dict:
    predictions = predict(model, dataset, protocol.flip, batch_size, device)
    rows, preds, gts = {}, [], []
    for seq in dataset:
        keep = np.ones(seq.num_frames, bool) if seq.valid is None else seq.valid.astype(bool)
        p, g = predictions[seq.name][keep], seq.poses_3d[keep]
        rows[seq.subject] = {**pck_auc(p, g), "frames": int(keep.sum())}
        preds.append(p)
        gts.append(g)
    pred, gt = np.concatenate(preds), np.concatenate(gts)
    return {**pck_auc(pred, gt), "per_sequence": rows, "frames_scored": int(len(gt))}


def evaluate_humaneva(model, dataset, protocol, batch_size=256, device="auto") -> dict:
    dataset = dataset.filter(lambda s: metrics.action_group(s.action) in protocol.actions)
    if len(dataset) == 0:
        raise ValueError(f"no HumanEva-I test sequence of the actions {protocol.actions}")
    predictions = predict(model, dataset, protocol.flip, batch_size, device)
    p1, p2 = {}, {}
    for seq in dataset:
        cell = f"{metrics.action_group(seq.action)} {seq.subject.split('/')[-1]}"
        pred, gt = predictions[seq.name], seq.poses_3d
        p1.setdefault(cell, []).append(metrics.joint_errors(pred, gt).mean(-1))
        p2.setdefault(cell, []).append(metrics.joint_errors(metrics.procrustes_align(pred, gt), gt).mean(-1))
    cells1 = {c: 1000 * float(np.concatenate(v).mean()) for c, v in sorted(p1.items())}
    cells2 = {c: 1000 * float(np.concatenate(v).mean()) for c, v in sorted(p2.items())}
    return {"P-MPJPE": float(np.mean(list(cells2.values()))), "MPJPE": float(np.mean(list(cells1.values()))),
            "per_cell_p_mpjpe": cells2, "per_cell": cells1,
            "frames_scored": int(sum(s.num_frames for s in dataset))}


EVALUATORS = {"h36m": evaluate_h36m, "3dhp": evaluate_3dhp, "humaneva": evaluate_humaneva}


def evaluate(model: nn.Module, dataset: PoseDataset, protocol: str | Protocol, batch_size: int = 64,
             device="auto") -> dict:
    """Run `protocol` on the test split of `dataset` (S9/S11, TS1-TS6 or Validate/*); errors in mm, PCK/AUC in %."""
    protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
    test = dataset.test if dataset.test_subjects else dataset
    if len(test) == 0:
        raise ValueError(f"dataset {dataset.name!r} has no test sequences ({dataset.test_subjects})")
    t0 = time.perf_counter()
    result = EVALUATORS[protocol.dataset](model, test, protocol, batch_size, device)
    return {**result, "seconds": time.perf_counter() - t0, "sequences": len(test)}
