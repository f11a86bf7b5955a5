"""Reading checkpoint files as the official training scripts save them, and writing posekit's own.

The official scripts save three kinds of file:
- a training checkpoint dict {'epoch', 'lr', 'random_state', 'optimizer', 'model_pos': state dict, ...}
  (VideoPose3D `run.py`, MixSTE `run.py`, KTPFormer `run_ktpformer.py`, GLA-GCN `run_s-agcn.py`); the model was
  wrapped in `nn.DataParallel` in the MixSTE, KTPFormer and GLA-GCN scripts, so its keys start with 'module.';
- a bare state dict, `torch.save(model.state_dict(), ...)` (HoT `common/utils.py::save_model`, UAO
  `common/utils.py::save_model`);
- rarely {'state_dict': ...} or {'model': ...} (other repositories; posekit's own checkpoints use 'model').

`read_state_dict` accepts all three. Files are unpickled with `torch.load(weights_only=True)` plus the few numpy
types a training checkpoint's 'random_state' holds, so no arbitrary code runs; `trust=True` lifts that restriction
for files from a source you trust.
"""
from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

WRAPPER_KEYS = ("model_pos", "state_dict", "model", "net")


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _numpy_globals() -> list:
    """The numpy objects inside a pickled `np.random.RandomState.get_state()` tuple, under the module names of
    numpy 2 ('numpy._core') and of numpy 1 ('numpy.core'), which the official checkpoints were written with."""
    core = np._core if hasattr(np, "_core") else np.core
    reconstruct, scalar = core.multiarray._reconstruct, core.multiarray.scalar
    dtypes = {type(np.dtype(t)) for t in ("uint32", "float64", "int64", "float32")}
    allowed = [reconstruct, scalar, np.ndarray, np.dtype, *dtypes]
    allowed += [(reconstruct, "numpy.core.multiarray._reconstruct"), (scalar, "numpy.core.multiarray.scalar")]
    return allowed


def load_file(path: str | Path, trust: bool = False):
    """Unpickle a checkpoint file onto the CPU: weights-only (plus numpy random states) unless `trust`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if trust:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise ValueError(f"{path} holds Python objects other than tensors and numpy random states ({first}); "
                         f"if you trust where the file comes from, load it with trust=True "
                         f"(`posekit import ... --trust-pickle`)") from None


def unwrap(obj, path: str | Path = "checkpoint") -> tuple[OrderedDict, dict]:
    """The model's state dict inside a loaded checkpoint, and how it was wrapped.

    Returns (state dict with any DataParallel/DDP 'module.' prefix removed, {'wrapper': key or None,
    'prefix': 'module.' or '', 'extra': the other top-level keys (e.g. epoch, lr)}).
    """
    wrapper, extra = None, {}
    if isinstance(obj, dict) and not _is_state_dict(obj):
        for key in WRAPPER_KEYS:
            if key in obj and isinstance(obj[key], dict) and _is_state_dict(obj[key]):
                wrapper = key
                break
        if wrapper is None:
            raise ValueError(f"{path}: no model weights found: the top-level keys are {sorted(map(str, obj))[:12]}; "
                             f"expected a state dict or a dict with one of {WRAPPER_KEYS}")
        extra = {k: v for k, v in obj.items() if k != wrapper and isinstance(v, (int, float, str))}
        obj = obj[wrapper]
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"{path}: expected a state dict (name -> tensor), got {type(obj).__name__}")
    prefix = ""
    keys = list(obj)
    for candidate in ("module.", "_orig_mod."):
        if all(k.startswith(candidate) for k in keys):
            prefix = candidate
            obj = OrderedDict((k[len(candidate):], v) for k, v in obj.items())
            break
    return OrderedDict(obj), {"wrapper": wrapper, "prefix": prefix, "extra": extra}


def _is_state_dict(d: dict) -> bool:
    return bool(d) and all(isinstance(k, str) for k in d) and all(torch.is_tensor(v) for v in d.values())


def read_state_dict(path: str | Path, trust: bool = False) -> tuple[OrderedDict, dict]:
    """`unwrap(load_file(path))`, with the file's sha256 added to the wrapping info."""
    state, info = unwrap(load_file(path, trust), path)
    info["sha256"] = sha256(path)
    return state, info
