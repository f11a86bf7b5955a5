"""DSR: the official regressor's size, 6D rotations, the semantic targets and losses, training and scoring."""
import numpy as np
import pytest
import torch

from posekit.models import build_model, count_parameters
from posekit.methods.dsr import (LABELS, MERGED, image_labels, matrix_to_rot6d, merge_matrix, rot6d_to_matrix,
                                 soft_iou_loss, targets, weighted_ce)


@pytest.mark.slow
def test_paper_configuration_is_the_official_smpl_regressor():
    with torch.device("meta"):
        model = build_model("dsr", "paper")
    assert count_parameters(model) == 26_977_501
    assert count_parameters(model.backbone) == 23_508_032 and count_parameters(model.head) == 3_469_469
    assert model.head.fc1.in_features == 2048 + 144 + 10 + 3 and model.head.iterations == 3


def test_paper_model_without_smpl_files_says_how_to_get_them():
    model = build_model("dsr", "paper", backbone="small", image_size=32)
    with pytest.raises(RuntimeError, match="SMPL_NEUTRAL.pkl"):
        model(model.example_input(1))


def test_rot6d_round_trip_and_orthonormal():
    g = torch.Generator().manual_seed(0)
    R = rot6d_to_matrix(torch.randn(50, 6, generator=g))
    assert torch.allclose(R.transpose(-1, -2) @ R, torch.eye(3).expand(50, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(R), torch.ones(50), atol=1e-5)
    assert torch.allclose(rot6d_to_matrix(matrix_to_rot6d(R)), R, atol=1e-5)


def test_labels_from_parts_and_classes():
    # part 1 head, 3 l_upper_arm, 11 l_foot, 14 r_foot; class 1 skin, 2 hair, 5 shoes
    parts = np.array([[0, 1, 1, 3, 11, 14]])
    classes = np.array([[0, 1, 2, 1, 5, 5]])
    names = [LABELS[i] for i in image_labels(parts, classes)[0]]
    assert names == ["background", "face", "hair", "left_arm", "left_shoe", "right_shoe"]


def test_targets_weights_and_textures():
    lab = torch.zeros(1, 16, 16, dtype=torch.long)
    lab[0, :8, :8] = LABELS.index("upper_clothes")  # 64 px
    lab[0, 8:12, :4] = LABELS.index("face")  # 16 px
    lab[0, 15, 15] = LABELS.index("left_arm")  # 1 px: below the threshold, absent
    prior = torch.rand(7, len(LABELS))
    t = targets(lab, prior, threshold=2)
    w = dict(zip(MERGED, t["c_weight"][0].tolist()))
    assert w["head"] == 1.0 and w["upper_clothes"] == pytest.approx(16 / 64)
    assert w["background"] == pytest.approx(16 / (256 - 81)) and w["left_arm"] == 0
    assert t["mc_mask"].sum() == 16 and bool(t["mc_valid"][0])
    assert torch.allclose(t["mc_texture"][0], prior[:, LABELS.index("face")])
    assert torch.allclose(t["c_texture"].sum(1), prior.sum(1)) and merge_matrix().sum() == len(LABELS)


def test_soft_iou_row_quirk_and_global():
    T = torch.zeros(1, 4, 4)
    T[0, 0, :2] = 1
    assert float(soft_iou_loss(T, T, "global")[0]) == pytest.approx(0, abs=1e-5)
    assert float(soft_iou_loss(T, T, "row")[0]) == pytest.approx(0.75, abs=1e-5)  # 3 of 4 rows are empty
    with pytest.raises(ValueError, match="row"):
        soft_iou_loss(T, T, "rows")


def test_weighted_ce_ignores_zero_weight_classes():
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1, 0, 0] = 5.0
    label = torch.tensor([[[1, 0], [0, 0]]])
    full = weighted_ce(logits, label, torch.tensor([[1.0, 1.0]]))
    only1 = weighted_ce(logits, label, torch.tensor([[0.0, 1.0]]))
    assert float(only1) == pytest.approx(float(torch.nn.functional.cross_entropy(logits[:, :, 0, 0],
                                                                                  torch.tensor([1]))), abs=1e-5)
    assert float(full) > float(only1)


@pytest.fixture(scope="module")
def images():
    pytest.importorskip("anny")
    from posekit.data.images import generate_images
    from posekit.methods.dsr import ImageSet
    return ImageSet(generate_images(24, size=32, seed=7, rotate_to_subject=True, verbose=False))


def test_image_set_recovers_the_body_under_the_clothes(images):
    from posekit.methods.dsr import mean_floor
    assert images.vertices.shape[1] == images.body.num_vertices and images.labels.shape == (24, 32, 32)
    floor = mean_floor(images, images)
    assert 0 < floor.p_mpjpe < floor.mpjpe and floor.pve > 0 and 0 <= floor.part_iou <= 100
    assert set(floor.summary()) >= {"PVE", "part IoU"} and len(floor.predictions["pve"]) == len(images)
    import dataclasses
    from posekit.evaluation import EvalResult
    from posekit.methods.dsr import summary
    plain = EvalResult(**dataclasses.asdict(floor))  # what a run cache reloads
    assert summary(plain) == floor.summary()


def test_start_floor_of_a_head_started_at_the_means_is_the_mean_floor(images):
    from posekit.methods.dsr import mean_floor, start_floor, summary
    model = build_model("dsr", "smoke", image_size=32)
    model.head.set_mean(*images.mean_parameters())
    a, b = summary(start_floor(model, images)), summary(mean_floor(images, images))
    assert all(a[m] == pytest.approx(b[m], rel=1e-5) for m in ("PA-MPJPE", "MPJPE", "PVE", "PA-PVE"))


@pytest.mark.slow
def test_dsr_losses_train_and_repeat(images):
    from posekit.methods.dsr import evaluate, fit
    from posekit.train import TrainConfig

    def run():
        torch.manual_seed(0)
        model = build_model("dsr", "smoke", image_size=32, mc_weight=0.1, c_weight=0.1, dsr_start=0.0)
        hist = fit(model, images, TrainConfig(epochs=3, batch_size=8, lr=3e-4, seed=1, progress=False))
        return hist, evaluate(model, images)
    h1, r1 = run()
    h2, r2 = run()
    assert h1.records[-1]["loss"] < h1.records[0]["loss"]
    assert "dsr_mc" in h1.records[0] and "dsr_c" in h1.records[0]
    assert r1.p_mpjpe == r2.p_mpjpe and r1.pve == r2.pve and np.isfinite(r1.part_iou)


def test_semantic_loss_gradient_moves_the_body():
    pytest.importorskip("anny")
    from posekit.methods.dsr import DSRLoss, vertex_prior
    from posekit.body import AnnyBody
    body = AnnyBody("3pc")
    loss = DSRLoss(vertex_prior(body, n_outfits=32), body.faces, 32, mc_weight=1.0, c_weight=1.0, sigma_ndc=1e-3)
    v = (body.reference_vertices - body.reference_vertices.mean(0))[None].clone()
    v = v[..., [0, 2, 1]] * torch.tensor([1.0, -1.0, 1.0]) + torch.tensor([0.0, 0.0, 4.0])
    v.requires_grad_(True)
    K = torch.tensor([[[40.0, 0, 16], [0, 40.0, 16], [0, 0, 1]]])
    lab = torch.zeros(1, 32, 32, dtype=torch.long)
    lab[0, 4:10, 12:20] = LABELS.index("face")
    lab[0, 10:24, 10:22] = LABELS.index("upper_clothes")
    mc, c = loss.semantic_terms(v, K, lab)
    (mc + c).backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0


def test_ground_truth_parameters_reproduce_the_labels(images):
    """The body layer, the camera and the keypoint terms agree with the data exactly at the true parameters."""
    from posekit.methods.dsr import AnnyLayer, DSRLoss, vertex_prior
    mesh = AnnyLayer(body=images.body)(images.rotations, images.phenotype)
    assert torch.allclose(mesh["joints"], images.joints_3d, atol=1e-4)
    assert torch.allclose(mesh["vertices"], images.vertices, atol=1e-4)
    s = 2 * images.K[:, 0, 0] / (images.size * images.root[:, 2])
    cam = torch.stack([s, images.root[:, 0], images.root[:, 1]], -1)
    loss = DSRLoss(vertex_prior(images.body, n_outfits=16), images.body.faces, images.size, mc_weight=1.0)
    ex = {"joints": mesh["joints"], "vertices": mesh["vertices"], "shape": images.phenotype, "camera": cam}
    _, terms = loss((None, ex), images.item(torch.arange(len(images))), 1.0, images.phenotype)
    assert terms["kp2d"] < 1e-10 and terms["kp3d"] < 1e-10 and terms["prior"] < 1e-12 and 0 < terms["dsr_mc"] < 1


def test_softras_aggregation_does_not_depend_on_the_tile_size():
    """Faces beyond SoftRas's distance threshold of a pixel take no part in its colour, whatever the binning."""
    from posekit.render import SoftRasterizer
    v = torch.tensor([[[-0.3, -0.3, 3.0], [0.3, -0.3, 3.0], [0.0, 0.3, 3.0], [0.5, 0.5, 3.5], [0.9, 0.5, 3.5],
                       [0.7, 0.9, 3.5]]])
    f = torch.tensor([[0, 1, 2], [3, 4, 5]])
    K = torch.tensor([[40.0, 0, 16], [0, 40.0, 16], [0, 0, 1]])
    attr = torch.tensor([[1.0], [1.0], [1.0], [0.5], [0.5], [0.5]])
    images = [SoftRasterizer(32, 32, sigma=0.01, gamma=1e-4, aggregate="softras", tile=t)(v, f, K, attr)["image"]
              for t in (1, 8)]
    assert torch.allclose(images[0], images[1], atol=1e-5)


def _fake_smpl(folder, V=6890, F=13776, seed=0, gender="neutral"):
    """A fake SMPL pickle of the real structure (6,890 vertices: smplx picks extra joints by vertex id; 24 joints,
    10 betas, 207 pose blend shapes, the kinematic tree) with random values, saved as SMPL_<GENDER>.pkl."""
    import pickle
    rng = np.random.default_rng(seed)
    parents = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
    weights = rng.random((V, 24))
    regressor = rng.random((24, V))
    data = {"v_template": rng.normal(0, 0.3, (V, 3)), "shapedirs": rng.normal(0, 0.01, (V, 3, 10)),
            "posedirs": np.zeros((V, 3, 207), np.float32), "J_regressor": regressor / regressor.sum(1, keepdims=True),
            "kintree_table": np.array([[4294967295] + parents[1:], list(range(24))]),
            "weights": weights / weights.sum(1, keepdims=True), "f": rng.integers(0, V, (F, 3)).astype(np.uint32)}
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"SMPL_{gender.upper()}.pkl", "wb") as fh:
        pickle.dump(data, fh)
    return folder


def test_smpl_head_runs_on_a_fake_smpl_of_the_real_structure(tmp_path):
    pytest.importorskip("smplx")
    folder = _fake_smpl(tmp_path / "smpl")
    model = build_model("dsr", "paper", backbone="small", image_size=32, smpl_path=folder).eval()
    assert count_parameters(model.head) == 3_469_469 - (2048 - 128) * 1024  # fc1 sees a 128-d feature here
    with torch.no_grad():
        joints, ex = model(model.example_input(2))
    assert joints.shape == (2, 1, 24, 3) and ex["vertices"].shape == (2, 6890, 3)
    assert torch.allclose(joints[:, 0, 0], torch.zeros(2, 3)) and torch.isfinite(ex["vertices"]).all()
    h36m = np.full((17, 6890), 1 / 6890)
    model = build_model("dsr", "paper", backbone="small", image_size=32, smpl_path=folder, h36m_regressor=h36m)
    with torch.no_grad():
        assert model.eval()(model.example_input(1))[0].shape == (1, 1, 17, 3)
