"""The data of one command-line run: the dataset as loaded (every value checked by its loader before any training),
its training split and the split evaluated (`--split`), prepared for the profile.

MPI-INF-3DHP and 3DPW have separate training files (`data_train_3dhp.npz`, `sequenceFiles/train`): a training run
loads both splits (`split='all'`), an evaluation only the split it scores. 3DPW's `validation` folder is the only
validation split; `--split train` scores the training subjects (a check of fit, not a result).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .data import load_dataset
from .data.dataset import DatasetFileError, PoseDataset
from .profiles import Profile
from .train import prepare_data

GT_ONLY = ("3dhp", "3dpw")        # only ground-truth 2D in posekit's layout: the default keypoints there
WITH_SPLITS = ("3dhp", "3dpw")    # loaders that read the training and test files separately
SECTIONS = {"synth": "Embedded synthetic data", "synth-3dhp": "Embedded synthetic data", "h36m": "Human3.6M",
            "humaneva": "HumanEva-I", "3dhp": "MPI-INF-3DHP", "3dpw": "3DPW"}


@dataclass
class RunData:
    full: PoseDataset        # as loaded
    train: PoseDataset       # training split, prepared for the profile
    evaluation: PoseDataset  # the split evaluated, prepared for the profile
    split: str
    keypoints: str
    input_joints: int


def load_run_data(args, profile: Profile, training: bool) -> RunData:
    """Load `args.data` from `args.root` with `args.keypoints` for a training run (`training`) or an evaluation."""
    name, split = args.data, args.split
    keypoints = args.keypoints or ("gt" if name in GT_ONLY else "det")
    kwargs = {}
    if name in WITH_SPLITS:
        kwargs["split"] = "all" if training else split
    if split == "validation" and name != "3dpw":
        raise ValueError(f"dataset {name!r} has no validation split (3DPW's sequenceFiles/validation is the only "
                         f"one): use --split test")
    if args.root is None and name in SECTIONS and not name.startswith("synth"):
        raise ValueError(f"dataset {name!r} is read from files you provide: pass --root <folder> (root= in Python); "
                         f"data/README.md, section '{SECTIONS[name]}', says how to obtain and lay them out")
    ds = load_dataset(name, root=args.root, keypoints=keypoints, **kwargs)
    scored = {"test": ds.test_subjects, "train": ds.train_subjects,
              "validation": tuple(ds.info.get("validation_subjects", ()))}[split]
    train, evaluation = prepare_data(replace(ds, test_subjects=tuple(scored)), profile)
    where = Path(args.root) if args.root else Path(ds.info.get("folder", "."))
    section = SECTIONS.get(name, name)
    for role, part, wanted in (("training", train, ds.train_subjects if training else None),
                               (f"{split}-split", evaluation, scored)):
        if wanted is not None and len(part) == 0:
            found = f"subjects {', '.join(wanted)} not found" if wanted else f"no {role} files"
            raise DatasetFileError(where, f"{name} has no {role} sequences ({found}; loaded "
                                          f"{', '.join(ds.subjects)}), expected them under", section)
    input_joints = int(ds.sequences[0].keypoints_2d.shape[1])
    return RunData(full=ds, train=train, evaluation=evaluation, split=split, keypoints=keypoints,
                   input_joints=input_joints)
