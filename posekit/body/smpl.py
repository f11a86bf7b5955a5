"""The licensed path: SMPL through `smplx` when the user brings the model files, loaded without chumpy.

SMPL (Loper et al., SIGGRAPH Asia 2015) files cannot be shipped or downloaded; users who have accepted the licence
put SMPL_{NEUTRAL,MALE,FEMALE}.pkl (v1.0 or v1.1.0, renamed) in a folder. The official pickles hold chumpy arrays
(`chumpy.ch.Ch`) and a scipy sparse joint regressor; chumpy does not install on Python 3.11 with numpy >= 1.24.
`load_smpl_arrays` unpickles them with stand-ins for the chumpy classes, keeping only their array values, and
`smpl_model` passes the plain arrays to smplx's SMPL class as its `data_struct` (smplx `body_models.py`), so the
forward pass is exactly smplx's.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

FIELDS = ("v_template", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights", "f")


class _ChumpyArray:
    """Stand-in for a pickled chumpy object: keeps the array it wraps (its state's 'x')."""

    def __init__(self, *args, **kwargs):
        self.x = None

    def __setstate__(self, state):
        self.x = state.get("x") if isinstance(state, dict) else state


class _NoChumpyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.startswith("chumpy"):
            return _ChumpyArray
        return super().find_class(module, name)


def _plain(value):
    if isinstance(value, _ChumpyArray):
        value = value.x
    if hasattr(value, "toarray"):  # scipy sparse (the joint regressor)
        value = value.toarray()
    return np.asarray(value)


def load_smpl_arrays(path: str | Path, gender: str = "neutral") -> dict[str, np.ndarray]:
    """Plain numpy arrays of an SMPL pickle (a file, or a folder holding SMPL_<GENDER>.pkl)."""
    path = Path(path)
    if path.is_dir():
        path = path / f"SMPL_{gender.upper()}.pkl"
    if not path.exists():
        raise FileNotFoundError(f"no SMPL model at {path}: SMPL is licensed and never downloaded; register at "
                                "smpl.is.tue.mpg.de, download SMPL v1.1.0 and save the pickles as "
                                "SMPL_NEUTRAL.pkl / SMPL_MALE.pkl / SMPL_FEMALE.pkl in one folder")
    with open(path, "rb") as fh:
        raw = _NoChumpyUnpickler(fh, encoding="latin1").load()
    missing = [k for k in FIELDS if k not in raw]
    if missing:
        raise ValueError(f"{path} is not an SMPL model file: it lacks {', '.join(missing)}")
    arrays = {k: _plain(raw[k]) for k in FIELDS}
    arrays["f"] = arrays["f"].astype(np.int64)
    return arrays


def smpl_model(path: str | Path, gender: str = "neutral", num_betas: int = 10, **kwargs):
    """smplx.SMPL built from the user's SMPL file without chumpy; kwargs go to smplx.SMPL (batch_size, dtype...)."""
    try:
        import smplx
        from smplx.utils import Struct
    except ImportError as err:
        raise ImportError("the SMPL path needs smplx: pip install 'posekit[image]'") from err
    arrays = load_smpl_arrays(path, gender)
    return smplx.SMPL(str(path), data_struct=Struct(**arrays), num_betas=num_betas, gender=gender, **kwargs)
