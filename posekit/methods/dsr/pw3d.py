"""DSR's real-data path: 3DPW test images with ground-truth SMPL meshes, scored by the same `evaluate` as the
synthetic crops (Dwivedi et al., ICCV 2021, Sec. 4: 3DPW test, PA-MPJPE / MPJPE / PVE in mm).

Needs files posekit never ships or downloads (data/README.md, section '3DPW images and SMPL'):
- 3DPW (von Marcard et al., ECCV 2018): `<root>/sequenceFiles/{train,validation,test}/<sequence>.pkl` (Python 2
  pickles, read with encoding='latin1') and `<root>/imageFiles/<sequence>/image_%05d.jpg`;
- SMPL (Loper et al., 2015) in one folder `smpl_root`: SMPL_MALE.pkl and SMPL_FEMALE.pkl (3DPW's fits are
  gendered), SMPL_NEUTRAL.pkl for a regressor with the SMPL head, and SPIN's J_regressor_h36m.npy (17 x 6890);
  optionally SPIN's smpl_mean_params.npz (the IEF head's starting point). The official SMPL pickles hold chumpy
  arrays; `posekit.body.smpl.load_smpl_arrays` reads them without chumpy.

Per valid frame (`campose_valid`) and person this builds what SPIN's 3DPW preprocessing and evaluation build
(Kolotouros et al., ICCV 2019: `datasets/preprocess/pw3d.py`, `eval.py`; DSR evaluates with the same code):
- the crop: a square of side 1.2 x the larger side of the bounding box of the person's visible 2D keypoints
  (`poses2d`, confidence > 0), centred on the box, resized to `size` px (zero padding outside the image); when
  fewer than 3 keypoints are visible, the box of the projected ground-truth mesh instead (`box="mesh"` always);
- the ground truth: the gendered SMPL mesh (`poses`, `betas`[:10], `trans`) moved into the camera frame by the
  frame's `cam_poses`; its 17 Human3.6M joints from J_regressor_h36m (posekit's H36M_17 order); joints and
  vertices relative to the regressed pelvis (joint 0), as SPIN's `eval.py`;
- `eval_joints`: the 14 joints SPIN scores (its `H36M_TO_J14`: ankles, knees, hips, wrists, elbows, shoulders,
  thorax ('Neck' of LSP) and head top), leaving out pelvis, spine and nose; MPJPE and PA-MPJPE average them.

The result is a `PW3DImages`, an `ImageSet` without the synthetic-only fields (no label map, no parts), so
`posekit.methods.dsr.evaluate` scores any DSR model on it: PVE needs a model with the SMPL head (same 6,890
vertices); for a model with the anny head PVE is NaN (different meshes) and only the joint errors are defined.
PVE here is pelvis-aligned (both meshes minus their regressed pelvis, as the synthetic PVE); DSR's
`compute_error_verts` (`dsr/utils/eval_utils.py`) compares the meshes in SMPL's own frame without translation,
which differs by the difference of the two pelvis offsets.
"""
from __future__ import annotations

import contextlib
import io
import pickle
from pathlib import Path

import numpy as np
import torch

from ...camera import pinhole
from ...data.dataset import DatasetFileError, natural_key
from ...data.pw3d import read_sequence_file
from .training import ImageSet

SECTION = "3DPW images and SMPL"
SPLITS = ("train", "validation", "test")
# SPIN's H36M_TO_J14 (`constants.py`) as a set of H36M_17 indices: RHip RKnee RFoot LHip LKnee LFoot Thorax Head
# LShoulder LElbow LWrist RShoulder RElbow RWrist.
EVAL_JOINTS_14 = (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16)
GENDERS = {"m": "male", "f": "female", "male": "male", "female": "female", "n": "neutral", "neutral": "neutral"}
OFFICIAL_NAMES = {"male": "basicModel_m_lbs_10_207_0_v1.0.0.pkl (SMPL v1.0) or basicmodel_m_lbs_10_207_0_v1.1.0.pkl",
                  "female": "basicModel_f_lbs_10_207_0_v1.0.0.pkl (SMPL v1.0) or basicmodel_f_lbs_10_207_0_v1.1.0.pkl",
                  "neutral": "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl (from SMPLify) or "
                             "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl"}
KEYS = ("sequence", "poses", "betas", "trans", "genders", "cam_poses", "cam_intrinsics", "campose_valid", "poses2d",
        "img_frame_ids")


def smpl_file(smpl_root, gender: str) -> Path:
    """The path of SMPL_<GENDER>.pkl in smpl_root; a DatasetFileError naming the file and its official name."""
    path = Path(smpl_root) / f"SMPL_{gender.upper()}.pkl"
    if not path.is_file():
        raise DatasetFileError(path, f"SMPL model file missing: put the {gender} SMPL model there (licensed, from "
                                     f"smpl.is.tue.mpg.de; the download's {OFFICIAL_NAMES[gender]}, renamed "
                                     f"SMPL_{gender.upper()}.pkl)", SECTION)
    return path


def smpl_body(smpl_root, gender: str):
    """smplx.SMPL of one gender from the user's file, read without chumpy (`posekit.body.smpl_model`)."""
    from ...body.smpl import smpl_model
    path = smpl_file(smpl_root, gender)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning about 10 shape coefficients
            model = smpl_model(path, gender)
    except ValueError as err:  # lacks SMPL's fields
        raise DatasetFileError(path, f"not an SMPL model pickle ({err})", SECTION) from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as err:
        raise DatasetFileError(path, f"cannot unpickle the SMPL model ({err.__class__.__name__}: {err}); expected "
                                     f"the official SMPL .pkl (chumpy arrays are read without chumpy)",
                               SECTION) from None
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def h36m_regressor(smpl_root) -> np.ndarray:
    """SPIN's J_regressor_h36m.npy from smpl_root: (17, 6890), the Human3.6M joints as weighted vertex sums."""
    path = Path(smpl_root) / "J_regressor_h36m.npy"
    if not path.is_file():
        raise DatasetFileError(path, "Human3.6M joint regressor missing: put SPIN's J_regressor_h36m.npy (its "
                                     "`fetch_data.sh` data folder) there", SECTION)
    try:
        reg = np.load(path)
    except Exception as err:
        raise DatasetFileError(path, f"cannot read the joint regressor ({err.__class__.__name__}: {err})",
                               SECTION) from None
    if reg.ndim != 2 or reg.shape[0] != 17 or not np.isfinite(reg).all():
        raise DatasetFileError(path, f"the joint regressor has shape {reg.shape}, expected a finite (17, 6890) "
                                     f"array (17 Human3.6M joints x SMPL vertices)", SECTION)
    return reg.astype(np.float32)


def load_mean_params(model, path) -> None:
    """Start a DSR model's IEF head from SPIN's smpl_mean_params.npz (pose (144,) 6D, shape (10,), cam (3,))."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "SPIN's mean parameters missing (smpl_mean_params.npz from SPIN's "
                                     "`fetch_data.sh`)", SECTION)
    data = np.load(path)
    head = model.head
    want = {"pose": head.npose, "shape": head.nshape, "cam": 3}
    for key, n in want.items():
        if key not in data or np.asarray(data[key]).size != n:
            got = np.asarray(data[key]).shape if key in data else "nothing"
            raise ValueError(f"{path}: '{key}' should hold {n} values for this head, got {got}; "
                             f"smpl_mean_params.npz fits the SMPL head only (build_model('dsr', ..., body='smpl'))")
    head.set_mean(*(torch.as_tensor(np.asarray(data[k]), dtype=torch.float32) for k in ("pose", "shape", "cam")))


def smpl_regressor(smpl_root, config: str = "paper", checkpoint=None, **overrides):
    """A DSR regressor with the SMPL head on the user's files: SMPL_NEUTRAL.pkl, J_regressor_h36m.npy (17 joints),
    SPIN's smpl_mean_params.npz when it is in smpl_root, and a state dict (`torch.save(model.state_dict())`) when
    given. Returns the model in eval mode."""
    from ...models import build_model
    smpl_file(smpl_root, "neutral")
    with contextlib.redirect_stdout(io.StringIO()):  # smplx's warning about 10 shape coefficients
        model = build_model("dsr", config, body="smpl", smpl_path=Path(smpl_root),
                            h36m_regressor=h36m_regressor(smpl_root), **overrides)
    mean = Path(smpl_root) / "smpl_mean_params.npz"
    if mean.is_file():
        load_mean_params(model, mean)
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("model", state) if isinstance(state, dict) else state
        model.load_state_dict(state)
    return model.eval()


def read_sequence(path) -> dict:
    """One 3DPW sequence pickle (latin1), checked: the keys and per-actor shapes this reader uses."""
    path = Path(path)
    data = read_sequence_file(path, KEYS, SECTION)
    bad = lambda what: DatasetFileError(path, f"{what} (a 3DPW sequence file of another structure?)", SECTION)  # noqa
    cam_poses = np.asarray(data["cam_poses"], np.float64)
    K = np.asarray(data["cam_intrinsics"], np.float64)
    frames = np.asarray(data["img_frame_ids"]).reshape(-1)
    if cam_poses.ndim != 3 or cam_poses.shape[1:] != (4, 4):
        raise bad(f"cam_poses has shape {cam_poses.shape}, expected (N, 4, 4)")
    if K.shape != (3, 3) or not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise bad(f"cam_intrinsics is {K.tolist()}, expected a (3, 3) pixel matrix with fx, fy > 0")
    n = len(cam_poses)
    if len(frames) != n:
        raise bad(f"img_frame_ids has {len(frames)} entries but cam_poses {n}")
    actors = len(data["poses"])
    for key in ("betas", "trans", "genders", "campose_valid", "poses2d"):
        if len(data[key]) != actors:
            raise bad(f"{key} has {len(data[key])} entries but poses {actors} (one per person)")
    for a in range(actors):
        shapes = {"poses": (np.asarray(data["poses"][a]).shape, (n, 72)),
                  "trans": (np.asarray(data["trans"][a]).shape, (n, 3)),
                  "campose_valid": (np.asarray(data["campose_valid"][a]).shape, (n,)),
                  "poses2d": (np.asarray(data["poses2d"][a]).shape, (n, 3, 18))}
        for key, (got, want) in shapes.items():
            if got != want:
                raise bad(f"{key}[{a}] has shape {got}, expected {want}")
        if np.asarray(data["betas"][a]).reshape(-1).size < 10:
            raise bad(f"betas[{a}] has {np.asarray(data['betas'][a]).size} values, expected at least 10")
        if str(data["genders"][a]).lower() not in GENDERS:
            raise bad(f"genders[{a}] is {data['genders'][a]!r}, expected 'm' or 'f'")
    return data


def crop_box(points: np.ndarray, scale: float = 1.2) -> tuple[float, float, float]:
    """(centre x, centre y, side) of the square around 2D points (P, 2): SPIN's box, side = scale x larger extent."""
    lo, hi = points.min(0), points.max(0)
    centre = (lo + hi) / 2
    return float(centre[0]), float(centre[1]), float(scale * max(hi - lo))


def crop(image, cx: float, cy: float, side: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size x size x 3 uint8 crop, 3 x 3 matrix A mapping image pixels to crop pixels) of a PIL image: the square
    box rounded to whole pixels, zero outside the image, resized with Pillow's antialiasing bilinear filter."""
    from PIL import Image
    side_px = max(int(round(side)), 2)
    x0, y0 = int(round(cx - side_px / 2)), int(round(cy - side_px / 2))
    patch = image.crop((x0, y0, x0 + side_px, y0 + side_px)).resize((size, size), Image.BILINEAR)
    s = size / side_px
    A = np.array([[s, 0, -s * x0], [0, s, -s * y0], [0, 0, 1]])  # continuous pixel coordinates (centres at +0.5)
    return np.asarray(patch.convert("RGB"), np.uint8), A


class PW3DImages(ImageSet):
    """3DPW crops with ground-truth SMPL meshes, as an ImageSet (the fields `evaluate` reads); see `load_3dpw_images`.

    Fields: images (N, 3, S, S) uint8; K (N, 3, 3) crop intrinsics; joints_2d (N, 17, 2) crop pixels;
    joints_3d (N, 17, 3) and vertices (N, 6890, 3) camera frame, metres, minus the pelvis `root` (N, 3);
    eval_joints (the 14 scored); parts = labels = None (3DPW has no clothing segmentation); `info` per crop:
    sequence, person, frame (image id), gender, box (cx, cy, side) in image pixels.
    """

    def __init__(self, images, K, joints_2d, joints_3d, root, vertices, info, faces, name: str = "3dpw"):
        self.name, self.body = name, None
        self.images = torch.as_tensor(np.asarray(images))
        self.size = int(self.images.shape[-1])
        self.K = torch.as_tensor(np.asarray(K, np.float32))
        self.joints_2d = torch.as_tensor(np.asarray(joints_2d, np.float32))
        self.joints_3d = torch.as_tensor(np.asarray(joints_3d, np.float32))
        self.root = torch.as_tensor(np.asarray(root, np.float32))
        self.vertices = torch.as_tensor(np.asarray(vertices, np.float32))
        self.faces = torch.as_tensor(np.asarray(faces, np.int64))
        self.parts = self.labels = self.rotations = self.phenotype = None
        self.eval_joints = EVAL_JOINTS_14
        self.info = info

    def item(self, idx) -> dict:
        idx = torch.as_tensor(idx)
        return {"K": self.K[idx], "joints_2d": self.joints_2d[idx], "joints_3d": self.joints_3d[idx],
                "vertices": self.vertices[idx]}

    def fingerprint(self) -> str:
        import hashlib
        h = hashlib.sha256(self.name.encode())
        for t in (self.images, self.K, self.joints_3d, self.vertices):
            h.update(str((t.dtype, tuple(t.shape))).encode())
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()[:20]

    def mean_parameters(self):
        raise TypeError("3DPW crops carry no anny parameters: DSR trains on the synthetic ImageSet; use PW3DImages "
                        "for evaluation (posekit.methods.dsr.evaluate)")

    def __repr__(self) -> str:
        seqs = sorted({i["sequence"] for i in self.info}, key=natural_key)
        return f"PW3DImages({self.name!r}, {len(self)} crops of {self.size} px from {len(seqs)} sequences)"


def load_3dpw_images(root, smpl_root, split: str = "test", size: int = 224, every: int = 1,
                     max_crops: int | None = None, sequences=None, box: str = "keypoints") -> PW3DImages:
    """The crops and ground truth of a 3DPW split (module docstring).

    root: the 3DPW folder (sequenceFiles/, imageFiles/); smpl_root: the folder of SMPL_{MALE,FEMALE}.pkl and
    J_regressor_h36m.npy. size: crop side in pixels (the model's `image_size`). every: keep every n-th valid frame
    of each person (1: all, SPIN's protocol); max_crops: stop after that many; sequences: names to keep.
    box: 'keypoints' (SPIN: the visible `poses2d`, the mesh when fewer than 3 are visible) or 'mesh'.
    All crops are held in memory: 3DPW test has 35,515 person-frames (about 5 GB at 224 px, 0.4 GB at 64 px);
    use `every` to subsample.
    """
    from PIL import Image
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if box not in ("keypoints", "mesh"):
        raise ValueError(f"box must be 'keypoints' or 'mesh', got {box!r}")
    if int(every) < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    root = Path(root)
    folder = root / "sequenceFiles" / split
    if not root.is_dir():
        raise DatasetFileError(root, "3DPW folder not found (expected sequenceFiles/ and imageFiles/ in it)", SECTION)
    files = sorted(folder.glob("*.pkl"), key=lambda p: natural_key(p.stem)) if folder.is_dir() else []
    if not files:
        raise DatasetFileError(folder, f"no 3DPW sequence files (*.pkl) for split {split!r}; expected "
                                       f"sequenceFiles/{split}/<sequence>.pkl from sequenceFiles.zip in", SECTION)
    if not (root / "imageFiles").is_dir():
        raise DatasetFileError(root / "imageFiles", "3DPW image folder not found (unzip imageFiles.zip into the "
                                                    "3DPW folder)", SECTION)
    if sequences is not None:
        files = [p for p in files if p.stem in set(sequences)]
        if not files:
            raise KeyError(f"none of the sequences {sorted(sequences)} is in {folder}")
    for gender in ("male", "female"):  # fail before reading images: 3DPW's fits are gendered
        smpl_file(smpl_root, gender)
    regressor = torch.from_numpy(h36m_regressor(smpl_root))
    bodies, out = {}, {k: [] for k in ("images", "K", "joints_2d", "joints_3d", "root", "vertices")}
    info, faces = [], None
    for path in files:
        data = read_sequence(path)
        seq = str(data["sequence"]) if data["sequence"] is not None else path.stem
        K = np.asarray(data["cam_intrinsics"], np.float64)
        cam_poses = np.asarray(data["cam_poses"], np.float64)
        frames = np.asarray(data["img_frame_ids"]).reshape(-1).astype(int)
        for a in range(len(data["poses"])):
            gender = GENDERS[str(data["genders"][a]).lower()]
            if gender not in bodies:
                bodies[gender] = smpl_body(smpl_root, gender)
            smpl = bodies[gender]
            if regressor.shape[1] != smpl.v_template.shape[0]:
                raise DatasetFileError(Path(smpl_root) / "J_regressor_h36m.npy",
                                       f"the joint regressor has {regressor.shape[1]} vertex columns but the SMPL "
                                       f"model {smpl.v_template.shape[0]} vertices", SECTION)
            faces = smpl.faces
            keep = np.flatnonzero(np.asarray(data["campose_valid"][a]).reshape(-1) > 0)[::int(every)]
            if max_crops is not None:
                keep = keep[:max(int(max_crops) - len(info), 0)]
            if len(keep) == 0:
                continue
            poses = torch.as_tensor(np.asarray(data["poses"][a], np.float32)[keep])
            betas = torch.as_tensor(np.asarray(data["betas"][a], np.float32).reshape(-1)[:10]).expand(len(keep), -1)
            trans = torch.as_tensor(np.asarray(data["trans"][a], np.float32)[keep])
            with torch.no_grad():
                world = smpl(global_orient=poses[:, :3], body_pose=poses[:, 3:], betas=betas, transl=trans).vertices
            R = torch.as_tensor(cam_poses[keep, :3, :3], dtype=torch.float32)
            t = torch.as_tensor(cam_poses[keep, :3, 3], dtype=torch.float32)
            verts = (world @ R.transpose(1, 2) + t[:, None]).double().numpy()
            joints = np.einsum("jv,nvc->njc", regressor.double().numpy(), verts)
            if not (np.isfinite(verts).all() and (joints[..., 2] > 0).all()):
                raise DatasetFileError(path, f"person {a}: a ground-truth joint lies behind the camera or is not "
                                             f"finite in a frame marked valid (campose_valid)", SECTION)
            kp2d = np.asarray(data["poses2d"][a], np.float64)[keep]  # (n, 3, 18): x, y, confidence
            for j, fi in enumerate(keep):
                image_path = root / "imageFiles" / seq / f"image_{frames[fi]:05d}.jpg"
                if not image_path.is_file():
                    raise DatasetFileError(image_path, f"3DPW image missing (sequence {seq}, frame {frames[fi]}; "
                                                       f"unzip imageFiles.zip)", SECTION)
                visible = kp2d[j, :2][:, kp2d[j, 2] > 0].T
                pts = visible if box == "keypoints" and len(visible) >= 3 else pinhole(verts[j], K)
                cx, cy, side = crop_box(pts)
                try:
                    with Image.open(image_path) as im:
                        patch, A = crop(im, cx, cy, side, size)
                except OSError as err:
                    raise DatasetFileError(image_path, f"cannot read the image ({err})", SECTION) from None
                Kc = A @ K
                out["images"].append(patch.transpose(2, 0, 1))
                out["K"].append(Kc)
                out["joints_2d"].append(pinhole(joints[j], Kc))
                out["root"].append(joints[j, 0])
                out["joints_3d"].append(joints[j] - joints[j, :1])
                out["vertices"].append((verts[j] - joints[j, :1]).astype(np.float32))
                info.append({"sequence": seq, "person": a, "frame": int(frames[fi]), "gender": gender,
                             "box": (cx, cy, side)})
    if not info:
        raise ValueError(f"no valid person-frames in {folder} (campose_valid is 0 everywhere, or every/max_crops "
                         f"left none)")
    arrays = {k: np.stack(v) for k, v in out.items()}
    return PW3DImages(**arrays, info=info, faces=faces, name=f"3dpw {split}")


@torch.no_grad()
def start_floor(model, data: ImageSet):
    """The floor of a regressor: its own starting point (the IEF head's mean pose, shape and camera, e.g. the
    training set's means or SPIN's smpl_mean_params.npz) given to every image, scored like the model."""
    from .model import camera_translation, rot6d_to_matrix
    head = model.head
    mesh = model.body(rot6d_to_matrix(head.init_pose.reshape(1, -1, 6)), head.init_shape[None])
    mesh = {k: v.cpu() for k, v in mesh.items()}
    n = len(data)
    t = camera_translation(head.init_cam[None].cpu().expand(n, -1), data.K[:, 0, 0], data.size)
    pred = {"joints": mesh["joints"].expand(n, -1, -1), "vertices": mesh["vertices"].expand(n, -1, -1),
            "translation": t}
    from .training import score
    return score(pred, data, model.body.faces.cpu(), None)
