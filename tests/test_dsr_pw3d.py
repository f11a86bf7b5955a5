"""DSR's real-data path on a tiny fake 3DPW folder and fake SMPL files of the real structure: the reader's crops
and ground truth, known-answer errors through the shared scoring, and one clear error per bad input."""
import pickle
import shutil
import sys
import types

import numpy as np
import pytest
import torch

from posekit.data.dataset import DatasetFileError
from test_dsr import _fake_smpl

pytest.importorskip("smplx")
PIL = pytest.importorskip("PIL.Image")

W, H = 64, 96  # tiny portrait images
K = np.array([[40.0, 0, 32], [0, 40.0, 48], [0, 0, 1]])


def _rot_y(deg):
    a = np.deg2rad(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def _write_sequence(root, name, genders, n, seed, invalid=()):
    rng = np.random.default_rng(seed)
    cam = np.tile(np.eye(4), (n, 1, 1))
    cam[:, :3, 3] = [0.1, -0.2, 6.0]
    cam[:, :3, :3] = _rot_y(20)
    poses2d = []
    for a in range(len(genders)):
        kp = np.zeros((n, 3, 18))
        kp[:, 0] = rng.uniform(10 + 10 * a, 30 + 10 * a, (n, 18))
        kp[:, 1] = rng.uniform(20, 70, (n, 18))
        kp[:, 2] = 1.0
        kp[:, 2, 5:] = 0.0  # only 5 of 18 visible
        poses2d.append(kp)
    poses2d[0][1, 2, 2:] = 0.0  # frame 1 of person 0: 2 visible -> the mesh's box
    data = {"sequence": name, "genders": list(genders), "cam_intrinsics": K, "cam_poses": cam,
            "img_frame_ids": np.arange(100, 100 + n), "poses2d": poses2d,
            "poses": [np.concatenate([np.zeros((n, 3)), rng.normal(0, 0.2, (n, 69))], 1) if a else np.zeros((n, 72))
                      for a in range(len(genders))],
            "betas": [rng.normal(0, 1, 10) for _ in genders],
            "trans": [rng.normal(0, 0.1, (n, 3)) for _ in genders],
            "campose_valid": [np.array([0 if i in invalid else 1 for i in range(n)]) for _ in genders],
            "jointPositions": [np.zeros((n, 72)) for _ in genders]}
    (root / "sequenceFiles" / "test").mkdir(parents=True, exist_ok=True)
    with open(root / "sequenceFiles" / "test" / f"{name}.pkl", "wb") as fh:
        pickle.dump(data, fh, protocol=2)
    folder = root / "imageFiles" / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        img[..., 0] = np.arange(W)[None] * 4
        img[..., 1] = np.arange(H)[:, None] * 2
        img[..., 2] = 40 * i
        PIL.fromarray(img).save(folder / f"image_{100 + i:05d}.jpg", quality=95)
    return data


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    base = tmp_path_factory.mktemp("pw3d")
    smpl = base / "smpl"
    for seed, gender in enumerate(("neutral", "male", "female")):
        _fake_smpl(smpl, seed=seed, gender=gender)
    reg = np.zeros((17, 6890))  # sparse, as the real one: each joint from a few vertices
    rng = np.random.default_rng(5)
    for j in range(17):
        reg[j, rng.choice(6890, 3, replace=False)] = 1 / 3
    np.save(smpl / "J_regressor_h36m.npy", reg)
    root = base / "3dpw"
    seqs = {"courtyard_a_00": _write_sequence(root, "courtyard_a_00", ["m", "f"], 4, 1, invalid=(2,)),
            "downtown_b_00": _write_sequence(root, "downtown_b_00", ["f"], 3, 2)}
    return {"root": root, "smpl": smpl, "seqs": seqs, "base": base}


@pytest.fixture(scope="module")
def crops(fake):
    from posekit.methods.dsr import load_3dpw_images
    return load_3dpw_images(fake["root"], fake["smpl"], size=32)


def test_reader_crops_and_ground_truth(fake, crops):
    from posekit.body.smpl import load_smpl_arrays
    assert len(crops) == 2 * 3 + 3 and crops.images.shape == (9, 3, 32, 32) and crops.images.dtype == torch.uint8
    assert [(i["sequence"], i["person"], i["frame"]) for i in crops.info][:4] == \
        [("courtyard_a_00", 0, 100), ("courtyard_a_00", 0, 101), ("courtyard_a_00", 0, 103), ("courtyard_a_00", 1, 100)]
    assert crops.vertices.shape == (9, 6890, 3) and crops.joints_3d.shape == (9, 17, 3)
    assert torch.allclose(crops.joints_3d[:, 0], torch.zeros(9, 3))
    # person 0 of the first file: male, zero pose -> vertices = R (v_template + shapedirs beta + trans) + t
    seq = fake["seqs"]["courtyard_a_00"]
    male = load_smpl_arrays(fake["smpl"], "male")
    shaped = male["v_template"] + male["shapedirs"] @ seq["betas"][0]
    cam = seq["cam_poses"][0]
    v = (shaped + seq["trans"][0][0]) @ cam[:3, :3].T + cam[:3, 3]
    j = np.load(fake["smpl"] / "J_regressor_h36m.npy") @ v
    assert np.allclose(crops.vertices[0].numpy(), v - j[0], atol=1e-4)
    assert np.allclose(crops.root[0].numpy(), j[0], atol=1e-4)
    assert [i["gender"] for i in crops.info] == ["male"] * 3 + ["female"] * 6
    # the crop box: SPIN's square around the visible keypoints; frame 1 of person 0 falls back to the mesh
    kp = seq["poses2d"][0][0, :2, :5]
    lo, hi = kp.min(1), kp.max(1)
    assert np.allclose(crops.info[0]["box"], [*(lo + hi) / 2, 1.2 * max(hi - lo)])
    proj = v @ K.T
    proj = proj[:, :2] / proj[:, 2:]
    assert np.isclose(crops.info[1]["box"][2], 1.2 * max(proj.max(0) - proj.min(0)), rtol=0.2)  # frame 1, own mesh
    # crop intrinsics: 2D joints in crop pixels = the crop's scale and shift of the full-image projection
    cx, cy, side = crops.info[0]["box"]
    s_px = round(side)
    x0, y0 = round(cx - s_px / 2), round(cy - s_px / 2)
    full = j @ K.T
    full = full[:, :2] / full[:, 2:]
    assert np.allclose(crops.joints_2d[0].numpy(), (full - [x0, y0]) * 32 / s_px, atol=1e-3)


def test_crop_is_the_box_resized_with_zeros_outside():
    from posekit.methods.dsr.pw3d import crop
    img = np.random.default_rng(0).integers(0, 255, (40, 30, 3)).astype(np.uint8)
    patch, A = crop(PIL.fromarray(img), 15.0, 20.0, 10.0, 10)  # scale 1: the exact pixels
    assert np.array_equal(patch, img[15:25, 10:20]) and np.allclose(A[:2, 2], [-10, -15])
    patch, _ = crop(PIL.fromarray(img), 2.0, 2.0, 8.0, 8)  # half outside the image: zeros there
    assert (patch[:2, :] == 0).all() and (patch[:, :2] == 0).all() and np.array_equal(patch[2:, 2:], img[:6, :6])


def test_known_answers_through_the_shared_scoring(crops):
    from posekit.methods.dsr import EVAL_JOINTS_14, score, summary
    gt = {"joints": crops.joints_3d.clone(), "vertices": crops.vertices.clone(), "translation": crops.root.clone()}
    perfect = summary(score(gt, crops, crops.faces, None))
    assert perfect["PA-MPJPE"] == pytest.approx(0, abs=1e-3) and perfect["MPJPE"] == pytest.approx(0, abs=1e-3)
    assert perfect["PVE"] == pytest.approx(0, abs=1e-3) and np.isnan(perfect["part IoU"])
    R = torch.as_tensor(_rot_y(30), dtype=torch.float32)
    rotated = {**gt, "joints": gt["joints"] @ R.T, "vertices": gt["vertices"] @ R.T}
    r = score(rotated, crops, crops.faces, None)
    s = summary(r)
    assert s["PA-MPJPE"] == pytest.approx(0, abs=0.05) and s["PA-PVE"] == pytest.approx(0, abs=0.05)
    sel = list(EVAL_JOINTS_14)
    expect = 1000 * np.linalg.norm((rotated["joints"] - gt["joints"])[:, sel].numpy(), axis=-1).mean()
    assert s["MPJPE"] == pytest.approx(expect, rel=1e-4) and s["MPJPE"] > 50 and s["PVE"] > 50
    assert r.per_joint.shape == (14,)
    bad = {**gt, "joints": torch.zeros(9, 24, 3)}
    with pytest.raises(ValueError, match="h36m_regressor"):
        score(bad, crops, crops.faces, None)


def test_smpl_regressor_evaluates_on_3dpw_with_mean_params(fake, crops, tmp_path):
    from posekit.methods.dsr import evaluate, smpl_regressor, start_floor
    smpl = tmp_path / "smpl"
    shutil.copytree(fake["smpl"], smpl)
    pose = np.tile([1.0, 0, 0, 1, 0, 0], 24)  # identity rotations as 6D
    np.savez(smpl / "smpl_mean_params.npz", pose=pose, shape=np.full(10, 0.5), cam=np.array([0.8, 0.1, 0.0]))
    torch.manual_seed(0)
    model = smpl_regressor(smpl, "paper", backbone="small", image_size=32)
    assert torch.allclose(model.head.init_shape, torch.full((10,), 0.5)) and model.head.init_cam[0] == 0.8
    r = evaluate(model, crops)
    s = r.summary()
    assert r.frames == 9 and np.isfinite([s["PA-MPJPE"], s["MPJPE"], s["PVE"]]).all() and np.isnan(s["part IoU"])
    assert 0 < s["PA-MPJPE"] <= s["MPJPE"] + 1e-6
    floor = start_floor(model, crops)
    assert np.isfinite(floor.summary()["PVE"]) and np.ptp(floor.predictions["vertices"], axis=0).max() == 0
    torch.save(model.state_dict(), tmp_path / "ckpt.pt")
    again = smpl_regressor(smpl, "paper", checkpoint=tmp_path / "ckpt.pt", backbone="small", image_size=32)
    assert evaluate(again, crops).p_mpjpe == r.p_mpjpe
    with pytest.raises(ValueError, match="32-px crops"):
        evaluate(smpl_regressor(smpl, "paper", backbone="small", image_size=64), crops)
    np.savez(smpl / "smpl_mean_params.npz", pose=np.zeros(78), shape=np.zeros(10), cam=np.zeros(3))
    with pytest.raises(ValueError, match="'pose' should hold 144"):
        smpl_regressor(smpl, "paper", backbone="small", image_size=32)


@pytest.mark.slow
def test_anny_model_on_3dpw_gives_joint_errors_and_no_pve(crops):
    pytest.importorskip("anny")
    from posekit.methods.dsr import evaluate
    from posekit.models import build_model
    torch.manual_seed(0)
    s = evaluate(build_model("dsr", "smoke", image_size=32), crops).summary()
    assert np.isfinite(s["PA-MPJPE"]) and np.isfinite(s["MPJPE"]) and np.isnan(s["PVE"])


def _copy(fake, tmp_path):
    root, smpl = tmp_path / "3dpw", tmp_path / "smpl"
    shutil.copytree(fake["root"], root)
    shutil.copytree(fake["smpl"], smpl)
    return root, smpl


def test_missing_files_are_named(fake, tmp_path):
    from posekit.methods.dsr import load_3dpw_images, smpl_regressor
    root, smpl = _copy(fake, tmp_path)
    with pytest.raises(DatasetFileError, match="3DPW folder not found"):
        load_3dpw_images(tmp_path / "nowhere", smpl)
    with pytest.raises(DatasetFileError, match=r"sequenceFiles/validation/<sequence>.pkl"):
        load_3dpw_images(root, smpl, split="validation")
    (root / "imageFiles" / "downtown_b_00" / "image_00101.jpg").unlink()
    with pytest.raises(DatasetFileError, match=r"3DPW image missing \(sequence downtown_b_00, frame 101") as err:
        load_3dpw_images(root, smpl)
    assert err.value.path.name == "image_00101.jpg" and "3DPW images and SMPL" in str(err.value)
    shutil.rmtree(root / "imageFiles")
    with pytest.raises(DatasetFileError, match="unzip imageFiles.zip"):
        load_3dpw_images(root, smpl)
    (smpl / "SMPL_FEMALE.pkl").unlink()
    (root / "imageFiles").mkdir()
    with pytest.raises(DatasetFileError, match="SMPL_FEMALE.pkl") as err:
        load_3dpw_images(root, smpl)
    assert "basicModel_f_lbs_10_207_0_v1.0.0.pkl" in str(err.value)
    shutil.copy(fake["smpl"] / "SMPL_FEMALE.pkl", smpl)
    (smpl / "J_regressor_h36m.npy").unlink()
    with pytest.raises(DatasetFileError, match="J_regressor_h36m.npy"):
        load_3dpw_images(root, smpl)
    (smpl / "SMPL_NEUTRAL.pkl").unlink()
    with pytest.raises(DatasetFileError, match="SMPL_NEUTRAL.pkl"):
        smpl_regressor(smpl, "paper", backbone="small", image_size=32)


def test_sequence_file_of_the_wrong_structure(fake, tmp_path):
    from posekit.methods.dsr import load_3dpw_images
    root, smpl = _copy(fake, tmp_path)
    path = root / "sequenceFiles" / "test" / "downtown_b_00.pkl"
    data = dict(fake["seqs"]["downtown_b_00"])
    for change, message in (({"poses": [np.zeros((3, 69))]}, r"poses\[0\] has shape \(3, 69\), expected \(3, 72\)"),
                            ({"genders": ["x"]}, "genders"), ({"trans": []}, "one per person")):
        with open(path, "wb") as fh:
            pickle.dump({**data, **change}, fh)
        with pytest.raises(DatasetFileError, match=message):
            load_3dpw_images(root, smpl)
    with open(path, "wb") as fh:
        pickle.dump({k: v for k, v in data.items() if k != "cam_poses"}, fh)
    with pytest.raises(DatasetFileError, match="no key 'cam_poses'"):
        load_3dpw_images(root, smpl)
    path.write_bytes(b"not a pickle")
    with pytest.raises(DatasetFileError, match="cannot unpickle"):
        load_3dpw_images(root, smpl)


def test_smpl_pickles_with_chumpy_arrays_read_without_chumpy(fake, tmp_path, monkeypatch):
    """The official files pickle chumpy.ch.Ch objects; posekit reads their arrays without chumpy installed."""
    from posekit.body.smpl import load_smpl_arrays
    from posekit.methods.dsr.pw3d import smpl_body
    module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x

        def __reduce__(self):
            return (Ch, (), {"x": self.x})
    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", module)
    plain = load_smpl_arrays(fake["smpl"], "male")
    raw = {k: (Ch(v) if k in ("v_template", "shapedirs", "posedirs", "weights") else v) for k, v in plain.items()}
    smpl = tmp_path / "smpl"
    smpl.mkdir()
    with open(smpl / "SMPL_MALE.pkl", "wb") as fh:
        pickle.dump(raw, fh)
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")
    arrays = load_smpl_arrays(smpl, "male")
    assert all(np.array_equal(arrays[k], plain[k]) for k in plain)
    assert smpl_body(smpl, "male").v_template.shape == (6890, 3)
    with open(smpl / "SMPL_FEMALE.pkl", "wb") as fh:
        pickle.dump({"v_template": np.zeros((6890, 3))}, fh)
    with pytest.raises(DatasetFileError, match="not an SMPL model pickle"):
        smpl_body(smpl, "female")


def test_readme_has_the_section_the_errors_name():
    from pathlib import Path
    from posekit.methods.dsr.pw3d import SECTION
    readme = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text()
    assert f"## {SECTION}\n" in readme
