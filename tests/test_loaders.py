"""Real-dataset loaders on tiny files written in exactly the community layouts (datasets.md sections 1-2, 8-10).

Every test writes its own files under pytest's tmp_path; nothing is downloaded.
"""
from __future__ import annotations

import pickle
import warnings

import h5py
import numpy as np
import pytest

from posekit.camera import qinverse, qrot
from posekit.data import LOADERS, DatasetFileError, load_dataset
from posekit.data.h36m import load_h36m
from posekit.data.humaneva import HUMANEVA_EXTRINSICS, load_humaneva
from posekit.data.mpi3dhp import ACTIVITY_NAMES, activity_names, load_3dhp
from posekit.data.pw3d import H36M_FROM_SMPL24, h36m_from_smpl24, load_3dpw
from posekit.skeleton import H36M_17, H36M_17_FROM_32, H36M_FROM_3DHP, HUMANEVA_15

RNG = np.random.default_rng(0)


def obj(d):
    """Wrap a dict the way VideoPose3D's np.savez pickles it: a 0-d object array."""
    a = np.empty((), dtype=object)
    a[()] = d
    return a


def world_poses(t, j, centre=(0.0, 0.0, 1.0)):
    """(t, j, 3) float32 world metres: distinct joints scattered around `centre`."""
    return (np.asarray(centre) + RNG.uniform(-0.6, 0.6, size=(t, j, 3))).astype(np.float32)


def assert_readme_error(excinfo, filename, section):
    msg = str(excinfo.value)
    assert filename in msg
    assert "data/README.md" in msg
    assert f"'{section}'" in msg


# --- Human3.6M (VideoPose3D npz) ---------------------------------------------------------------------------------

def write_h36m(root, joints=32, t=5, source="gt", extra_2d_frames=0, extra_subject=False, gt_too=False):
    pos3d = {"S1": {"Walking": world_poses(t, joints)}, "S9": {"Sitting 1": world_poses(t, joints)}}

    def cams(n):
        views = [RNG.uniform(100, 900, size=(n, 17, 2)).astype(np.float32) for _ in range(4)]
        views[0][:, 0] = (500.0, 501.0)  # camera 0 is 1000 x 1002: the image centre
        return views
    pos2d = {s: {a: cams(t + extra_2d_frames) for a in acts} for s, acts in pos3d.items()}
    if extra_subject:
        pos2d["S2"] = {"Walking": cams(t + 7)}  # unlabelled: 2D only
    meta = {"layout_name": "h36m", "num_joints": 17,
            "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez(root / "data_3d_h36m.npz", positions_3d=obj(pos3d))
    np.savez(root / f"data_2d_h36m_{source}.npz", positions_2d=obj(pos2d), metadata=obj(meta))
    if gt_too:
        gt = {s: {a: cams(t) for a in acts} for s, acts in pos3d.items()}
        np.savez(root / "data_2d_h36m_gt.npz", positions_2d=obj(gt), metadata=obj(meta))
    return pos3d, pos2d


def test_h36m_32_joints_gt(tmp_path):
    pos3d, pos2d = write_h36m(tmp_path, joints=32, t=5)
    ds = load_h36m(tmp_path, keypoints="gt")
    assert len(ds) == 8 and ds.subjects == ["S1", "S9"] and ds.skeleton is H36M_17
    seq = ds.select(subjects=["S1"], cameras=[0])[0]
    assert seq.poses_3d.shape == (5, 17, 3) and seq.keypoints_2d.shape == (5, 17, 2)
    assert seq.poses_3d.dtype == np.float32
    np.testing.assert_array_equal(seq.poses_3d[:, 0], 0)
    # joint order and metres: camera-frame positions of the 17 kept joints (32-index 15 = Head -> 17-index 10)
    world17 = pos3d["S1"]["Walking"][:, list(H36M_17_FROM_32)].astype(np.float64)
    expect = seq.camera.world_to_camera(world17)
    np.testing.assert_allclose(seq.poses_3d_camera, expect, atol=1e-5)
    np.testing.assert_allclose(seq.poses_3d[:, 10], expect[:, 10] - expect[:, 0], atol=1e-5)
    assert 3.0 < np.linalg.norm(seq.trajectory[0]) < 8.0  # metres from the camera, not millimetres
    # screen normalisation: the centre of the 1000 x 1002 image -> (0, 0)
    np.testing.assert_allclose(seq.keypoints_2d[:, 0], 0, atol=1e-6)
    np.testing.assert_allclose(seq.keypoints_2d[:, 1], pos2d["S1"]["Walking"][0][:, 1] / 1000 * 2 - [1, 1.002],
                               atol=1e-6)


def test_h36m_17_joints_cpn_longer_2d_and_unlabelled_subject(tmp_path):
    pos3d, pos2d = write_h36m(tmp_path, joints=17, t=6, source="cpn_ft_h36m_dbb", extra_2d_frames=3,
                              extra_subject=True, gt_too=True)
    ds = load_dataset("h36m", root=tmp_path)  # 'det' = the CPN file
    assert ds.keypoints == "cpn_ft_h36m_dbb"
    assert ds.subjects == ["S1", "S9"]  # S2 has no 3D: skipped
    assert [s.num_frames for s in ds] == [6] * 8  # 2D truncated to the mocap length
    seq = ds.select(subjects=["S9"], cameras=[2])[0]
    world = pos3d["S9"]["Sitting 1"].astype(np.float64)
    np.testing.assert_allclose(seq.poses_3d_camera, seq.camera.world_to_camera(world), atol=1e-5)
    cam = seq.camera
    np.testing.assert_allclose(seq.keypoints_2d, cam.normalize(pos2d["S9"]["Sitting 1"][2][:6]), atol=1e-6)
    assert seq.keypoints_2d_gt is not None and not np.allclose(seq.keypoints_2d_gt, seq.keypoints_2d)
    assert [s.subject for s in ds.train] == ["S1"] * 4 and [s.subject for s in ds.test] == ["S9"] * 4


def test_h36m_errors(tmp_path):
    with pytest.raises(DatasetFileError) as e:
        load_h36m(tmp_path, keypoints="gt")
    assert_readme_error(e, "data_3d_h36m.npz", "Human3.6M")
    assert isinstance(e.value, FileNotFoundError)

    write_h36m(tmp_path, joints=17, t=5)
    (tmp_path / "data_2d_h36m_gt.npz").unlink()
    with pytest.raises(DatasetFileError) as e:
        load_h36m(tmp_path, keypoints="gt")
    assert_readme_error(e, "data_2d_h36m_gt.npz", "Human3.6M")

    # missing key
    np.savez(tmp_path / "data_3d_h36m.npz", poses=obj({"S1": {}}))
    with pytest.raises(DatasetFileError, match="no key 'positions_3d'") as e:
        load_h36m(tmp_path, keypoints="gt")
    assert_readme_error(e, "data_3d_h36m.npz", "Human3.6M")

    # wrong shape
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=obj({"S1": {"Walking": np.zeros((5, 16, 3))}}))
    with pytest.raises(DatasetFileError, match=r"shape \(5, 16, 3\)"):
        load_h36m(tmp_path, keypoints="gt")

    # truncated file
    write_h36m(tmp_path, joints=17, t=5)
    raw = (tmp_path / "data_3d_h36m.npz").read_bytes()
    (tmp_path / "data_3d_h36m.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DatasetFileError, match="cannot read") as e:
        load_h36m(tmp_path, keypoints="gt")
    assert_readme_error(e, "data_3d_h36m.npz", "Human3.6M")

    # 2D shorter than 3D
    write_h36m(tmp_path, joints=17, t=5, extra_2d_frames=-2)
    with pytest.raises(DatasetFileError, match="3 2D frames but 5 3D frames") as e:
        load_h36m(tmp_path, keypoints="gt")
    assert_readme_error(e, "data_2d_h36m_gt.npz", "Human3.6M")


# --- HumanEva-I --------------------------------------------------------------------------------------------------

def write_humaneva(root, t=6, sources=("gt",), coco_det=False, short_2d=False):
    pos3d = {"Train/S1": {"Walking 1 chunk0": world_poses(t, 15)},
             "Validate/S3": {"Jog 1": world_poses(t, 15)}}
    meta15 = {"layout_name": "humaneva15", "num_joints": 15,
              "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]]}
    for source in sources:
        joints = 17 if (coco_det and source != "gt") else 15
        n = t - 2 if short_2d else t + 2

        def views():
            v = [RNG.uniform(0, 640, size=(n, joints, 2)).astype(np.float32) for _ in range(3)]
            v[1][:, 0] = (320.0, 240.0)  # image centre in camera C2
            return v
        pos2d = {s: {a: views() for a in acts} for s, acts in pos3d.items()}
        pos2d["Unlabeled/S4"] = {"Walking 1": views()}
        meta = meta15 if joints == 15 else {"layout_name": "coco", "num_joints": 17}
        np.savez(root / f"data_2d_humaneva15_{source}.npz", positions_2d=obj(pos2d), metadata=obj(meta))
    np.savez(root / "data_3d_humaneva15.npz", positions_3d=obj(pos3d))
    return pos3d


def test_humaneva_gt(tmp_path):
    pos3d = write_humaneva(tmp_path)
    ds = load_humaneva(tmp_path)
    assert ds.skeleton is HUMANEVA_15 and ds.fps == 60
    assert ds.subjects == ["Train/S1", "Validate/S3"] and len(ds) == 6  # Unlabeled/S4 (2D only) skipped
    assert ds.train_subjects == ("Train/S1", "Train/S2", "Train/S3")
    assert ds.test_subjects == ("Validate/S1", "Validate/S2", "Validate/S3")
    assert [s.subject for s in ds.test] == ["Validate/S3"] * 3
    for seq in ds:
        assert seq.poses_3d.shape == (6, 15, 3) and seq.keypoints_2d.shape == (6, 15, 2)
        np.testing.assert_array_equal(seq.poses_3d[:, 0], 0)
        assert (seq.camera.res_w, seq.camera.res_h) == (640, 480)
        np.testing.assert_array_equal(seq.keypoints_2d_gt, seq.keypoints_2d)
    # S3 uses S1's extrinsics; camera C1 of Train/S1: trajectory = rot(q^-1, pelvis - t), t in metres
    s3 = ds.select(subjects=["Validate/S3"], cameras=[0])[0]
    q, t_mm = HUMANEVA_EXTRINSICS["S1"][0]
    np.testing.assert_allclose(s3.camera.translation, np.asarray(t_mm) / 1000)
    world = pos3d["Validate/S3"]["Jog 1"].astype(np.float64)
    expect = qrot(np.broadcast_to(qinverse(np.asarray(q)), world.shape[:-1] + (4,)), world - np.asarray(t_mm) / 1000)
    np.testing.assert_allclose(s3.trajectory, expect[:, 0], atol=1e-5)
    np.testing.assert_allclose(s3.poses_3d[:, 14], expect[:, 14] - expect[:, 0], atol=1e-5)  # head stays at 14
    # bone lengths are preserved in metres
    np.testing.assert_allclose(HUMANEVA_15.bone_lengths(s3.poses_3d), HUMANEVA_15.bone_lengths(world), atol=1e-5)
    # the centre of the 640 x 480 image -> (0, 0)
    c2 = ds.select(subjects=["Train/S1"], cameras=[1])[0]
    np.testing.assert_allclose(c2.keypoints_2d[:, 0], 0, atol=1e-6)
    assert "approximate" in ds.info["intrinsics"]


def test_humaneva_coco_detections_via_load_dataset(tmp_path):
    write_humaneva(tmp_path, sources=("gt", "detectron_pt_coco"), coco_det=True)
    ds = load_dataset("humaneva", root=tmp_path)  # 'det' = detectron_pt_coco
    assert ds.keypoints == "detectron_pt_coco" and ds.info["keypoints_joints"] == "coco"
    seq = ds[0]
    assert seq.keypoints_2d.shape == (6, 17, 2) and seq.keypoints_2d_gt.shape == (6, 15, 2)
    assert seq.poses_3d.shape == (6, 15, 3)
    # without a gt file there is no ground-truth 2D (the intrinsics are unknown, nothing is projected)
    (tmp_path / "data_2d_humaneva15_gt.npz").unlink()
    ds = load_humaneva(tmp_path, keypoints="det")
    assert all(s.keypoints_2d_gt is None for s in ds)


def test_humaneva_errors(tmp_path):
    with pytest.raises(DatasetFileError) as e:
        load_humaneva(tmp_path)
    assert_readme_error(e, "data_3d_humaneva15.npz", "HumanEva-I")
    write_humaneva(tmp_path)
    with pytest.raises(DatasetFileError) as e:
        load_humaneva(tmp_path, keypoints="det")
    assert_readme_error(e, "data_2d_humaneva15_detectron_pt_coco.npz", "HumanEva-I")
    np.savez(tmp_path / "data_3d_humaneva15.npz", positions_3d=obj({"Train/S1": {"Box 1": np.zeros((4, 17, 3))}}))
    with pytest.raises(DatasetFileError, match=r"expected \(T, 15, 3\)"):
        load_humaneva(tmp_path)
    write_humaneva(tmp_path, short_2d=True)
    with pytest.raises(DatasetFileError, match="4 2D frames but 6 3D frames"):
        load_humaneva(tmp_path)


# --- MPI-INF-3DHP ------------------------------------------------------------------------------------------------

TS_SIZE = {"TS1": (2048, 2048), "TS2": (2048, 2048), "TS3": (2048, 2048), "TS4": (2048, 2048),
           "TS5": (1920, 1080), "TS6": (1920, 1080)}


def make_3dhp_sequence(n, size):
    """3DHP-17 arrays: univ (N, 17, 3) mm, annot3, annot2 (N, 17, 2) px with the pelvis at the image centre."""
    univ = RNG.uniform(-600, 600, size=(n, 17, 3)) + [0, 0, 4000]
    annot3 = univ * 1.1
    annot2 = RNG.uniform(0, min(size), size=(n, 17, 2))
    annot2[:, 14] = (size[0] / 2, size[1] / 2)
    valid = (np.arange(n) % 3 != 0).astype(np.float64)
    activity = np.repeat([3, 1, 3, 5], int(np.ceil(n / 4)))[:n].astype(np.float64)
    return univ, annot3, annot2, valid, activity


def write_annot_mat(path, univ, annot3, annot2, valid, activity, drop=None, bad_shape=False):
    """Write annot_data.mat as MATLAB v7.3 stores it: HDF5 with a 512-byte user block, dims reversed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"annot2": annot2[:, None], "annot3": annot3[:, None], "univ_annot3": univ[:, None],
              "valid_frame": valid[None, :],  # a MATLAB N x 1 column reads as (1, N) ...
              "activity_annotation": activity[:, None]}  # ... and a 1 x N row as (N, 1): both accepted
    if bad_shape:
        arrays["annot3"] = annot3[:, None, :16]
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            if k != drop:
                f.create_dataset(k, data=v)
    return arrays


def write_3dhp_test_mat(root, n=8, **kw):
    data = {}
    for ts, size in TS_SIZE.items():
        data[ts] = make_3dhp_sequence(n, size)
        write_annot_mat(root / "mpi_inf_3dhp_test_set" / ts / "annot_data.mat", *data[ts], **kw)
    return data


def check_3dhp_sequence(seq, univ, kp_px, size):
    """H36M order, root-relative metres, normalisation with the TS image size."""
    assert seq.poses_3d.shape == (len(univ), 17, 3) and seq.keypoints_2d.shape == (len(univ), 17, 2)
    np.testing.assert_array_equal(seq.poses_3d[:, 0], 0)
    rel = (univ - univ[:, 14:15]) / 1000
    np.testing.assert_allclose(seq.poses_3d[:, 10], rel[:, 0], atol=1e-6)  # Head <- head_top
    np.testing.assert_allclose(seq.poses_3d[:, 1], rel[:, 8], atol=1e-6)   # RHip <- right_hip
    np.testing.assert_allclose(seq.poses_3d[:, 8], rel[:, 1], atol=1e-6)   # Thorax <- neck
    np.testing.assert_allclose(seq.poses_3d, rel[:, list(H36M_FROM_3DHP)], atol=1e-6)
    assert (seq.camera.res_w, seq.camera.res_h) == size
    np.testing.assert_allclose(seq.keypoints_2d[:, 0], 0, atol=1e-6)  # pelvis at the image centre
    w, h = size
    np.testing.assert_allclose(seq.keypoints_2d[:, 16], kp_px[:, 4] / w * 2 - [1, h / w], atol=1e-5)  # RWrist


def test_3dhp_annot_data_mat(tmp_path):
    data = write_3dhp_test_mat(tmp_path)
    ds = load_3dhp(tmp_path)
    assert ds.skeleton is H36M_17 and ds.subjects == list(TS_SIZE) and len(ds) == 6
    assert [s.action for s in ds] == ["GS", "GS", "noGS", "noGS", "Outdoor", "Outdoor"]
    for seq in ds:
        univ, annot3, annot2, valid, activity = data[seq.subject]
        check_3dhp_sequence(seq, univ, annot2, TS_SIZE[seq.subject])
        np.testing.assert_allclose(seq.trajectory, annot3[:, 14] / 1000, atol=1e-6)  # annot3 pelvis, metres
        np.testing.assert_array_equal(seq.valid, valid.astype(bool))
        np.testing.assert_array_equal(ds.info["activity"][seq.subject], activity.astype(int))
    assert list(activity_names(ds, "TS1")[:3]) == ["Sitting", "Sitting", "Standing/Walking"]
    # camera intrinsics: studio for TS1-4, GoPro for TS5-6; identity extrinsics
    assert ds[0].camera.focal_length[0] == pytest.approx(1500.1723)
    assert ds[5].camera.focal_length[0] == pytest.approx(1683.9835)
    np.testing.assert_array_equal(ds[5].camera.orientation, [1, 0, 0, 0])
    # the true metric skeleton on request
    ds3 = load_3dhp(tmp_path, annotation="annot3", subjects=["TS2"])
    univ, annot3, *_ = data["TS2"]
    np.testing.assert_allclose(ds3[0].poses_3d[:, 10], (annot3[:, 0] - annot3[:, 14]) / 1000, atol=1e-6)


def test_3dhp_by_activity(tmp_path):
    write_3dhp_test_mat(tmp_path, n=8)
    ds = load_3dhp(tmp_path, subjects=["TS1"], by_activity=True)
    assert [s.action for s in ds] == ["Sitting 1", "Standing/Walking 1", "Sitting 2", "OnTheFloor 1"]
    assert sum(s.num_frames for s in ds) == 8
    assert len(ds.select(actions=["Sitting"])) == 2
    assert set(ACTIVITY_NAMES.values()) >= {a.split(" ")[0] for a in ds.actions}


def test_3dhp_test_npz_and_train_npz(tmp_path):
    test, train = {}, {}
    for ts, size in TS_SIZE.items():
        univ, _, annot2, valid, _ = make_3dhp_sequence(7, size)
        test[ts] = {"data_2d": annot2.astype(np.float32), "data_3d": univ.astype(np.float32), "valid": valid}
    np.savez(tmp_path / "data_test_3dhp.npz", data=obj(test))
    for key, fps in (("S1 Seq1", 25), ("S2 Seq2", 50)):
        cams = {}
        for cam in ("0", "4"):
            univ, _, annot2, _, _ = make_3dhp_sequence(5, (2048, 2048))
            cams[cam] = {"data_2d": annot2, "data_3d": univ}
        train[key] = [cams, fps]
    np.savez(tmp_path / "data_train_3dhp.npz", data=obj(train))

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = load_dataset("3dhp", root=tmp_path)  # 'det' falls back to 'gt' with a warning
    assert any("ground-truth 2D" in str(x.message) for x in w)
    assert ds.subjects == list(TS_SIZE)
    for seq in ds:
        d = test[seq.subject]
        check_3dhp_sequence(seq, d["data_3d"].astype(np.float64), d["data_2d"].astype(np.float64),
                            TS_SIZE[seq.subject])
        np.testing.assert_array_equal(seq.valid, d["valid"].astype(bool))

    tr = load_3dhp(tmp_path, split="train")
    assert tr.subjects == ["S1", "S2"] and len(tr) == 4 and tr.cameras == [0, 4]
    assert tr.info["fps_per_sequence"] == {"S1 Seq1": 25.0, "S2 Seq2": 50.0}
    seq = tr.select(subjects=["S2"], cameras=[4])[0]
    d = train["S2 Seq2"][0]["4"]
    check_3dhp_sequence(seq, d["data_3d"], d["data_2d"], (2048, 2048))
    assert seq.valid.all() and seq.action == "Seq2"

    both = load_3dhp(tmp_path, split="all")
    assert both.train.subjects == ["S1", "S2"] and both.test.subjects == list(TS_SIZE)
    with pytest.raises(DatasetFileError, match="no activity labels"):
        load_3dhp(tmp_path, by_activity=True)


def test_3dhp_prefers_mat_over_npz(tmp_path):
    data = write_3dhp_test_mat(tmp_path, n=4)
    np.savez(tmp_path / "data_test_3dhp.npz", data=obj({}))
    ds = load_3dhp(tmp_path)
    assert ds.info["test_source"].endswith("mpi_inf_3dhp_test_set")
    assert ds[0].num_frames == 4 and len(data) == 6


def test_3dhp_errors(tmp_path):
    with pytest.raises(DatasetFileError) as e:
        load_3dhp(tmp_path)
    assert_readme_error(e, "annot_data.mat", "MPI-INF-3DHP")
    assert "data_test_3dhp.npz" in str(e.value)
    with pytest.raises(DatasetFileError) as e:
        load_3dhp(tmp_path, split="train")
    assert_readme_error(e, "data_train_3dhp.npz", "MPI-INF-3DHP")

    # a missing TS folder names that file
    write_3dhp_test_mat(tmp_path, n=4)
    (tmp_path / "mpi_inf_3dhp_test_set" / "TS6" / "annot_data.mat").unlink()
    with pytest.raises(DatasetFileError) as e:
        load_3dhp(tmp_path)
    assert_readme_error(e, "TS6", "MPI-INF-3DHP")

    seq = make_3dhp_sequence(4, (2048, 2048))
    mat = tmp_path / "mpi_inf_3dhp_test_set" / "TS1" / "annot_data.mat"
    write_annot_mat(mat, *seq, drop="univ_annot3")
    with pytest.raises(DatasetFileError, match="no key 'univ_annot3'") as e:
        load_3dhp(tmp_path, subjects=["TS1"])
    assert_readme_error(e, "annot_data.mat", "MPI-INF-3DHP")

    write_annot_mat(mat, *seq, bad_shape=True)
    with pytest.raises(DatasetFileError, match=r"annot3 has shape \(4, 1, 16, 3\)"):
        load_3dhp(tmp_path, subjects=["TS1"])

    mat.write_bytes(b"MATLAB 5.0 MAT-file, truncated" + b"\0" * 100)
    with pytest.raises(DatasetFileError, match="cannot read the file as MATLAB v7.3") as e:
        load_3dhp(tmp_path, subjects=["TS1"])
    assert_readme_error(e, "annot_data.mat", "MPI-INF-3DHP")

    # npz with 2D shorter than 3D / wrong shape
    root = tmp_path / "npz"
    root.mkdir()
    univ, _, annot2, valid, _ = make_3dhp_sequence(6, (2048, 2048))
    np.savez(root / "data_test_3dhp.npz", data=obj({"TS1": {"data_2d": annot2[:4], "data_3d": univ, "valid": valid}}))
    with pytest.raises(DatasetFileError, match="4 2D frames but 6 3D frames") as e:
        load_3dhp(root, subjects=["TS1"])
    assert_readme_error(e, "data_test_3dhp.npz", "MPI-INF-3DHP")
    bad = {"TS1": {"data_2d": annot2, "data_3d": univ[:, :16], "valid": valid}}
    np.savez(root / "data_test_3dhp.npz", data=obj(bad))
    with pytest.raises(DatasetFileError, match=r"\(6, 16, 3\)"):
        load_3dhp(root, subjects=["TS1"])
    with pytest.raises(ValueError, match="only ground-truth"):
        load_3dhp(root, keypoints="cpn")


# --- 3DPW --------------------------------------------------------------------------------------------------------

K_3DPW = np.array([[1961.0, 0.0, 540.0], [0.0, 1969.0, 960.0], [0.0, 0.0, 1.0]])


def rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def write_3dpw(root, split="test", name="downtown_walking_00", n=5, actors=2, drop=None, bad_shape=False):
    folder = root / "sequenceFiles" / split
    folder.mkdir(parents=True, exist_ok=True)
    cam_poses = np.zeros((n, 4, 4))
    for i in range(n):
        cam_poses[i, :3, :3] = rot_y(0.1 * i)
        cam_poses[i, :3, 3] = (0.2, -0.1, 4.0)
        cam_poses[i, 3, 3] = 1
    joints = [RNG.uniform(-0.8, 0.8, size=(n, 72)) for _ in range(actors)]
    # actor 0, frame 0: the pelvis sits on the optical axis (world origin -> camera (0.2, -0.1, 4): shift it)
    joints[0][0, :3] = cam_poses[0, :3, :3].T @ (np.array([0.0, 0.0, 4.0]) - cam_poses[0, :3, 3])
    if bad_shape:
        joints[1] = joints[1][:, :69]
    valid = [np.array([1, 1, 0, 1, 1][:n]), np.ones(n)]
    data = {"sequence": name, "betas": [np.zeros(10)] * actors, "poses": [np.zeros((n, 72))] * actors,
            "trans": [np.zeros((n, 3))] * actors, "genders": ["m", "f"][:actors], "jointPositions": joints,
            "cam_poses": cam_poses, "campose_valid": valid[:actors], "cam_intrinsics": K_3DPW,
            "poses2d": [np.zeros((n, 3, 18))] * actors, "img_frame_ids": np.arange(n)}
    if drop:
        del data[drop]
    with open(folder / f"{name}.pkl", "wb") as f:
        pickle.dump(data, f, protocol=2)
    return data


def test_3dpw_pkl(tmp_path):
    data = write_3dpw(tmp_path)
    write_3dpw(tmp_path, split="train", name="courtyard_basketball_00", actors=1)
    ds = load_3dpw(tmp_path)
    assert ds.skeleton is H36M_17 and ds.fps == 30 and len(ds) == 2  # one sequence per actor
    assert [s.action for s in ds] == ["Actor 0", "Actor 1"] and ds.subjects == ["downtown_walking_00"]
    assert ds.train_subjects == ("courtyard_basketball_00",) and ds.test_subjects == ("downtown_walking_00",)
    seq = ds[0]
    assert seq.poses_3d.shape == (5, 17, 3) and seq.keypoints_2d.shape == (5, 17, 2)
    np.testing.assert_array_equal(seq.poses_3d[:, 0], 0)
    smpl = data["jointPositions"][0].reshape(5, 24, 3)
    R, t = data["cam_poses"][:, :3, :3], data["cam_poses"][:, :3, 3]
    cam = np.einsum("nij,nkj->nki", R, smpl) + t[:, None]
    np.testing.assert_allclose(seq.trajectory, cam[:, 0], atol=1e-5)  # pelvis in the camera frame, metres
    np.testing.assert_allclose(seq.poses_3d[:, 1], cam[:, 2] - cam[:, 0], atol=1e-5)  # RHip <- SMPL R_hip
    np.testing.assert_allclose(seq.poses_3d[:, 13], cam[:, 20] - cam[:, 0], atol=1e-5)  # LWrist <- L_wrist
    np.testing.assert_allclose(seq.poses_3d[:, 10], 2 * cam[:, 15] - cam[:, 12] - cam[:, 0], atol=1e-5)
    # portrait 1080 x 1920; the principal point -> (0, 0)
    assert (seq.camera.res_w, seq.camera.res_h) == (1080, 1920)
    np.testing.assert_allclose(seq.keypoints_2d[0, 0], 0, atol=1e-6)
    px = np.stack([1961 * cam[..., 0] / cam[..., 2] + 540, 1969 * cam[..., 1] / cam[..., 2] + 960], -1)
    np.testing.assert_allclose(seq.keypoints_2d[:, 5], (px[:, 4] / 1080 * 2 - [1, 1920 / 1080]), atol=1e-5)
    np.testing.assert_array_equal(seq.valid, [True, True, False, True, True])
    np.testing.assert_array_equal(seq.camera.orientation, [1, 0, 0, 0])
    # the approximate regressor is a proper affine combination (rows sum to 1)
    np.testing.assert_allclose(H36M_FROM_SMPL24.sum(1), 1)
    assert h36m_from_smpl24(np.zeros((2, 24, 3))).shape == (2, 17, 3)
    # split='all' and load_dataset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = load_dataset("3dpw", root=tmp_path, split="all")
    assert both.train.subjects == ["courtyard_basketball_00"] and len(both.test) == 2


def test_3dpw_errors(tmp_path):
    with pytest.raises(DatasetFileError) as e:
        load_3dpw(tmp_path)
    assert_readme_error(e, "sequenceFiles", "3DPW")
    assert "test" in str(e.value)
    write_3dpw(tmp_path, drop="cam_poses")
    with pytest.raises(DatasetFileError, match="no key 'cam_poses'") as e:
        load_3dpw(tmp_path)
    assert_readme_error(e, "downtown_walking_00.pkl", "3DPW")
    write_3dpw(tmp_path, bad_shape=True)
    with pytest.raises(DatasetFileError, match=r"jointPositions\[1\] has shape \(5, 69\)"):
        load_3dpw(tmp_path)
    path = tmp_path / "sequenceFiles" / "test" / "downtown_walking_00.pkl"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DatasetFileError, match="cannot unpickle") as e:
        load_3dpw(tmp_path)
    assert_readme_error(e, "downtown_walking_00.pkl", "3DPW")


def test_registered_loaders():
    assert {"h36m", "humaneva", "3dhp", "3dpw"} <= set(LOADERS)
    with pytest.raises(ValueError, match="root"):
        load_dataset("3dpw")


def test_readme_sections_match_the_errors():
    from pathlib import Path

    from posekit.data.h36m import H36M_SECTION
    from posekit.data.humaneva import HUMANEVA_SECTION
    from posekit.data.mpi3dhp import MPI3DHP_SECTION
    from posekit.data.pw3d import PW3D_SECTION

    readme = (Path(__file__).resolve().parents[1] / "data" / "README.md").read_text()
    titles = [line[3:].strip() for line in readme.splitlines() if line.startswith("## ")]
    assert titles[0] == "Embedded synthetic data"
    for section in (H36M_SECTION, HUMANEVA_SECTION, MPI3DHP_SECTION, PW3D_SECTION):
        assert section in titles
    assert "POSEKIT_CACHE" in readme and "~/.cache/posekit" in readme
