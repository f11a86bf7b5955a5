"""The detector model's properties: occlusion, speed and confidence behave like a real detector's."""
import numpy as np
import pytest

from posekit.camera import Camera, look_at
from posekit.data.detector import DetectorStyle, detect, detector_factors, expected_error
from posekit.data.motion import NEUTRAL, Body, forward_kinematics, ground_contact

LWRIST = 13


def _standing(frames=1, root=None):
    body = Body.sample(np.random.default_rng(0))
    q = np.repeat(NEUTRAL[None], frames, 0)
    root = np.zeros((frames, 3)) if root is None else root
    return ground_contact(forward_kinematics(q, body, root))


def _camera(position, target=(0.0, 0.0, 0.9)):
    return Camera(id="c", res_w=1000, res_h=1000, focal_length=[1145.0, 1145.0], center=[500.0, 500.0],
                  orientation=look_at(np.asarray(position, float), np.asarray(target)),
                  translation=np.asarray(position, float))


def _view(world, cam):
    x_cam = cam.world_to_camera(world)
    return x_cam, cam.project_pixels(x_cam)


def test_occluded_joint_gets_a_larger_expected_and_measured_error():
    world = np.repeat(_standing(), 400, 0)
    # the body faces +x, its left side is +y: from +y the left wrist is in view, from -y the trunk hides it
    seen, hidden = _camera([0.0, 4.5, 1.0]), _camera([0.0, -4.5, 1.0])
    fac_seen = detector_factors(*_view(world, seen), seen, 50.0)
    fac_hidden = detector_factors(*_view(world, hidden), hidden, 50.0)
    assert fac_hidden["occlusion"][0, LWRIST] > 0.5 > 0.1 > fac_seen["occlusion"][0, LWRIST]
    assert expected_error(fac_hidden)[0, LWRIST] > 1.8 * expected_error(fac_seen)[0, LWRIST]
    errs = []
    for cam in (seen, hidden):
        x_cam, px = _view(world, cam)
        det, _ = detect(np.random.default_rng(1), x_cam, px, cam, 50.0, DetectorStyle(failures=0, swaps=0))
        errs.append(np.linalg.norm(det - px, axis=-1)[:, LWRIST].mean())
    assert errs[1] > 1.5 * errs[0]


def test_faster_joints_are_noisier():
    t = np.arange(500) / 50.0
    still = _standing(500)
    moving = _standing(500, root=np.stack([np.zeros_like(t), 1.2 * np.sin(2 * np.pi * 1.0 * t), 0 * t], 1))
    cam = _camera([4.5, 0.0, 1.2])
    errors = []
    for world in (still, moving):
        x_cam, px = _view(world, cam)
        det, _ = detect(np.random.default_rng(2), x_cam, px, cam, 50.0, DetectorStyle(failures=0, swaps=0))
        errors.append(np.linalg.norm(det - px, axis=-1).mean())
    assert errors[1] > 1.3 * errors[0]


def test_confidence_falls_as_error_grows():
    from posekit.data.synthetic import _subject
    err, conf = [], []
    for subject in ("S9", "S11"):
        _, gt2d, det2d, _ = _subject("synth", 0, subject, 100)
        for action, dets in det2d.items():
            for d, g in zip(dets, gt2d[action]):
                err.append(np.linalg.norm(d[..., :2] - g, axis=-1).ravel())
                conf.append(d[..., 2].ravel())
    err, conf = np.concatenate(err), np.concatenate(conf)
    assert conf.min() >= 0.0 and conf.max() <= 1.0
    order = np.argsort(err)
    quintiles = [c.mean() for c in np.array_split(conf[order], 5)]
    assert all(a > b for a, b in zip(quintiles, quintiles[1:])), quintiles
    assert np.corrcoef(conf, err)[0, 1] < -0.3


def test_limb_ends_are_worst_and_failures_last_several_frames():
    from posekit.data.synthetic import _subject
    _, gt2d, det2d, _ = _subject("synth", 1, "S1", 200)
    err = np.concatenate([np.linalg.norm(d[..., :2] - g, axis=-1) for a, dets in det2d.items()
                          for d, g in zip(dets, gt2d[a])])
    per_joint = err.mean(0)
    assert per_joint[[13, 16]].min() > per_joint[[0, 7, 8, 9, 10]].max()  # wrists vs trunk and head
    assert per_joint[[12, 15, 3, 6]].min() > per_joint[[0, 7, 8]].max()  # elbows, ankles
    # gross errors (> 12 % of a 360 px body) come in runs, not single frames
    big = err[:, 13] > 45
    starts = np.count_nonzero(big[1:] & ~big[:-1])
    assert big.sum() > 2 * max(starts, 1)


def test_detect_rejects_mismatched_shapes():
    cam = _camera([4.0, 0, 1])
    with pytest.raises(ValueError, match="x_cam"):
        detect(np.random.default_rng(0), np.zeros((5, 17, 3)), np.zeros((4, 17, 2)), cam, 50.0)
