import numpy as np
import pytest

from posekit.data import load_dataset
from posekit.data.motion import DOFS, HI, LO
from posekit.data.synthetic import DOMAINS, detector_noise, generate
from posekit.skeleton import H36M_17


def test_layout_units_and_splits(tiny_synth):
    ds = tiny_synth
    assert ds.subjects == ["S1", "S5", "S6", "S7", "S8", "S9", "S11"]
    assert len(ds.actions) == 30 and {a.split(" ")[0] for a in ds.actions} == {a.name for a in DOMAINS["synth"]["actions"]}
    assert ds.cameras == [0, 1, 2, 3]
    s = ds[0]
    assert s.poses_3d.shape == (100, 17, 3) and s.poses_3d.dtype == np.float32
    assert np.abs(s.poses_3d[:, 0]).max() == 0.0
    assert 3.0 < s.trajectory[:, 2].mean() < 8.0  # metres in front of a Human3.6M camera
    assert np.abs(s.keypoints_2d).max() < 1.2  # screen-normalised
    assert set(ds.train.subjects) == {"S1", "S5", "S6", "S7", "S8"} and set(ds.test.subjects) == {"S9", "S11"}


def test_anthropometrics_differ_between_subjects_and_bones_are_rigid(tiny_synth):
    lengths = {}
    for s in tiny_synth:
        bl = H36M_17.bone_lengths(s.poses_3d)
        assert bl.std(0).max() < 1e-4  # rigid bones within a sequence
        lengths.setdefault(s.subject, bl.mean(0))
    heights = [l[[1, 2]].sum() for l in lengths.values()]  # thigh + shin
    assert np.ptp(heights) > 0.02


def test_ground_contact_and_plausible_height():
    positions_3d, _, _ = generate("synth", seed=0, frames_per_sequence=60)
    for subject, actions in positions_3d.items():
        for action, world in actions.items():
            lowest = world[:, :, 2].min(1)
            assert lowest.min() > -0.05 and np.median(lowest) < 0.1, (subject, action)
    walk = positions_3d["S1"]["Walking"]
    assert 1.4 < walk[:, 10, 2].mean() < 2.0  # head top height while walking


def test_motion_is_smooth_and_moves():
    positions_3d, _, _ = generate("synth", seed=0, frames_per_sequence=200)
    for action, world in positions_3d["S5"].items():
        speed = np.linalg.norm(np.diff(world, axis=0), axis=-1) * 50  # m/s per joint
        assert speed.max() < 12, action
        assert world.std(0).mean() > 0.005, action


def test_detector_noise_has_realistic_size_and_outliers():
    rng = np.random.default_rng(0)
    gt = np.cumsum(rng.normal(0, 1, size=(2000, 17, 2)), axis=0) * 0 + np.linspace([400, 300], [600, 660], 17)[None]
    det = detector_noise(rng, gt, outlier=0.01)
    err = np.linalg.norm(det - gt, axis=-1)
    assert 2.0 < np.median(err) < 12.0
    assert err.max() > 25.0  # outliers
    lag1 = np.corrcoef((det - gt)[1:, 5, 0], (det - gt)[:-1, 5, 0])[0, 1]
    assert lag1 > 0.2  # temporally correlated jitter


def test_same_seed_same_data_other_seed_other_data():
    a = generate("synth", seed=3, frames_per_sequence=30)[0]["S1"]["Walking"]
    b = generate("synth", seed=3, frames_per_sequence=30)[0]["S1"]["Walking"]
    c = generate("synth", seed=4, frames_per_sequence=30)[0]["S1"]["Walking"]
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_synth_3dhp_is_a_different_domain(tmp_path):
    ds = load_dataset("synth-3dhp", root=tmp_path, frames_per_sequence=80)
    assert ds.test_subjects[0] == "TS1" and len(ds.actions) == 14
    widths = {s.camera.res_w for s in ds}
    assert widths == {2048, 1920}
    heights = [s.camera.translation[2] for s in ds]
    assert min(heights) < 0.8 and max(heights) > 2.0


def test_joint_limits_are_ordered():
    assert len(LO) == len(HI) == len(DOFS) and (LO <= HI).all()


def test_unknown_dataset_and_keypoints_errors(tmp_path):
    with pytest.raises(KeyError, match="known"):
        load_dataset("synth-foo")
    with pytest.raises(ValueError, match="keypoints"):
        load_dataset("synth", root=tmp_path, keypoints="cpn")
    with pytest.raises(ValueError, match="root="):
        load_dataset("h36m")
