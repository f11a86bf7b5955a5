"""PoseDA (posekit.methods.poseda): parameter counts, GPA's geometry, LPA's transformations, training, errors,
every figure (headless)."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from posekit.camera import Camera
from posekit.data.dataset import PoseDataset, Sequence
from posekit.methods import poseda as P
from posekit.models import build_model, count_parameters
from posekit.nn.tcn import TemporalConvLifter
from posekit.skeleton import H36M_17


def _poses(n=8, seed=0, j=17):
    """Plausible root-relative poses (n, j, 3): a standing template plus noise, metres."""
    rng = np.random.default_rng(seed)
    base = np.zeros((j, 3), np.float32)
    parents = H36M_17.parents if j == 17 else P.POSEAUG_16.parents
    for c in range(1, j):
        base[c] = base[parents[c]] + rng.normal([0, -0.15, 0], 0.08)
    poses = (base[None] + rng.normal(0, 0.03, (n, j, 3))).astype(np.float32)
    return poses - poses[:, :1]


def _camera(f=1500.0, w=2048, h=2048, cx=1017.0, cy=1043.0, name="cam"):
    return Camera(id=name, res_w=w, res_h=h, focal_length=[f, f], center=[cx, cy])


def _dataset(poses, cam, subject="S1", name="toy", depth=5.0, seed=0):
    """One sequence per call: poses placed in front of `cam` at about `depth`, 2D its exact projection."""
    rng = np.random.default_rng(seed)
    traj = np.c_[rng.normal(0, 0.3, (len(poses), 2)), depth + rng.normal(0, 0.2, len(poses))].astype(np.float32)
    kp = cam.project_normalized((poses + traj[:, None]).astype(np.float64), distort=False).astype(np.float32)
    seq = Sequence(subject=subject, action="Walk", camera=cam, camera_index=0, poses_3d=poses, trajectory=traj,
                   keypoints_2d=kp, keypoints_2d_gt=kp)
    return PoseDataset(name=name, sequences=[seq], train_subjects=(subject,))


# ------------------------------------------------------------------ parameter counts

def test_paper_parameter_counts_match_poseaug():
    """At PoseAug's 16-joint skeleton (with its translation branch) the LPA networks have exactly the counts of
    PoseAug's official PoseGenerator / Pos3dDiscriminator / Pos2dDiscriminator (built from jfzhang95/PoseAug)."""
    g = P.LPAGenerator(P.POSEAUG_16, translation=True)
    assert count_parameters(g) == 1_181_500
    assert (count_parameters(g.ba), count_parameters(g.bl), count_parameters(g.rt)) == (302_125, 296_713, 582_662)
    assert count_parameters(P.KCSDiscriminator(P.POSEAUG_16)) == 1_076_205
    assert count_parameters(P.PoseDiscriminator2D(16)) == 43_801
    # PoseAug's single-frame VideoPose3D predicts 15 joints and pads the root; posekit's predicts all 16.
    vp16 = TemporalConvLifter(joints=16, **P.CONFIGS["paper"])
    assert count_parameters(vp16) - (1024 * 3 + 3) == 8_485_933


def test_posekit_counts_and_gpa_has_no_parameters():
    assert count_parameters(build_model("poseda", "paper")) == 8_494_131
    assert count_parameters(P.GlobalPositionAlignment()) == 0
    assert count_parameters(P.LPAGenerator()) == 896_061           # 17 joints, no translation branch
    assert count_parameters(P.AnchorDiscriminator()) == 1_159_886


def test_poseaug_bone_tables_are_reproduced():
    bm = P.BoneModel(P.POSEAUG_16)
    assert P.bone_length_groups(bm).argmax(0).tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8]
    parts = {k: bm.bone_index(v) for k, v in P.KCS_PARTS.items()}
    assert parts == {"left arm": [7, 9, 10, 11], "right arm": [7, 12, 13, 14], "right leg": [0, 1, 2, 3, 6],
                     "left leg": [0, 3, 4, 5, 6], "torso": [0, 3, 6, 7, 8, 9, 12]}


# ------------------------------------------------------------------ shapes

def test_output_shapes():
    model = build_model("poseda", "smoke").eval()
    assert model.receptive_field == 1 and model.output == "center"
    assert model(torch.randn(4, 1, 17, 2)).shape == (4, 1, 17, 3)
    g = P.LPAGenerator()
    out = g(torch.as_tensor(_poses(6)))
    assert out["pose"].shape == (6, 17, 3) and out["ba_diff"].shape == (6, 16)
    assert out["blr"].shape == (6, 10) and out["rotation"].shape == (6, 3)
    d3, d2 = P.AnchorDiscriminator()(out["pose"], torch.randn(6, 17, 2))
    assert d3.shape == (6, 5) and d2.shape == (6, 1)


# ------------------------------------------------------------------ GPA

def test_gpa_recovers_the_position_of_a_planar_pose():
    """A pose with all joints at one depth projects with extent exactly f * d / z: GPA, given that projection as
    the target, puts the source pose exactly where the target was (x, y and depth)."""
    pose = _poses(5)
    pose[..., 2] = 0.0
    where = np.array([[0.4, -0.2, 4.0], [-0.5, 0.3, 6.5], [0, 0, 3.0], [1.0, 0.5, 8.0], [-0.2, -0.6, 5.0]], np.float32)
    k = np.array([[1.46, 1.46, -0.006, 0.019]] * 5, np.float32)
    target_2d = P.project_pinhole(pose + where[:, None], k)
    aligned = P.global_position_alignment(pose + 7.0, target_2d, k)   # source at an arbitrary position
    np.testing.assert_allclose(aligned[:, 0], where, atol=1e-4)
    np.testing.assert_allclose(aligned - aligned[:, :1], pose - pose[:, :1], atol=1e-5)  # shape unchanged


def test_gpa_root_lands_on_target_root_and_scale_matches():
    rng = np.random.default_rng(1)
    src = _poses(64, seed=2)
    tgt = (rng.normal(0, 0.3, (64, 17, 2)) * 0.3 + rng.normal(0, 0.2, (64, 1, 2))).astype(np.float32)
    k = np.c_[rng.uniform(1.3, 1.8, (64, 1)).repeat(2, 1), rng.normal(0, 0.02, (64, 2))].astype(np.float32)
    gpa = P.GlobalPositionAlignment()
    aligned, kp = gpa(src, tgt, k)
    assert isinstance(aligned, np.ndarray) and aligned.shape == (64, 17, 3)
    np.testing.assert_allclose(kp[:, 0], tgt[:, 0], atol=1e-5)              # exact under linear projection
    ratio = P.bbox_scale(kp) / P.bbox_scale(tgt)
    assert np.median(np.abs(ratio - 1)) < 0.1 and np.all(np.abs(ratio - 1) < 0.25)  # approximate (perspective)
    # torch in, torch out, differentiable
    src_t = torch.as_tensor(src, dtype=torch.float32).requires_grad_()
    out = P.global_position_alignment(src_t, torch.as_tensor(tgt), torch.as_tensor(k))
    out[..., 2].sum().backward()
    assert isinstance(out, torch.Tensor) and torch.isfinite(src_t.grad).all()


def test_gpa_uses_each_pairs_own_camera():
    """posekit departs from the README (row 0's focal length for all): each pair uses its own intrinsics."""
    src, tgt = _poses(2), np.tile(_poses(1)[:, :, :2] * 0.2, (2, 1, 1))
    k = np.array([[1.5, 1.5, 0, 0], [3.0, 3.0, 0, 0]], np.float32)
    z = P.global_position_alignment(src, tgt, k)[:, 0, 2]
    z_same = P.gpa_depth(src, P.bbox_scale(tgt), k[:, :2])
    np.testing.assert_allclose(z, z_same, rtol=1e-6)
    assert z[1] > 1.8 * z[0]


def test_align_dataset_moves_source_statistics_to_target():
    src = _dataset(_poses(400, seed=3), _camera(1145, 1000, 1000, 512, 515), depth=5.0, seed=0)
    tgt = _dataset(_poses(300, seed=4), _camera(1500), subject="TS1", depth=8.0, seed=1)
    before = P.domain_statistics(np.concatenate([s.keypoints_2d for s in src]))
    pool = P.TargetPool.from_dataset(tgt)
    aligned = P.align_dataset(src, pool, seed=0)
    after = P.domain_statistics(aligned[0].keypoints_2d)
    target = P.domain_statistics(pool.keypoints_2d)
    for key in ("2D scale", "root x", "root y"):
        assert abs(after[key].mean() - target[key].mean()) < 0.2 * abs(before[key].mean() - target[key].mean()) + 0.01
    np.testing.assert_array_equal(aligned[0].poses_3d, src[0].poses_3d)       # labels untouched
    seq = P.align_dataset(src, pool, seed=0, pairing="sequence")
    assert seq[0].keypoints_2d.shape == src[0].keypoints_2d.shape


# ------------------------------------------------------------------ LPA

def _big_generator(**kw):
    """A generator whose output layers are drawn like PoseAug's (Kaiming), so that it changes poses visibly."""
    torch.manual_seed(0)
    return P.LPAGenerator(**kw, out_init=None).eval()


def test_bone_angle_generator_keeps_lengths_and_torso():
    g = _big_generator()
    x = torch.as_tensor(_poses(16))
    bm = P.BoneModel()
    pose, ba_diff = g.ba(x)
    b0, b1 = bm.bones(x - x[:, :1]), bm.bones(pose)
    torch.testing.assert_close(b1.norm(dim=-1), b0.norm(dim=-1), atol=1e-5, rtol=1e-5)
    fixed = bm.bone_index(P.FIXED_ANGLE_BONES)
    torch.testing.assert_close(b1[:, fixed], b0[:, fixed], atol=1e-5, rtol=1e-5)
    assert ba_diff[:, fixed].abs().max() < 1e-5 and ba_diff.max() > 0.01


def test_bone_length_generator_is_symmetric_and_bounded():
    g = _big_generator()
    x = torch.as_tensor(_poses(16))
    bm = P.BoneModel()
    pose, r = g.bl(x, x)
    lengths = bm.bones(x - x[:, :1]).norm(dim=-1)
    ratio = bm.bones(pose).norm(dim=-1) / lengths
    assert (ratio - 1).abs().max() > 0.02 and (ratio - 1).abs().max() <= 0.6
    torch.testing.assert_close((ratio * lengths).sum(-1), lengths.sum(-1))  # proportions change, the size is kept
    names = H36M_17.joint_names
    lk, rk = names.index("LKnee") - 1, names.index("RKnee") - 1
    torch.testing.assert_close(ratio[:, lk], ratio[:, rk])
    thorax = names.index("Thorax") - 1
    torch.testing.assert_close(ratio[:, thorax], torch.ones(16))


def test_bone_length_generator_without_keep_size_may_change_the_size():
    g = _big_generator(keep_size=False)
    x = torch.as_tensor(_poses(16))
    bm = P.BoneModel()
    pose, r = g.bl(x, x)
    lengths = bm.bones(x - x[:, :1]).norm(dim=-1)
    ratio = bm.bones(pose).norm(dim=-1) / lengths
    assert (ratio - 1).abs().max() <= 0.2 + 1e-5                      # PoseAug's bound on every ratio
    assert ((ratio * lengths).sum(-1) / lengths.sum(-1) - 1).abs().max() > 1e-3


def test_keep_total_length_leaves_fixed_bones_and_keeps_the_sum():
    lengths = torch.tensor([[1.0, 2.0, 3.0]])
    factor = torch.tensor([[0.5, 0.9, 1.0]])
    out = P.keep_total_length(lengths, factor, torch.tensor([1.0, 1.0, 0.0]))
    assert out[0, 2] == 1.0
    torch.testing.assert_close((out[0, :2] * lengths[0, :2]).sum(), torch.tensor(3.0))
    torch.testing.assert_close(out[0, 0] / out[0, 1], torch.tensor(0.5 / 0.9))


def test_random_augmenter_has_the_sizes_asked_for_and_keeps_the_size():
    aug = P.RandomAugmenter(ba_deg=12.0, bl=0.04, rot_deg=8.0)
    x = _poses(3000, seed=3)
    out = P.augment_poses(aug, x, seed=1)
    assert abs(out["ba_deg"].mean() - 12.0) < 0.6 and abs(np.abs(out["blr"]).mean() - 0.04) < 0.004
    assert abs(out["rotation_deg"].mean() - 8.0) < 0.4
    ratio = P.bone_length_ratio(x, out["pose"])
    assert abs(ratio["total"] - 1) < 1e-4 and ratio["min"] < 0.97 and ratio["max"] > 1.03
    again = P.augment_poses(aug, x, seed=1)["pose"]
    assert np.array_equal(out["pose"], again) and count_parameters(aug) == 0
    x_t = torch.as_tensor(x[:8])
    b0 = P.BoneModel().bones(x_t)
    b1 = P.BoneModel().bones(torch.as_tensor(out["pose_ba"][:8]))
    fixed = P.BoneModel().bone_index(P.FIXED_ANGLE_BONES)
    torch.testing.assert_close(b1[:, fixed], b0[:, fixed], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=">= 0"):
        P.RandomAugmenter(bl=-0.1)


def test_pose_coverage_and_bone_length_ratio():
    ref, qry = _poses(200, seed=1), _poses(50, seed=2)
    far = P.pose_coverage(ref, qry)
    assert far.shape == (50,) and (far > 0).all()
    assert np.allclose(P.pose_coverage(np.concatenate([ref, qry]), qry), 0.0)
    assert P.pose_coverage(ref, qry + 1.0).max() == pytest.approx(far.max(), rel=1e-4)  # root-relative
    shrunk = P.bone_length_ratio(qry, 0.9 * qry)
    assert shrunk["total"] == pytest.approx(0.9) and shrunk["per bone"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="pose_coverage"):
        P.pose_coverage(ref, np.zeros((0, 17, 3)))


def test_rotation_is_rigid_and_kcs_is_rotation_invariant():
    g = _big_generator(max_rotation=math.pi)
    x = torch.as_tensor(_poses(16))
    pose, r = g.rt(x, x)
    assert r.norm(dim=-1).max() <= math.pi * math.sqrt(3) + 1e-4
    torch.testing.assert_close(torch.cdist(pose, pose), torch.cdist(x, x), atol=1e-5, rtol=1e-5)
    d3 = P.KCSDiscriminator()
    torch.testing.assert_close(d3(pose), d3(x), atol=1e-4, rtol=1e-4)     # KCS sees bone angles only


def test_generator_starts_near_identity():
    g = P.LPAGenerator().eval()
    x = torch.as_tensor(_poses(8))
    assert (g(x)["pose"] - (x - x[:, :1])).abs().max() < 0.05                 # metres


def test_history_pool_swaps_after_filling():
    pool = P.HistoryPool(size=4, rng=np.random.default_rng(0))
    first = pool(torch.arange(4.0)[:, None])
    assert first.squeeze().tolist() == [0, 1, 2, 3]
    out = pool(torch.full((64, 1), 9.0))
    assert (out < 9).any() and (out == 9).any()


# ------------------------------------------------------------------ training

def test_one_training_step_lowers_the_lifter_loss_on_gpa_data():
    torch.manual_seed(0)
    src = _dataset(_poses(64, seed=5), _camera(1145, 1000, 1000, 512, 515))
    tgt = _dataset(_poses(64, seed=6), _camera(1500), subject="TS1", depth=7.0)
    data = P.adaptation_data("gpa", src, tgt, seed=0)
    x = torch.as_tensor(np.concatenate([s.keypoints_2d for s in data]))[:, None]
    y = torch.as_tensor(np.concatenate([s.poses_3d for s in data]))[:, None]
    model = build_model("poseda", "smoke")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        loss = (model(x) - y).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_lpa_training_runs_and_discriminator_learns():
    tgt = _dataset(_poses(128, seed=7), _camera(1500), subject="TS1", depth=7.0)
    res = P.train_lpa(_poses(256, seed=8), P.TargetPool.from_dataset(tgt),
                      P.LPAConfig(steps=12, batch_size=32, progress=False, lr_d=1e-3))
    h = res.curves()
    assert len(h["loss_g"]) == 12 and np.isfinite(h["loss_g"]).all()
    assert h["loss_d"][-1] < h["loss_d"][0]
    aug = P.augment_dataset(res.generator, _dataset(_poses(20, seed=9), _camera()), seed=0)
    assert aug[0].poses_3d.shape == (20, 17, 3) and np.abs(aug[0].poses_3d[:, 0]).max() == 0
    mixed = P.adaptation_data("gpa+lpa", _dataset(_poses(20, seed=9), _camera()), tgt, generator=res.generator)
    assert 20 < mixed.num_frames <= 40
    control = P.adaptation_data("gpa+random", _dataset(_poses(20, seed=9), _camera()), tgt,
                                generator=P.RandomAugmenter())
    assert 20 < control.num_frames <= 40 and control.name.endswith("+GPA+random")


# ------------------------------------------------------------------ errors

def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="same N and J"):
        P.global_position_alignment(_poses(3), np.zeros((4, 17, 2), np.float32), [1.5, 1.5, 0, 0])
    with pytest.raises(ValueError, match="intrinsics"):
        P.global_position_alignment(_poses(3), np.zeros((3, 17, 2), np.float32), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"\(N, J, 3\)"):
        P.global_position_alignment(np.zeros((3, 17, 2)), np.zeros((3, 17, 2)), [1.5, 1.5, 0, 0])
    with pytest.raises(ValueError, match="single-frame"):
        build_model("poseda", "smoke", frames=27)
    with pytest.raises(ValueError, match="variant"):
        P.adaptation_data("lpa", None, None)
    src = _dataset(_poses(4), _camera())
    with pytest.raises(ValueError, match="generator"):
        P.adaptation_data("gpa+lpa", src, src)
    with pytest.raises(ValueError, match="RandomAugmenter"):
        P.adaptation_data("gpa+random", src, src, generator=P.LPAGenerator())
    with pytest.raises(ValueError, match=r"\(N, 17, 3\)"):
        P.LPAGenerator()(torch.zeros(4, 16, 3))
    with pytest.raises(ValueError, match="pairing"):
        P.align_dataset(src, P.TargetPool.from_dataset(src), pairing="video")
    with pytest.raises(KeyError, match="no PoseDA target"):
        P.target_of("humaneva")


def test_adapt_trains_any_lifter_and_picks_the_pairing():
    from posekit.train import TrainConfig
    src = _dataset(_poses(48, seed=10), _camera(1145, 1000, 1000, 512, 515))
    tgt = _dataset(_poses(48, seed=11), _camera(1500), subject="TS1", depth=7.0)
    cfg = TrainConfig(epochs=1, batch_size=16, progress=False, eval_every=0, device="cpu")
    history = P.adapt(build_model("poseda", "smoke"), "gpa", src, tgt, cfg)
    assert len(history.records) == 1 and np.isfinite(history.final["loss"])
    history = P.adapt(build_model("tcn", "smoke", frames=27), "gpa", src, tgt, cfg)   # temporal: sequence pairing
    assert np.isfinite(history.final["loss"])


def test_the_package_exports_the_adapt_function():
    assert callable(P.adapt) and P.adapt.__module__ == "posekit.methods.poseda.adapt"   # not the submodule


# ------------------------------------------------------------------ what the notebook draws (headless)

def test_distribution_figure():
    rng = np.random.default_rng(0)
    groups = {"source": P.domain_statistics(rng.normal(0, 0.2, (200, 17, 2))),
              "target": P.domain_statistics(rng.normal(0.3, 0.4, (150, 17, 2)))}
    fig = P.distribution_figure(groups, bins=20, title="Fig. S1")
    assert [ax.get_title() for ax in fig.axes] == ["2D scale", "root x", "root y"]
    for ax in fig.axes:
        assert len(ax.patches) == 2                                   # one step histogram per group
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[0].startswith("source: ") and labels[1].startswith("target: ")
    assert fig._suptitle.get_text() == "Fig. S1"
    plt.close(fig)


def test_lpa_curves_figure():
    keys = ("loss_g", "adv_3d", "adv_2d", "loss_d", "ba_deg", "rot_deg", "blr_abs")
    history = [{"step": i + 1, **{k: 1.0 / (i + 1) for k in keys}} for i in range(50)]
    fig = P.lpa_curves_figure(P.LPAResult(None, None, history), smooth=10)
    losses, angles, lengths = fig.axes
    assert [ln.get_label() for ln in losses.lines] == ["G total", "G adv. 3D", "G adv. 2D", "D"]
    assert len(angles.lines) == 2 and len(lengths.lines) == 1
    assert len(losses.lines[0].get_xdata()) == 50 - 10 + 1            # moving average over 10 steps
    assert lengths.get_title() == "|bone-length change| (%)" and losses.get_xlabel() == "generator step"
    assert lengths.lines[0].get_ydata()[-1] == pytest.approx(100 * np.mean(1.0 / np.arange(41, 51)))
    plt.close(fig)
