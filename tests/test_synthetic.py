import numpy as np
import pytest

from posekit.data import load_dataset
from posekit.data.motion import DOFS, HI, LO
from posekit.data.synthetic import DOMAINS, ensure_synthetic, generate
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


def test_detector_keypoints_carry_confidence(tiny_synth):
    s = tiny_synth[0]
    assert s.confidence is not None and s.confidence.shape == (100, 17)
    assert 0.0 < s.confidence.min() and s.confidence.max() <= 1.0
    x = s.keypoints_with_confidence
    assert x.shape == (100, 17, 3) and np.array_equal(x[..., :2], s.keypoints_2d)
    assert tiny_synth.using("gt")[0].confidence is None


def test_same_seed_same_data_other_seed_other_data():
    a = generate("synth", seed=3, frames_per_sequence=30)[0]["S1"]["Walking"]
    b = generate("synth", seed=3, frames_per_sequence=30)[0]["S1"]["Walking"]
    c = generate("synth", seed=4, frames_per_sequence=30)[0]["S1"]["Walking"]
    assert np.array_equal(a, b) and not np.allclose(a, c)


@pytest.mark.slow
def test_same_seed_same_bytes(tmp_path):
    arrays = []
    for root in ("a", "b"):
        folder = ensure_synthetic("synth-3dhp-cams", root=tmp_path / root, seed=5, frames_per_sequence=20,
                                  verbose=False)
        data = {}
        for path in sorted(folder.glob("*.npz")):
            with np.load(path, allow_pickle=True) as npz:
                for key in npz.files:
                    value = npz[key]
                    data[path.name, key] = value.item() if value.dtype == object and value.shape == () else value
        arrays.append(data)
    assert arrays[0].keys() == arrays[1].keys()

    def flat(x):
        if isinstance(x, dict):
            return b"".join(k.encode() + flat(x[k]) for k in x)
        if isinstance(x, list):
            return b"".join(flat(v) for v in x)
        return np.asarray(x).tobytes()
    for key in arrays[0]:
        assert flat(arrays[0][key]) == flat(arrays[1][key]), key


def test_synth_3dhp_is_a_different_domain(tmp_path):
    ds = load_dataset("synth-3dhp", root=tmp_path, frames_per_sequence=80)
    assert ds.test_subjects[0] == "TS1" and len(ds.actions) == 14
    widths = {s.camera.res_w for s in ds}
    assert widths == {2048, 1920}
    heights = [s.camera.translation[2] for s in ds]
    assert min(heights) < 0.8 and max(heights) > 2.0


@pytest.mark.slow
def test_domain_statistics_within_the_ranges_of_h36m_and_3dhp(tmp_path):
    from posekit.data.diagnostics import domain_statistics
    stats = {name: domain_statistics(load_dataset(name, root=tmp_path, frames_per_sequence=60))
             for name in ("synth", "synth-3dhp", "synth-3dhp-cams")}
    assert 0.36 < stats["synth"]["2D scale mean"] < 0.5  # Human3.6M: about 0.43
    for name in ("synth-3dhp", "synth-3dhp-cams"):  # MPI-INF-3DHP: about 0.5, spread about 0.13
        assert 0.44 < stats[name]["2D scale mean"] < 0.6, name
        assert 0.09 < stats[name]["2D scale std"] < 0.21, name
        assert stats[name]["root y std"] > 1.3 * stats["synth"]["root y std"], name
        assert stats[name]["camera tilt max (deg down)"] > 30 and stats[name]["camera height min (m)"] < 0.8
    assert stats["synth-3dhp"]["PCs for 95 %"] >= stats["synth"]["PCs for 95 %"] - 1


def test_synth_3dhp_cams_moves_as_synth_seen_by_other_cameras():
    from posekit.data.synthetic import _subject
    a_3d, _, _, a_cams = _subject("synth", 0, "S9", 40)
    b_3d, _, _, b_cams = _subject("synth-3dhp-cams", 0, "S9", 40)
    assert np.array_equal(a_3d["Eating 1"], b_3d["Eating 1"])
    assert {c.res_w for c in b_cams} <= {2048, 1920} and a_cams[0].res_w == 1000


def test_joint_limits_are_ordered():
    assert len(LO) == len(HI) == len(DOFS) and (LO <= HI).all()


def test_unknown_dataset_and_keypoints_errors(tmp_path):
    with pytest.raises(KeyError, match="known"):
        load_dataset("synth-foo")
    with pytest.raises(ValueError, match="keypoints"):
        load_dataset("synth", root=tmp_path, keypoints="cpn")
    with pytest.raises(ValueError, match="root="):
        load_dataset("h36m")
