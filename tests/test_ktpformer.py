"""KTPFormer (posekit.methods.ktpformer): parameter counts, topologies, the learnable graph convolution, shapes,
the inspection helpers and every figure of the package (headless)."""
import matplotlib
import numpy as np
import pytest
import torch

from posekit.methods import ktpformer as kt
from posekit.models import build_model, count_parameters
from posekit.nn.mixste import MixSTE
from posekit.skeleton import H36M_17

matplotlib.use("Agg")


@pytest.mark.parametrize("frames, expected", [(243, 35_213_430), (81, 34_859_622), (27, 34_765_014)])
def test_parameter_count_at_paper_configuration(frames, expected):
    # the official KTPFormer (run_ktpformer.py: width 512, 1 KPA/TPA + 7 layers) counted as sum(numel) of parameters
    model = build_model("ktpformer", config="paper", frames=frames)
    assert count_parameters(model) == expected


def test_without_priors_it_is_mixste():
    torch.manual_seed(0)
    plain = kt.build("paper", kinematic_prior=False, trajectory_prior=False)
    assert count_parameters(plain) == 33_783_811 == count_parameters(MixSTE())
    assert plain.prior_parameters() == 0
    small = kt.build("smoke", kinematic_prior=False, trajectory_prior=False).eval()
    ref = MixSTE(**kt.CONFIGS["smoke"]).eval()
    ref.load_state_dict(small.state_dict())
    x = torch.randn(2, 27, 17, 2)
    assert torch.allclose(small(x), ref(x), atol=1e-6)


def test_prior_cost_at_paper_configuration():
    full = kt.build("paper")
    assert full.prior_parameters() == 35_213_430 - 33_783_811
    kpa_only, tpa_only = kt.build_kpa_only("paper"), kt.build_tpa_only("paper")
    assert kpa_only.tpa is None and tpa_only.kpa is None
    assert kpa_only.prior_parameters() + tpa_only.prior_parameters() == full.prior_parameters()
    assert not hasattr(full, "joint_embed")  # the GCN replaces the Linear(2 -> C) embedding


def test_kinematic_adjacency_follows_the_official_normalisation():
    a = kt.kinematic_adjacency(H36M_17)
    assert a.shape == (17, 17)
    assert np.allclose(np.diag(a), 1.0)
    assert np.allclose(a[0, [1, 4, 7]], 1 / 3)        # hip row: 1/3 to RHip, LHip, Spine
    assert np.allclose(a[2, [1, 3]], 0.5)             # knee row
    assert a[3, 2] == 1.0 and a[10, 9] == 1.0          # leaves: 1 to their single neighbour
    assert np.allclose(a[8, [7, 9, 11, 14]], 0.25)    # thorax row
    assert not np.allclose(a, a.T)                     # not symmetric before the layer symmetrises it
    assert (a > 0).sum() == 17 + 2 * 16
    gc = kt.LearnableGraphConv(2, 4, a)
    with torch.no_grad():
        gc.adj2.zero_()
    assert gc.topology()[8, 7].item() == pytest.approx(0.375)  # (0.25 + 0.5) / 2
    assert torch.allclose(gc.topology(), gc.topology().T)


def test_trajectory_adjacency_is_a_chain():
    a = kt.trajectory_adjacency(6)
    expected = np.eye(6)
    for t in range(1, 5):
        expected[t, t - 1] = expected[t, t + 1] = 0.5
    expected[0, 1] = expected[5, 4] = 1.0
    assert np.allclose(a, expected)
    with pytest.raises(ValueError, match="frames"):
        kt.trajectory_adjacency(0)


def test_learnable_graph_conv_formula_and_initialisation():
    torch.manual_seed(0)
    a = kt.kinematic_adjacency()
    gc = kt.LearnableGraphConv(3, 5, a)
    assert torch.all(gc.M == 1) and torch.allclose(gc.adj2, torch.full((17, 17), 1e-6))
    assert gc.W.shape == (2, 3, 5) and gc.bias.abs().max() <= 1 / np.sqrt(5)
    with torch.no_grad():
        gc.M.uniform_(0.5, 1.5)
        gc.adj2.normal_(0, 0.1)
    x = torch.randn(4, 17, 3)
    ak = ((torch.tensor(a) + gc.adj2) + (torch.tensor(a) + gc.adj2).T) / 2
    h0, h1 = gc.M * (x @ gc.W[0]), gc.M * (x @ gc.W[1])
    manual = torch.stack([ak[i, i] * h0[:, i] + sum(ak[i, j] * h1[:, j] for j in range(17) if j != i)
                          for i in range(17)], 1) + gc.bias
    assert torch.allclose(gc(x), manual, atol=1e-5)


def test_graph_conv_is_local_on_the_prior_graph_and_global_with_learned_topology():
    torch.manual_seed(0)
    gc = kt.LearnableGraphConv(2, 8, kt.kinematic_adjacency(), learnable=False)
    assert "adj2" not in dict(gc.named_parameters())
    x = torch.randn(1, 17, 2)
    x2 = x.clone()
    x2[0, 13] += 1.0                                  # move the left wrist
    changed = (gc(x2) - gc(x)).abs().amax(-1)[0] > 1e-6
    assert set(torch.nonzero(changed).ravel().tolist()) == {12, 13}  # itself and the elbow only
    learned = kt.LearnableGraphConv(2, 8, kt.kinematic_adjacency())
    with torch.no_grad():
        learned.adj2.fill_(0.05)                      # a dense learned topology reaches every joint
    changed = (learned(x2) - learned(x)).abs().amax(-1)[0] > 1e-6
    assert changed.all()


def test_tpa_mixes_only_nearby_frames_and_keeps_shape():
    torch.manual_seed(0)
    tpa = kt.TPA(16, frames=9, learnable=False).eval()  # eval: BatchNorm uses running statistics
    x = torch.randn(3, 9, 16)
    y = tpa(x)
    assert y.shape == x.shape
    x2 = x.clone()
    x2[:, 4] += 1.0
    changed = (tpa(x2) - y).abs().amax((0, 2)) > 1e-6
    assert torch.nonzero(changed).ravel().tolist() == [2, 3, 4, 5, 6]  # two chain hops each way


@pytest.mark.parametrize("name", ["ktpformer", "ktpformer-kpa", "ktpformer-tpa"])
def test_output_shapes_and_gradients(name):
    torch.manual_seed(0)
    model = build_model(name, config="smoke")
    x = torch.randn(2, 27, 17, 2)
    y = model(x)
    assert y.shape == (2, 27, 17, 3) and model.output == "sequence" and model.receptive_field == 27
    y.sum().backward()
    for gc in [m for m in model.modules() if isinstance(m, kt.LearnableGraphConv)]:
        assert gc.adj2.grad is not None and gc.M.grad is not None and gc.W.grad.abs().sum() > 0
    tokens = model.layer0_tokens(x)
    assert tokens["spatial"].shape == tokens["temporal"].shape == (2, 27, 17, 32)
    q, k, v = kt.attention_qkv(model.spatial_blocks[0], tokens["spatial"].reshape(-1, 17, 32))
    assert q.shape == k.shape == v.shape == (54, 4, 17, 8)


def test_kpa_output_is_a_relu_embedding():
    kpa = kt.KPA(2, 16)
    out = kpa(torch.randn(10, 17, 2))
    assert out.shape == (10, 17, 16) and (out >= 0).all()


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model("ktpformer", config="smoke")
    x, target = torch.randn(8, 27, 17, 2), 0.2 * torch.randn(8, 27, 17, 3)
    target[:, :, 0] = 0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = model.loss(model(x), target)
    opt.zero_grad()
    before.backward()
    opt.step()
    after = model.loss(model(x), target)
    assert after.item() < before.item()


def test_bad_input_raises_a_clear_error():
    model = build_model("ktpformer", config="smoke")
    with pytest.raises(ValueError, match="exactly 27 frames"):
        model(torch.randn(1, 26, 17, 2))
    with pytest.raises(ValueError, match="17 joints"):
        model(torch.randn(1, 27, 16, 2))
    with pytest.raises(ValueError, match="expects a tensor"):
        model(torch.randn(27, 17, 2))
    with pytest.raises(ValueError, match="square"):
        kt.LearnableGraphConv(2, 4, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="unknown configuration"):
        kt.build("laptop")


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_inspection_helpers_on_a_smoke_model():
    torch.manual_seed(0)
    model = kt.build("smoke").eval()
    x = model.example_input(2)
    sims = kt.qkv_similarity(model, x)
    assert set(sims) == {"Q", "K", "V"} and all(s.shape == (17, 17) for s in sims.values())
    assert all(torch.allclose(s.diagonal(), torch.ones(17), atol=1e-5) for s in sims.values())  # cosine with itself
    att = kt.layer_attention(model, x)
    assert att["spatial"].shape == (17, 17) and att["temporal"].shape == (17, 27, 27)
    assert torch.allclose(att["spatial"].sum(-1), torch.ones(17), atol=1e-5)
    assert not model.spatial_blocks[0].attn.keep_attention       # switched off again
    topo = kt.learned_topologies(model)
    assert list(topo) == ["KPA", "TPA 1", "TPA 2"] and topo["TPA 1"][0].shape == (27, 27)
    a = kt.kinematic_adjacency()
    assert np.allclose(topo["KPA"][0], (a + a.T) / 2)
    assert kt.neighbour_contrast(a, a) > 0 and kt.neighbour_contrast(np.ones((17, 17)), a) == 0.0


def test_plot_matrices_draws_one_heatmap_per_matrix():
    fig = kt.plot_matrices({"a": np.eye(17), "b": -np.eye(17), "c": torch.ones(17, 17)}, labels=H36M_17.joint_names,
                           symmetric={"b"}, annotate=True, ncols=2, title="three")
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in heatmaps] == ["a", "b", "c"] and fig._suptitle.get_text() == "three"
    assert len(fig.axes) == 4 + 3                                  # 2 x 2 grid (one switched off) + 3 colour bars
    assert heatmaps[1].images[0].get_cmap().name == "RdBu_r" and heatmaps[1].images[0].get_clim() == (-1.0, 1.0)
    assert [t.get_text() for t in heatmaps[0].get_xticklabels()] == list(H36M_17.joint_names)
    assert _texts(heatmaps[0]).count("1.00") == 17                  # the annotated diagonal
    matplotlib.pyplot.close(fig)


def test_plot_topologies_draws_both_graphs_and_their_adjacency():
    rng = np.random.default_rng(0)
    fig = kt.plot_topologies(rng.random((17, 2)), rng.random((9, 2)), H36M_17, joint=13, title="priors")
    graph, a_n, traj, a_t = fig.axes[:4]
    assert len(fig.axes) == 4 + 4                                  # 2 x 2 panels + colour bars
    assert len(graph.lines) == 16 and len(graph.texts) == 17        # one line per bone, one label per joint
    assert graph.get_title() == "kinematic topology: 17 joints, 16 bones"
    assert np.allclose(a_n.images[0].get_array(), kt.kinematic_adjacency())
    assert traj.get_title() == "trajectory topology: LWrist over 9 frames" and len(traj.lines) == 1
    assert a_t.get_title() == "A_T (9 x 9 chain)" and a_t.images[0].get_array().shape == (9, 9)
    matplotlib.pyplot.close(fig)


def test_plot_ablation_draws_a_bar_and_the_seeds_per_arm():
    runs = {"MixSTE": {"MPJPE": [50.0, 52.0, 51.0], "P-MPJPE": [40.0, 41.0, 40.5]},
            "+ KPA": {"MPJPE": [49.0], "P-MPJPE": [39.0]},
            "KTPFormer": {"MPJPE": [48.0, 50.0, 49.0], "P-MPJPE": [38.0, 39.0, 38.5]}}
    fig = kt.plot_ablation(runs, title="ablation")
    assert len(fig.axes) == 2 and fig._suptitle.get_text() == "ablation"
    for ax, metric in zip(fig.axes, ("MPJPE", "P-MPJPE")):
        assert ax.get_ylabel() == f"{metric} (mm)" and len(ax.patches) == 3
        assert [t.get_text() for t in ax.get_xticklabels()] == list(runs)
        assert [p.get_height() for p in ax.patches] == pytest.approx([np.mean(r[metric]) for r in runs.values()])
    matplotlib.pyplot.close(fig)


def test_shared_budget_of_01_and_04():
    from posekit.methods import _comparison as comparison
    from posekit.profiles import PROFILES
    cpu = comparison.budget(PROFILES["cpu"])
    assert (cpu.epochs, cpu.max_train_windows) == (6, 640)
    assert cpu.lr_decay ** cpu.epochs == pytest.approx(PROFILES["cpu"].lr_decay ** PROFILES["cpu"].epochs)
    for name in ("smoke", "gpu", "paper"):
        assert comparison.budget(PROFILES[name]) == PROFILES[name]
    # about 1.56 M frames / 243 x 2 (mirrored) / clips per step x epochs
    assert comparison.paper_steps("mixste") == 3209 * 120
    assert comparison.paper_steps("ktpformer") == 1605 * 200
    with pytest.raises(ValueError, match="no paper recipe"):
        comparison.paper_steps("videopose")


def test_learning_curves_and_floor_sentence():
    import matplotlib
    matplotlib.use("Agg")
    from posekit.methods import _comparison as comparison
    from posekit.profiles import PROFILES
    from posekit.train import History
    h = History([{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5, "val_mpjpe": 120.0},
                 {"epoch": 4, "loss": 0.4, "val_mpjpe": 100.0}])
    steps, mpjpe = comparison.learning_curve(h, 40)
    assert steps.tolist() == [80, 160] and mpjpe.tolist() == [120.0, 100.0]
    assert comparison.plateau_drop(h, 40) == pytest.approx(20.0)
    floors = {"mean_pose_MPJPE": 200.0, "lookup_MPJPE": 150.0}
    fig = comparison.plot_learning_curves({"A": [h, h], "B": [h]}, 40, floors, paper_total=100_000)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 + 1 + 1 + 1 + 2          # A: two seeds + mean, B: one seed + mean, two floors
    assert "100 k" in ax.get_xlabel()
    matplotlib.pyplot.close(fig)
    run = PROFILES["cpu"]
    assert "too small to judge" in comparison.floor_sentence({"A": 160.0, "B": 100.0}, floors, run, 100_000, 240)
    assert "below the nearest-neighbour lookup" in comparison.floor_sentence({"A": 140.0}, floors, run, 100_000, 240)


def test_qkv_similarity_of_a_plain_mixste_equals_ktpformer_without_priors():
    torch.manual_seed(0)
    small = kt.build("smoke", kinematic_prior=False, trajectory_prior=False).eval()
    ref = MixSTE(**kt.CONFIGS["smoke"]).eval()
    ref.load_state_dict(small.state_dict())
    x = torch.randn(1, 27, 17, 2)
    a, b = kt.qkv_similarity(small, x), kt.qkv_similarity(ref, x)
    for key in "QKV":
        assert torch.allclose(a[key], b[key], atol=1e-5)
