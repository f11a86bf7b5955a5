"""Floors on a constructed toy dataset, where the right answers are known by hand."""
import json

import numpy as np

from posekit.camera import Camera
from posekit.data.dataset import PoseDataset, Sequence
from posekit.floors import floors, nearest_neighbour_predictions, normalise_2d


def _seq(subject, action, poses):
    kp = poses[..., :2] / (poses[..., 2:] + 5.0)  # a pinhole view from 5 m: 2D is a function of 3D
    return Sequence(subject=subject, action=action, camera=Camera(id="c", res_w=1000, res_h=1000,
                    focal_length=[1000, 1000], center=[500, 500]), camera_index=0,
                    poses_3d=poses.astype(np.float32), trajectory=np.zeros((len(poses), 3), np.float32),
                    keypoints_2d=kp.astype(np.float32))


def _toy():
    rng = np.random.default_rng(0)
    train_poses = rng.normal(0, 0.3, size=(40, 17, 3))
    train_poses[:, 0] = 0
    test_poses = train_poses[[3, 17, 29]].copy()  # the test frames are training frames
    train = PoseDataset("toy", [_seq("A", "Walk", train_poses[:20]), _seq("B", "Sit", train_poses[20:])],
                        train_subjects=("A", "B"), test_subjects=("C",))
    test = PoseDataset("toy", [_seq("C", "Walk", test_poses)], train_subjects=("A", "B"), test_subjects=("C",))
    return train, test, train_poses, test_poses


def test_normalise_2d_is_root_relative_and_scale_free():
    kp = np.random.default_rng(1).normal(size=(5, 17, 2))
    a, b = normalise_2d(kp), normalise_2d(3.0 * kp + 7.0)
    assert np.allclose(a, b, atol=1e-5)
    assert np.allclose(a.reshape(5, 17, 2)[:, 0], 0)


def test_lookup_finds_the_training_frame_and_floors_match_hand_values(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEKIT_CACHE", str(tmp_path))
    train, test, train_poses, test_poses = _toy()
    pred = nearest_neighbour_predictions(train, test)["C/Walk/cam0"]
    assert np.allclose(pred, test_poses, atol=1e-6)
    result = floors(train, test)
    assert result["lookup_MPJPE"] < 1e-3
    mean = train_poses.mean(0)
    hand = 1000 * np.linalg.norm(test_poses - mean[None], axis=-1).mean()
    assert abs(result["mean_pose_MPJPE"] - hand) < 1e-2
    cached = list((tmp_path / "floors").glob("*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text()) == result
    cached[0].write_text(json.dumps({**result, "lookup_MPJPE": 123.0}))  # served from the cache
    assert floors(train, test)["lookup_MPJPE"] == 123.0
    assert floors(train, test, cache=False)["lookup_MPJPE"] < 1e-3


def test_lookup_is_scale_invariant_in_2d():
    train, test, _, test_poses = _toy()
    for s in test:
        s.keypoints_2d = s.keypoints_2d * 1.7 + 0.2  # a bigger, shifted person: same normalised pose
    assert np.allclose(nearest_neighbour_predictions(train, test)["C/Walk/cam0"], test_poses, atol=1e-6)
