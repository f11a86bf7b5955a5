"""The reproduction card: everything needed to say what was evaluated, on what, and how (one JSON file)."""
from __future__ import annotations

import datetime
from pathlib import Path

import torch

from ..weights.checkpoint import sha256
from ..weights.convert import versions
from .scoring import Protocol


def dataset_files(name: str, root: str | Path, keypoints: str) -> list[Path]:
    """The files the posekit loader reads for dataset `name` from `root` (those that exist)."""
    root = Path(root)
    if name == "h36m":
        from ..data.h36m import KEYPOINT_ALIASES
        source = KEYPOINT_ALIASES.get(keypoints, keypoints)
        names = ["data_3d_h36m.npz", f"data_2d_h36m_{source}.npz", "data_2d_h36m_gt.npz"]
    elif name == "humaneva":
        from ..data.humaneva import KEYPOINT_ALIASES
        source = KEYPOINT_ALIASES.get(keypoints, keypoints)
        names = ["data_3d_humaneva15.npz", f"data_2d_humaneva15_{source}.npz", "data_2d_humaneva15_gt.npz"]
    elif name == "3dhp":
        for folder in (root / "mpi_inf_3dhp_test_set", root):
            mats = [folder / f"TS{i}" / "annot_data.mat" for i in range(1, 7)]
            if mats[0].is_file():
                return [m for m in mats if m.is_file()]
        names = ["data_test_3dhp.npz"]
    else:
        names = []
    return list(dict.fromkeys(root / n for n in names if (root / n).is_file()))


def device_name(device) -> str:
    device = torch.device(device) if not isinstance(device, torch.device) else device
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


def reproduction_card(method: str, checkpoint: str | Path, model_card: dict, protocol: Protocol, data: str,
                      root: str | Path, keypoints: str, result: dict, paper: dict | None, device) -> dict:
    """The JSON-ready record of one evaluation."""
    root = Path(root)
    return {
        "method": method,
        "checkpoint": {"file": str(checkpoint), "sha256": model_card.get("checkpoint_sha256"),
                       "imported_from": model_card.get("source"), "options": model_card.get("options", {}),
                       "build": model_card.get("build"), "parameters": model_card.get("parameters")},
        "protocol": protocol.describe(),
        "dataset": {"name": data, "root": str(root), "keypoints_2d": keypoints,
                    "files": {str(p.relative_to(root)): sha256(p) for p in dataset_files(data, root, keypoints)}},
        "frames": model_card.get("frames"), "flip": protocol.flip,
        "result": result, "paper": paper,
        "versions": versions(), "device": device_name(device),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
