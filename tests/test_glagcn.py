"""GLA-GCN (posekit.methods.glagcn): parameter counts of the released model, shapes, the adaptive graph, the strided
stages, the individually connected layers, the global loss, one training step, clear errors, every figure (headless)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from posekit.methods import glagcn as g
from posekit.models import build_model, count_parameters
from posekit.skeleton import H36M_17


@pytest.mark.parametrize("frames, head, expected", [
    (243, "shared", 1_348_856),     # the official common/s_agcn.py at the released H36M configuration
    (81, "shared", 1_096_466),      # the same architecture at fewer stages, counted from the official code
    (27, "shared", 844_076),
    (243, "unshared", 1_353_512),
    (27, "unshared", 848_732),
])
def test_parameter_counts_of_the_released_architecture(frames, head, expected):
    model = g.build("paper", frames=frames, head=head, global_branch=False)
    assert count_parameters(model) == expected


def test_registry_variants():
    assert count_parameters(build_model("glagcn-released", "paper")) == 1_348_856
    full = build_model("glagcn", "paper")
    assert count_parameters(full) == 1_348_856 + count_parameters(full.reconstruct) == 1_352_645
    assert count_parameters(build_model("glagcn-unshared", "paper")) == 1_357_301


def _x(b=3, t=27):
    return torch.randn(b, t, 17, 2, generator=torch.Generator().manual_seed(0))


def test_output_shapes():
    model = g.build("smoke").eval()
    centre, seq = model(_x())
    assert centre.shape == (3, 1, 17, 3) and seq.shape == (3, 27, 17, 3)
    assert model.output == "center" and model.receptive_field == 27
    plain = g.build("smoke", global_branch=False).eval()
    assert plain(_x()).shape == (3, 1, 17, 3)


def test_partitions_follow_the_skeleton():
    a = g.partitions(H36M_17)
    assert a.shape == (3, 17, 17)
    assert np.allclose(a[0], np.eye(17))
    for child, parent in H36M_17.bones:                 # inward carries a parent's feature to its child
        assert a[1, parent, child] == 1.0
    col = a[2].sum(0)                                   # outward columns normalised (A D^-1)
    assert np.allclose(col[col > 0], 1.0)
    assert a[2][1, 0] == pytest.approx(1 / 3)           # the pelvis has three children


def test_adaptive_graph_parts():
    gcn = g.AdaptiveGraphConv(8, 8, g.partitions(), graph="adaptive")
    assert torch.allclose(gcn.B, torch.full((3, 17, 17), 1e-6))
    x1, x2 = torch.randn(2, 8, 5, 17), torch.randn(2, 8, 5, 17)
    c1 = gcn.similarity(x1)
    assert c1.shape == (2, 3, 17, 17)
    assert torch.allclose(c1.sum(-2), torch.ones(2, 3, 17), atol=1e-5)    # softmax over the first joint axis
    assert not torch.allclose(c1, gcn.similarity(x2))                     # data-dependent
    fixed = g.AdaptiveGraphConv(8, 8, g.partitions(), graph="fixed")
    assert fixed.B is None and not hasattr(fixed, "theta")
    assert torch.equal(fixed.adjacency(x1), fixed.A)
    learned = g.AdaptiveGraphConv(8, 8, g.partitions(), graph="learned")
    assert learned.B is not None and not hasattr(learned, "theta")


def test_fixed_graph_only_mixes_neighbours():
    torch.manual_seed(0)                                 # a ReLU may silence a neighbour for some random weights
    gcn = g.AdaptiveGraphConv(4, 4, g.partitions(), graph="fixed").eval()
    x = torch.zeros(1, 4, 3, 17)
    base = gcn(x)
    x[..., 13] = 1.0                                     # left wrist: its neighbours are itself and the left elbow
    changed = (gcn(x) - base).abs().sum((0, 1, 2)) > 0
    assert set(torch.nonzero(changed).flatten().tolist()) == {12, 13}


def test_strided_stages_shrink_time_by_three():
    model = g.build("smoke").eval()
    f = model.features(_x())
    assert f.shape == (3, model.channels, 27, 17)
    out, stages = model.strided(f, keep=True)
    assert [s.shape[2] for s in stages] == [9, 3, 1]
    stage = g.StridedStage(4, g.partitions(), 3)
    for p in stage.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(1, 4, 9, 17)
    assert torch.allclose(stage.eval()(x), x[:, :, 1::3])   # zero blocks leave the centre-frame residual


@pytest.mark.parametrize("shared", [True, False])
def test_individually_connected_layer_uses_only_its_joint(shared):
    head = g.IndividuallyConnected(6, 17, shared=shared)
    v = torch.randn(2, 6, 17)
    w = v.clone()
    w[:, :, 5] += 1.0
    diff = (head(w) - head(v)).abs().sum((0, 2))
    assert diff[5] > 0 and torch.all(diff[torch.arange(17) != 5] == 0)
    same = torch.randn(1, 6, 1).expand(1, 6, 17)             # the same feature at every joint
    out = head(same)
    assert torch.allclose(out[0, 0], out[0, 1]) == shared     # shared weights map it identically
    assert count_parameters(head) == (1 if shared else 17) * (6 * 3 + 3)


def test_fully_connected_head_mixes_joints():
    head = g.FullyConnectedHead(6, 17)
    v = torch.randn(2, 6, 17)
    w = v.clone()
    w[:, :, 5] += 1.0
    assert ((head(w) - head(v)).abs().sum((0, 2)) > 0).sum() > 1


def test_global_loss_uses_the_whole_window():
    centre, seq = torch.zeros(2, 1, 17, 3), torch.zeros(2, 27, 17, 3)
    target = torch.zeros(2, 27, 17, 3)
    target[:, 0, :, 0] = 0.27                               # only a non-centre frame is off
    assert g.glagcn_loss((centre, seq), target).item() == pytest.approx(0.01)
    assert g.glagcn_loss((centre, seq), target[:, 13:14]).item() == 0.0   # centre-only target: L_local only
    assert g.glagcn_loss(centre, target).item() == 0.0


def _tiny_dataset():
    from posekit.camera import Camera
    from posekit.data.dataset import PoseDataset, Sequence
    rng = np.random.default_rng(0)
    cam = Camera("c0", 1000, 1000, np.array([1000.0, 1000.0]), np.array([500.0, 500.0]))
    seqs = []
    for n in (40, 31):
        poses = rng.normal(0, 0.3, (n, 17, 3)).astype(np.float32)
        poses[:, 0] = 0
        seqs.append(Sequence("S1", f"Walk {n}", cam, 0, poses, np.zeros((n, 3), np.float32),
                             rng.normal(0, 0.3, (n, 17, 2)).astype(np.float32)))
    return PoseDataset("tiny", seqs)


def test_window_targets_and_random_move():
    from posekit.data.samplers import ClipBank
    ds = _tiny_dataset()
    bank, plain = g.WindowTargets(ds, 27), ClipBank(ds, 27, "center")
    idx = np.array([0, 5, len(bank) - 1])
    (x, y), (x0, y0) = bank.gather(idx), plain.gather(idx)
    assert y.shape == (3, 27, 17, 3) and torch.equal(x, x0) and torch.equal(y[:, 13:14], y0)
    moved = g.random_move(y.numpy(), np.random.default_rng(0))
    assert np.allclose(moved[..., 2], y.numpy()[..., 2])
    xy, mxy = y.numpy()[:, :, 1:, :2], moved[:, :, 1:, :2]          # joints off the root
    ratio = np.linalg.norm(mxy, axis=-1) / np.linalg.norm(xy, axis=-1)
    scale = ratio[:, 0, 0]
    assert np.allclose(ratio, scale[:, None, None], atol=1e-4)           # one rotation and scale per window
    assert np.abs(scale[:, None] - np.array([0.95, 1.0, 1.05])).min(1).max() < 1e-4


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = g.build("smoke", dropout=0.0)
    x, y = _x(4), torch.randn(4, 27, 17, 3) * 0.1
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    before = model.loss(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    assert model.loss(model(x), y).item() < before.item()


def test_bad_input_raises_clear_errors():
    model = g.build("smoke")
    with pytest.raises(ValueError, match="receptive field"):
        model(torch.randn(2, 81, 17, 2))
    with pytest.raises(ValueError, match="expected input"):
        model(torch.randn(2, 27, 16, 2))
    with pytest.raises(ValueError, match="power of 3"):
        g.build("smoke", frames=50)
    with pytest.raises(ValueError, match="head must be"):
        g.build("smoke", head="mlp")
    with pytest.raises(ValueError, match="graph must be"):
        g.build("smoke", graph="dense")


def test_fit_trains_with_window_targets_and_target_jitter():
    from posekit.train import TrainConfig
    model = g.build("smoke")
    config = TrainConfig(epochs=1, batch_size=4, max_train_windows=8, device="cpu", progress=False)
    history = g.fit(model, _tiny_dataset(), config, random_move=True)
    assert len(history.records) == 1 and np.isfinite(history.records[0]["loss"])


# ------------------------------------------------------------------ what the notebook draws (headless)

def test_receptive_fields_and_saliency():
    model = g.build("smoke")
    levels = g.receptive_fields(model)
    assert [len(p) for p in levels] == [27, 9, 3, 1] and levels[-1].tolist() == [13]
    assert levels[2].tolist() == [4, 13, 22]
    sal = g.input_saliency(model, model.example_input(1))
    assert sal.shape == (27,) and np.all(sal >= 0) and sal.sum() > 0
    assert model.training                                            # the mode is restored


def test_joint_dependency_of_the_heads():
    shared = g.joint_dependency(g.IndividuallyConnected(6, 17), 6)
    assert np.array_equal(shared, np.eye(17))                         # each joint from its own feature only
    assert g.joint_dependency(g.FullyConnectedHead(6, 17), 6).sum() == 17 * 17


def test_plot_partitions():
    fig = g.plot_partitions(g.partitions(), title="A_k")
    main = [ax for ax in fig.axes if ax.get_title()]
    assert len(fig.axes) == 6 and len(main) == 3                       # three heatmaps and their colour bars
    assert all(len(ax.images) == 1 for ax in main)
    assert main[1].get_title().startswith("inward") and main[0].get_xlabel() == "receiving joint"
    assert main[0].get_ylabel() == "sending joint" and len(main[0].get_xticks()) == 17
    assert fig._suptitle.get_text() == "A_k"
    plt.close(fig)


def test_plot_receptive_field():
    model = g.build("smoke")
    fig = g.plot_receptive_field(model, saliency=np.linspace(0.1, 1.0, 27))
    top, bottom = fig.axes
    assert len(top.collections) == 4                                  # one row of frames per level: 27, 9, 3, 1
    assert len(top.lines) == 9 + 3 + 1                                # each kept frame linked to its group
    assert [t.get_text() for t in top.get_yticklabels()][-1] == "after stage 3: T = 1"
    assert len(bottom.patches) == 27 and bottom.get_xlabel() == "input frame t"
    assert max(p.get_height() for p in bottom.patches) == pytest.approx(1.0)
    plt.close(fig)
    fig = g.plot_receptive_field(model, title="levels")
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "levels"
    plt.close(fig)


def test_plot_adjacencies():
    signed = np.eye(17) - 0.5
    fig = g.plot_adjacencies({"A_1 + B_1": g.partitions()[1], "C_1 (mean)": signed}, title="graphs")
    main = [ax for ax in fig.axes if ax.get_title()]
    assert len(fig.axes) == 4 and [ax.get_title() for ax in main] == ["A_1 + B_1", "C_1 (mean)"]
    assert main[0].images[0].get_cmap().name == "viridis"             # non-negative: one-sided colour map
    assert main[1].images[0].get_cmap().name == "RdBu_r"              # signed: diverging, symmetric limits
    assert main[1].images[0].get_clim() == (-0.5, 0.5)
    plt.close(fig)


@pytest.mark.parametrize("graph", ["adaptive", "learned", "fixed"])
def test_fused_graph_convolution_equals_the_per_branch_formula(graph):
    """The K branches run as one matmul and one convolution; the function is the official unit_gcn's, written out
    branch by branch: BN(sum_k W_k (x (A_k + B_k + C_k))) + down(x), ReLU; C_k from theta_k, phi_k."""
    torch.manual_seed(0)
    gcn = g.AdaptiveGraphConv(6, 8, g.partitions(), graph=graph, dropout=0.0).eval()
    with torch.no_grad():
        if gcn.B is not None:
            gcn.B.normal_()
        gcn.bn.weight.fill_(0.5)
        gcn.bn.running_mean.normal_()
        x = torch.randn(3, 6, 5, 17)
        b, c, t, j = x.shape
        y = 0
        for k, w in enumerate(gcn.W):
            adj = gcn.A[k] + (gcn.B[k] if gcn.B is not None else 0)
            if graph == "adaptive":
                a = gcn.theta[k](x).permute(0, 3, 1, 2).reshape(b, j, -1)
                s = torch.softmax(a @ gcn.phi[k](x).reshape(b, -1, j) / a.shape[-1], dim=-2)
                adj = adj + s
            y = y + w((x.reshape(b, c * t, j) @ adj).reshape(b, c, t, j))
        expected = torch.relu(gcn.bn(y) + gcn.down(x))
        assert torch.allclose(gcn(x), expected, atol=1e-5)


def test_flops_counter_sees_every_branch_convolution():
    """flops_linear hooks nn.Conv2d modules: every W_k, theta_k, phi_k must run as its module (9,875,232 FLOPs at
    the cpu size with the global branch, counted before the channels-last rewrite)."""
    from posekit import complexity
    assert complexity.flops_linear(build_model("glagcn", "cpu", frames=27)) == 9_875_232
