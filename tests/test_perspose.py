"""PersPose: the ray map, the perspective rotation (warp, symmetric crop, rotated labels and their inverse), the lift,
and the paper configuration's parameter count."""
import math

import numpy as np
import pytest
import torch

from posekit.methods.perspose import (PersPose, apply_homography, build, crop_intrinsics, homography, lift,
                                      perspective_rotation, project, ray_map, rotate_points, swing_rotation,
                                      unrotate_points, warp_image)


def _K(f=100.0, cx=30.0, cy=20.0):
    return np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])


def test_ray_map_is_K_inverse_at_cell_centres():
    K = _K(100.0, 30.0, 20.0)
    rays = ray_map(torch.tensor(K), 64, 48)
    assert rays.shape == (1, 2, 64, 48)
    for i, j in [(0, 0), (5, 40), (63, 47)]:
        x, y, z = np.linalg.inv(K) @ np.array([j + 0.5, i + 0.5, 1.0])
        assert np.allclose(rays[0, :, i, j].numpy(), [x / z, y / z], atol=1e-6)
    coarse = ray_map(torch.tensor(K), 64, 48, stride=4)  # PersPose's map: cells centred at (j + 0.5) 4
    assert coarse.shape == (1, 2, 16, 12)
    assert torch.allclose(coarse, torch.nn.functional.avg_pool2d(rays, 4), atol=1e-6)
    assert np.allclose(coarse[0, :, 2, 3].numpy(), [(3.5 * 4 - 30) / 100, (2.5 * 4 - 20) / 100], atol=1e-6)
    f, c = crop_intrinsics(rays)
    assert torch.allclose(f, torch.tensor([100.0]), rtol=1e-4) and torch.allclose(c, torch.tensor([[30.0, 20.0]]),
                                                                                   atol=1e-3)
    with pytest.raises(ValueError, match="stride"):
        ray_map(torch.tensor(K), 30, 30, stride=4)


def test_swing_takes_the_box_ray_onto_the_optical_axis():
    K = _K(300.0, 256.0, 256.0)
    c = np.array([480.0, 60.0])
    R = swing_rotation(K, c)
    a = np.linalg.inv(K) @ np.array([*c, 1.0])
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(R), 1)
    assert np.allclose(R @ (a / np.linalg.norm(a)), [0, 0, 1], atol=1e-12)
    assert np.allclose(apply_homography(homography(K, R), c), K[:2, 2], atol=1e-9)  # the box centre lands on c
    axis = np.cross(a, [0, 0, 1.0])
    assert np.allclose(R @ axis, axis, atol=1e-9)                                    # a pure swing, no twist
    assert np.allclose(swing_rotation(K, K[:2, 2]), np.eye(3))
    with pytest.raises(ValueError, match="pinhole"):
        swing_rotation(np.eye(2), c)


@pytest.fixture(scope="module")
def wide():
    pytest.importorskip("anny")
    from posekit.data.images import ImageGenerator
    plain = ImageGenerator(size=32, seed=4).generate(4)
    rotated = ImageGenerator(size=32, seed=4, rotate_to_subject=True).generate(4)
    return plain, rotated


def test_pr_maps_projected_joints_into_the_crop_like_the_rotated_3d_joints(wide):
    plain, _ = wide
    for i in range(4):
        K = plain["K"][i].astype(np.float64)
        uv_full = project(plain["vertices"][i], K)
        pr = perspective_rotation(K, uv_full, 32)
        joints_rot = rotate_points(plain["joints_3d"][i].astype(np.float64), pr["R"])
        via_3d = project(joints_rot, pr["K_crop"])                 # rotate the labels, project with K_crop
        via_2d = apply_homography(pr["M"], plain["joints_2d_full"][i])  # warp the image points: A K R K^-1
        assert np.allclose(via_3d, via_2d, atol=1e-3)
        assert np.allclose(pr["K_crop"][:2, 2], 16, atol=1e-9)     # principal point at the crop centre
        subject = project(rotate_points(plain["vertices"][i], pr["R"]), pr["K_crop"])
        assert subject.min() >= 0 and subject.max() <= 32          # the subject fits the symmetric crop
        assert pr["angle"] > 0


def test_pr_agrees_with_the_generators_rotated_render(wide):
    plain, rotated = wide
    for i in range(4):
        K = plain["K"][i].astype(np.float64)
        pr = perspective_rotation(K, project(plain["vertices"][i], K), 32)
        assert np.allclose(pr["R"], rotated["rotation"][i], atol=1e-5)
        assert np.allclose(pr["K_crop"], rotated["K_crop"][i], rtol=1e-4, atol=1e-3)
        assert np.allclose(rotate_points(plain["joints_3d"][i], pr["R"]), rotated["joints_3d"][i], atol=1e-4)
        assert np.allclose(rotated["joints_2d"][i], apply_homography(pr["M"], plain["joints_2d_full"][i]), atol=1e-2)


def test_inverse_rotation_round_trip():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(5, 17, 3))
    Rs = np.stack([swing_rotation(_K(200, 100, 100), rng.uniform(0, 200, 2)) for _ in range(5)])
    back = unrotate_points(np.stack([rotate_points(P[b], Rs[b]) for b in range(5)]), Rs)
    assert np.allclose(back, P, atol=1e-12)
    assert np.allclose(unrotate_points(rotate_points(P[0], Rs[1]), Rs[1]), P[0], atol=1e-12)
    # root-relative errors do not change when prediction and ground truth turn together
    pred = P + rng.normal(scale=0.05, size=P.shape)
    err = np.linalg.norm(pred - P, axis=-1).mean()
    err_rot = np.linalg.norm(rotate_points(pred, Rs[0]) - rotate_points(P, Rs[0]), axis=-1).mean()
    assert math.isclose(err, err_rot, rel_tol=1e-12)


def test_warp_moves_image_content_with_the_homography():
    K = _K(60.0, 32.0, 32.0)
    u0, v0 = 50.0, 14.0
    vv, uu = np.mgrid[0:64, 0:64] + 0.5
    blob = torch.tensor(np.exp(-((uu - u0) ** 2 + (vv - v0) ** 2) / 4.0))[None]
    M = homography(K, swing_rotation(K, (u0, v0)))
    out = warp_image(blob, M, 64)[0].numpy()
    i, j = np.unravel_index(out.argmax(), out.shape)
    assert abs(j + 0.5 - 32) <= 1 and abs(i + 0.5 - 32) <= 1       # the blob moved to the principal point
    assert np.allclose(warp_image(blob, np.eye(3), 64).numpy(), blob.numpy(), atol=1e-6)


def test_lift_recovers_a_pose_from_its_projection():
    rng = np.random.default_rng(1)
    size, root = 64, 0
    K = _K(140.0, 20.0, 40.0)
    P = rng.normal(scale=0.3, size=(17, 3)) + np.array([0.4, -0.2, 4.0])
    uv = torch.tensor(project(P, K))[None].float()
    depth = P[:, 2] - P[root, 2]
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    depth_logit = torch.tensor([[logit(d / 2.2 + 0.5) for d in depth]]).float()
    rho0 = P[root, 2] / 140.0
    rho_logit = torch.tensor([[logit(math.log(rho0 / (7e-3 * 256 / size)) / 3 + 0.5)]]).float()
    out = lift(uv, depth_logit, rho_logit, torch.tensor([140.0]), torch.tensor([[20.0, 40.0]]), size, root)
    assert np.allclose(out["pose"][0].numpy(), P - P[root], atol=1e-4)
    assert np.allclose(out["absolute"][0].numpy(), P, atol=1e-4)


def test_paper_configuration_has_75713559_parameters():
    with torch.device("meta"):
        model = build("paper")
        plain = build("paper", pe=False)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert isinstance(model, PersPose) and count(model) == 75_713_559
    assert count(model) - count(plain) == 2 * 256                  # the PE conv: 2 -> 256, 1x1, no bias
    heads = sum(count(getattr(model, k)) for k in ("heatmap", "depth", "root_density", "twist", "shape", "leaf"))
    assert heads == 292_183


def test_small_model_uses_the_ray_map_only_with_pe():
    torch.manual_seed(0)
    with_pe, without = build("smoke").eval(), build("smoke", pe=False).eval()
    x = with_pe.example_input(2)
    shifted = x.clone()
    shifted[:, 3] += 0.2  # the same pixels seen through another crop position
    with torch.no_grad():
        torch.nn.init.normal_(with_pe.pe_conv.weight, 0, 1.0)
        a, b = with_pe.outputs(x)["uv"], with_pe.outputs(shifted)["uv"]
        c, d = without.outputs(x)["uv"], without.outputs(shifted)["uv"]
    assert not torch.allclose(a, b) and torch.allclose(c, d)
    with pytest.raises(ValueError, match="ray map"):
        with_pe(torch.zeros(1, 3, 32, 32))


def test_wide_field_turns_pr_labels_back_and_mirrors_consistently(wide):
    from posekit.methods.perspose.data import from_samples
    from posekit.skeleton import H36M_17
    plain, rotated = (from_samples(s) for s in wide)
    assert not plain.rotated and rotated.rotated
    assert np.allclose(rotated.original_camera(rotated.root_relative), plain.root_relative, atol=1e-4)
    assert np.allclose(plain.angle, rotated.angle, atol=0.05)  # the same box-centre ray in both sets
    idx, flip = np.arange(4), np.array([True, False, True, False])
    x, y = plain.inputs(idx, flip), plain.targets(idx, flip)[:, 0].numpy()
    K = plain.K_crop.astype(np.float64).copy()
    K[flip, 0, 2] = 32 - K[flip, 0, 2]
    f, c = crop_intrinsics(x[:, 3:])
    assert np.allclose(c.numpy(), K[:, :2, 2], atol=1e-2) and np.allclose(f.numpy(), K[:, 0, 0], rtol=1e-4)
    uv = np.stack([project(y[i], K[i]) for i in range(4)])
    expected = wide[0]["joints_2d"].astype(np.float64).copy()
    expected[flip] = expected[flip][:, H36M_17.flip_permutation] * [-1, 1] + [32, 0]
    assert np.allclose(uv, expected, atol=1e-2)   # mirrored crop, mirrored principal point, mirrored 3D agree
    assert np.array_equal(x[0, :3].numpy(), plain.images[0][:, :, ::-1] / np.float32(255))
    assert plain.fingerprint() == from_samples(wide[0]).fingerprint() != rotated.fingerprint()


def test_small_model_trains_and_is_scored_in_the_original_camera(wide):
    from posekit.methods.perspose import evaluate
    from posekit.methods.perspose.data import from_samples
    from posekit.train import TrainConfig, fit
    torch.manual_seed(0)
    data = from_samples(wide[1])
    model = build("smoke")
    history = fit(model, data, TrainConfig(epochs=12, batch_size=4, lr=3e-3, progress=False, device="cpu",
                                           flip_augment=False))
    assert history["loss"][-1] < history["loss"][0]
    result = evaluate(model, data, device="cpu")
    pred = result.predictions["original_camera"]
    assert result.frames == 4 and math.isfinite(result.mpjpe)
    gt = data.original_camera(data.root_relative)
    assert math.isclose(result.mpjpe, 1000 * np.linalg.norm(pred - gt, axis=-1).mean(), rel_tol=1e-5)
    with pytest.raises(TypeError, match="WideField"):
        evaluate(model, [1, 2])
