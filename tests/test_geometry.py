import numpy as np
import pytest
import torch

from posekit import camera as cam
from posekit.skeleton import (COCO_17, H36M_17, H36M_17_FROM_32, HUMANEVA_15, MPI3DHP_17, flip_poses, get_skeleton,
                              h36m_from_32, h36m_from_3dhp)


def test_h36m_skeleton_facts():
    assert H36M_17.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert len(H36M_17.bones) == 16
    a = H36M_17.adjacency()
    assert (a == a.T).all() and a.sum() == 32
    assert H36M_17.hop_distance()[3, 16] == 8  # RFoot .. RWrist: 3-2-1-0-7-8-14-15-16
    for s in (H36M_17, MPI3DHP_17, HUMANEVA_15, COCO_17):
        perm = s.flip_permutation
        assert (perm[perm] == np.arange(s.num_joints)).all()


def test_32_to_17_subset_keeps_the_videopose3d_joints():
    x = np.arange(32 * 3, dtype=float).reshape(1, 32, 3)
    y = h36m_from_32(x)
    assert y.shape == (1, 17, 3)
    assert (y[0, :, 0] == np.array(H36M_17_FROM_32) * 3).all()
    with pytest.raises(ValueError, match="32 joints"):
        h36m_from_32(np.zeros((1, 17, 3)))


def test_3dhp_to_h36m_mapping_by_name():
    names = np.array(MPI3DHP_17.joint_names)
    mapped = names[list(h36m_from_3dhp(np.arange(17)[:, None])[:, 0])]
    assert mapped[0] == "pelvis" and mapped[10] == "head_top" and mapped[3] == "right_ankle"
    assert mapped[13] == "left_wrist"


def test_flip_is_an_involution_and_swaps_sides():
    x = np.random.default_rng(0).normal(size=(5, 17, 3))
    f = flip_poses(x)
    assert np.allclose(flip_poses(f), x)
    assert np.allclose(f[:, 4, 0], -x[:, 1, 0])
    t = torch.as_tensor(x)
    assert torch.allclose(flip_poses(t), torch.as_tensor(f))


def test_unknown_skeleton_error_lists_the_known_ones():
    with pytest.raises(KeyError, match="h36m"):
        get_skeleton("smpl")


def test_world_camera_round_trip_numpy_and_torch():
    c = cam.h36m_cameras("S9")[2]
    x = np.random.default_rng(1).normal(size=(10, 17, 3))
    assert np.allclose(c.camera_to_world(c.world_to_camera(x)), x, atol=1e-6)
    xt = torch.as_tensor(x)
    assert torch.allclose(c.camera_to_world(c.world_to_camera(xt)), xt, atol=1e-6)


def test_reference_sanity_check_of_s1_camera0():
    c = cam.h36m_cameras("S1")[0]
    axis = cam.quaternion_to_matrix(c.orientation)[:, 2]
    assert np.allclose(axis, [-0.399, -0.898, -0.186], atol=2e-3)
    assert np.allclose(c.intrinsics[:4], [2.29009888, 2.28756226, 0.02508301, 0.02890295], atol=1e-6)


def test_normalisation_inverse_and_convention():
    x = np.array([[0.0, 0.0], [1000.0, 1002.0], [500.0, 501.0]])
    n = cam.normalize_screen(x, 1000, 1002)
    assert np.allclose(n[0], [-1, -1.002]) and np.allclose(n[1], [1, 1.002])
    assert np.allclose(cam.image_coordinates(n, 1000, 1002), x)


def test_projection_pixels_and_normalised_agree_and_distortion_matters():
    c = cam.h36m_cameras("S5")[1]
    x_cam = np.array([[0.3, -0.2, 4.0], [-0.5, 0.4, 5.0]])
    px = c.project_pixels(x_cam)
    assert np.allclose(cam.image_coordinates(c.project_normalized(x_cam), c.res_w, c.res_h), px, atol=1e-3)
    lin = c.project_pixels(x_cam, distort=False)
    assert np.allclose(lin[0], c.focal_length * x_cam[0, :2] / 4.0 + c.center)
    assert np.abs(px - lin).max() > 0.1
    t = torch.tensor(x_cam, requires_grad=True)
    out = c.project_normalized(t)
    out.sum().backward()
    assert t.grad is not None and torch.isfinite(t.grad).all()


def test_batched_intrinsics_broadcast():
    cams = cam.h36m_cameras("S1")
    k = torch.as_tensor(np.stack([c.intrinsics for c in cams[:2]]))
    x = torch.rand(2, 4, 17, 3) + torch.tensor([0, 0, 4.0])
    out = cam.project(x, k)
    assert out.shape == (2, 4, 17, 2)
    assert torch.allclose(out[1], cam.project(x[1], k[1]), atol=1e-6)


def test_look_at_points_the_optical_axis_at_the_target():
    q = cam.look_at([3.0, 0.0, 1.5], [0.0, 0.0, 1.0])
    c = cam.Camera("t", 1000, 1000, [1000, 1000], [500, 500], orientation=q, translation=[3.0, 0.0, 1.5])
    p = c.world_to_camera(np.array([0.0, 0.0, 1.0]))
    assert abs(p[0]) < 1e-9 and abs(p[1]) < 1e-9 and p[2] > 0
    above = c.world_to_camera(np.array([0.0, 0.0, 2.0]))
    assert above[1] < 0  # image y points down


def test_project_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        cam.project(np.zeros((4, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="9 values"):
        cam.project(np.ones((4, 3)), np.zeros(4))
