"""UAO (posekit.methods.uao): parameter counts, shapes, the graph, the heteroscedastic loss, root estimation and
the test-time optimisation on constructed inputs."""
import numpy as np
import pytest
import torch

from posekit.camera import project
from posekit.methods import uao
from posekit.models import build_model, count_parameters
from posekit.skeleton import H36M_17

# the official model/model_Gaussian.py at its defaults: GUMLP, 3 blocks, width 512.
PAPER_PARAMS = 4_509_059
K9 = torch.tensor([2.29, 2.29, 0.025, 0.029, -0.207, 0.248, -0.003, -0.001, -0.0014])


def _pose(b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(b, 17, 3, generator=g) * 0.25
    p[:, 0] = 0
    return p


def test_parameter_count_paper():
    model = build_model("uao", "paper")
    assert count_parameters(model) == PAPER_PARAMS
    # the pieces, counted from the official model/model_Gaussian.py
    assert sum(p.numel() for p in model.embed.parameters()) == 33_472
    assert sum(p.numel() for p in model.blocks[0].parameters()) == 1_403_285
    assert sum(p.numel() for p in model.blocks[0].gcn.parameters()) == 1_050_624
    assert sum(p.numel() for p in model.head_mu.parameters()) == 132_099
    assert sum(p.numel() for p in model.head_s.parameters()) == 131_585
    assert "blocks.0.gcn.adjacency" in model.state_dict()  # a buffer, not a parameter


def test_adjacency_subsets():
    a = uao.uao_adjacency()
    assert a.shape == (4, 17, 17)
    np.testing.assert_allclose(a.sum((0, 1)), 1.0, atol=1e-6)          # column-normalised A D^-1
    assert [(a[k] > 0).sum() for k in range(4)] == [17, 16, 16, 12]     # self, closer, further, symmetric
    assert np.allclose(np.diag(a[0]), [1 / ((a[:, :, j] > 0).sum()) for j in range(17)])
    # official orientation: A[1, j, i] when the receiving joint i is closer to the spine than the sending joint j
    assert a[1, 9, 8] > 0 and a[2, 8, 9] > 0     # thorax (1 hop from the spine), neck (2 hops)
    assert a[3, 6, 3] > 0 and a[3, 3, 6] > 0     # the feet are linked


def test_shapes_and_errors():
    model = build_model("uao", "smoke").eval()
    mu, s = model(torch.randn(5, 1, 17, 2))
    assert mu.shape == (5, 1, 17, 3) and s.shape == (5, 1, 17, 1)
    mu, s = model(torch.randn(2, 3, 17, 2))                          # frames lifted one by one
    assert mu.shape == (2, 3, 17, 3)
    with pytest.raises(ValueError, match=r"\(B, T, 17, 2\)"):
        model(torch.randn(5, 17, 2))
    with pytest.raises(ValueError, match="single-frame"):
        build_model("uao", "smoke", frames=27)


def test_heteroscedastic_loss_optimum_and_root():
    target = _pose(3)[:, None]
    mu = target + 0.05 * torch.nn.functional.normalize(torch.randn_like(target), dim=-1)   # error 5 cm
    losses = {s: uao.heteroscedastic_loss((mu, torch.full(mu.shape[:-1], s)), target).item()
              for s in np.log([0.01, 0.05, 0.25])}
    assert min(losses, key=losses.get) == pytest.approx(np.log(0.05))    # minimum at s = log(error)
    # the root joint is left out: a huge root error changes nothing
    mu2 = mu.clone()
    mu2[..., 0, :] += 10
    s = torch.zeros(mu.shape[:-1])
    same = uao.heteroscedastic_loss((mu, s), target).item()
    assert uao.heteroscedastic_loss((mu2, s), target).item() == pytest.approx(same)
    with pytest.raises(TypeError):
        uao.heteroscedastic_loss(mu, target)
    with pytest.raises(ValueError):
        uao.heteroscedastic_loss((mu, s[..., :5]), target)


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model("uao", "smoke")
    x, y = torch.randn(64, 1, 17, 2) * 0.3, _pose(64)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.eval()  # no dropout noise between the two evaluations
    before = model.loss(model(x), y).item()
    model.train()
    opt.zero_grad()
    model.loss(model(x), y).backward()
    opt.step()
    model.eval()
    assert model.loss(model(x), y).item() < before


def test_estimate_root_recovers_translation():
    pose = _pose(6)
    root = torch.tensor([[0.3, -0.2, 4.5], [-0.5, 0.1, 5.5], [0.0, 0.0, 3.0],
                         [0.8, 0.3, 6.0], [-0.1, -0.4, 4.0], [0.2, 0.2, 5.0]])
    kp = project(pose + root[:, None], K9)                          # with distortion
    est = uao.estimate_root(pose, kp, K9)
    torch.testing.assert_close(est, root, atol=2e-3, rtol=0)
    plain = uao.estimate_root(pose, kp, K9, refine=0)             # no distortion correction: worse
    assert (plain - root).abs().max() > (est - root).abs().max()


class _Oracle(torch.nn.Module):
    """A 'network' whose output is a fixed pose plus a linear function of the 2D input, with chosen s."""
    output, receptive_field = "center", 1

    def __init__(self, pose, s):
        super().__init__()
        self.pose, self.s = pose, s
        self.lin = torch.nn.Linear(2, 3, bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([[0.5, 0.0], [0.0, 0.5], [0.0, 0.0]]))

    def forward(self, x):
        return self.pose[:, None] + self.lin(x), self.s.expand(x.shape[0], x.shape[1], 17)[..., None]


def test_tto_uncertainty_lets_uncertain_joints_move():
    pose = _pose(2)
    s = torch.zeros(1, 1, 17)
    s[..., 13] = 3.0                                                # the left wrist is uncertain
    model = _Oracle(pose, s)
    x = torch.zeros(2, 1, 17, 2)
    root = torch.tensor([[0.0, 0.0, 5.0], [0.1, 0.0, 5.0]])
    # a 2D input that disagrees with the pose everywhere: every joint wants to move
    out = {w: uao.test_time_optimize(model, x, K9, root=root, iterations=30, lr=0.01, w_g=5.0, flip=False,
                                     weighting=w) for w in uao.WEIGHTINGS}
    move = {w: (r.pose - r.initial).norm(dim=-1)[:, 0].mean(0) for w, r in out.items()}
    others = [j for j in range(1, 17) if j != 13]
    assert move["uncertainty"][13] > 2 * move["uncertainty"][others].mean()      # the uncertain joint moves most
    assert move["none"][others].mean() > move["uncertainty"][others].mean()      # the anchor holds the others
    # the projection loss falls; a parameter is not changed
    losses = out["uncertainty"].losses
    assert losses[-1]["projection"] < losses[0]["projection"]
    assert torch.equal(model.lin.weight, torch.tensor([[0.5, 0.0], [0.0, 0.5], [0.0, 0.0]]))
    assert all(p.requires_grad for p in model.parameters())


def test_tto_result_and_record():
    torch.manual_seed(0)
    model = build_model("uao", "smoke")
    x = torch.randn(3, 1, 17, 2) * 0.2
    res = uao.test_time_optimize(model, x, K9, iterations=4, record=(0, 2, 4), keep_latent=True)
    assert res.pose.shape == (3, 1, 17, 3) and res.root.shape == (3, 1, 3) and res.log_scale.shape == (3, 1, 17)
    assert sorted(res.history) == [0, 2, 4] and sorted(res.latent) == [0, 1, 2, 3, 4]
    assert torch.equal(res.history[4], res.pose) and torch.equal(res.history[0], res.initial)
    assert torch.all(res.pose[..., 0, :] == 0)
    # a 2-iteration run follows the same path
    short = uao.test_time_optimize(model, x, K9, iterations=2)
    torch.testing.assert_close(short.pose, res.history[2])
    zero = uao.test_time_optimize(model, x, K9, iterations=0)
    torch.testing.assert_close(zero.pose, zero.initial)
    assert model.training                                          # the mode is restored


def test_tto_errors():
    model = build_model("uao", "smoke")
    with pytest.raises(ValueError, match="weighting"):
        uao.TTOConfig(weighting="bayes")
    with pytest.raises(ValueError, match=r"\(B, T, J, 2\)"):
        uao.test_time_optimize(model, torch.zeros(3, 17, 2), K9)
    with pytest.raises(ValueError, match="record"):
        uao.test_time_optimize(model, torch.zeros(3, 1, 17, 2), K9, iterations=2, record=(4,))
    plain = build_model("mlp", "smoke")
    with pytest.raises(TypeError, match="log_scale"):
        uao.test_time_optimize(plain, torch.zeros(3, 1, 17, 2), K9)


# ---------------------------------------------------------------- figures (headless), one test per function

@pytest.fixture
def plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    yield pyplot
    pyplot.close("all")


def test_adjacency_figure(plt):
    from posekit.methods.uao import figures
    a = uao.uao_adjacency()
    fig = figures.adjacency_figure(a)
    assert len(fig.axes) == 4 and all(len(ax.images) == 1 for ax in fig.axes)       # one heatmap per subset
    assert [ax.get_title() for ax in fig.axes] == [f"A[{k}]: {s}" for k, s in enumerate(uao.SUBSETS)]
    assert {ax.images[0].get_clim() for ax in fig.axes} == {(0, a.max())}             # one colour scale
    assert fig.axes[0].get_ylabel() == "sending joint j" and fig.axes[3].get_xlabel() == "receiving joint i"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(H36M_17.joint_names)
    assert [t.get_text() for t in fig.axes[2].get_xticklabels()] == list(H36M_17.joint_names)
    with pytest.raises(ValueError, match="adjacency must be"):
        figures.adjacency_figure(a[:, :16, :16])


def test_calibration():
    from posekit.methods.uao import figures
    sigma = np.random.default_rng(0).uniform(5, 100, (300, 16))
    c = figures.calibration(sigma, 2 * sigma, bins=5)                    # error tracks sigma, twice as large
    assert c["rho"] == pytest.approx(1.0) and c["rho_joint"] == pytest.approx(1.0)
    assert len(c["bin_sigma"]) == 5 and np.all(np.diff(c["bin_sigma"]) > 0)
    np.testing.assert_allclose(c["bin_error"], 2 * c["bin_sigma"])
    assert figures.calibration(sigma, 1 / sigma)["rho"] == pytest.approx(-1.0)       # anti-calibrated
    with pytest.raises(ValueError, match=r"\(N, J\)"):
        figures.calibration(sigma, sigma[:, :15])


def test_calibration_figure(plt):
    from posekit.methods.uao import figures
    rng = np.random.default_rng(1)
    sigma = rng.uniform(5, 100, (300, 16))
    fig = figures.calibration_figure(sigma, sigma + rng.normal(0, 5, sigma.shape), H36M_17.joint_names[1:])
    left, right = fig.axes
    assert [ln.get_label() for ln in left.lines] == ["perfect calibration", "GUMLP (deciles of sigma)"]
    assert len(left.lines[1].get_xdata()) == 10                                         # one point per decile
    assert left.get_title().startswith("calibration, Spearman rho = 0.9")
    assert left.get_xlabel() == "predicted sigma = exp(s) (mm)"
    assert len(right.collections) == 1 and [t.get_text() for t in right.texts] == list(H36M_17.joint_names[1:])
    assert right.get_title().startswith("per joint, Spearman rho")
    with pytest.raises(ValueError, match="joint names"):
        figures.calibration_figure(sigma, sigma, H36M_17.joint_names)


def test_tto_sample_figure(plt):
    from posekit.camera import h36m_cameras, image_coordinates
    from posekit.methods.uao import figures
    cam = h36m_cameras("S1")[0]
    kp = np.random.default_rng(2).uniform(-0.5, 0.5, (17, 2))
    reprojection = np.stack([kp + 0.01 * k for k in range(5)])                          # iterations 0..4
    errors = {"UAO": [50, 46, 44, 43, 42], "projection only": [50, 52, 55, 56, 58]}
    fig = figures.tto_sample_figure(kp, 0.9 * kp, reprojection, errors, cam)
    before, after, curve = fig.axes
    assert before.get_title() == "2D reprojection before (iteration 0)"
    assert after.get_title() == "2D reprojection after 4 iterations"
    assert len(before.lines) == 3 * 16 + 3                          # 16 bones for each of three 2D sets + legend
    assert [t.get_text() for t in before.get_legend().get_texts()] == ["detector 2D (target)", "exact 2D",
                                                                        "UAO reprojection"]
    child, parent = H36M_17.bones[0]
    np.testing.assert_allclose(before.lines[0].get_xdata(),                             # drawn in pixels
                               image_coordinates(kp[[child, parent]], cam.res_w, cam.res_h)[:, 0])
    assert before.yaxis_inverted()
    assert [ln.get_label() for ln in curve.lines] == list(errors)
    assert list(curve.lines[1].get_ydata()) == errors["projection only"] and curve.get_xlabel() == "iteration"
    with pytest.raises(ValueError, match="S >= 1"):
        figures.tto_sample_figure(kp, kp, reprojection[:1], errors, cam)


def test_iteration_sweep_figure(plt):
    from posekit.methods.uao import figures
    gains = {"synth": {"UAO": [[0, 1, 2], [0, 1.5, 2.5]], "projection only": [[0, -1, -2], [0, -1, -3]]},
             "synth-3dhp": {"UAO": [[0, 1, 1]]}}
    fig = figures.iteration_sweep_figure(gains, [0, 2, 4], paper_iterations=4, titles={"synth": "trained here"})
    a, b = fig.axes
    assert a.get_title() == "trained here" and b.get_title() == "synth-3dhp"
    arms = [ln for ln in a.lines if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in arms] == ["UAO", "projection only", "direct prediction"]
    np.testing.assert_allclose(arms[0].get_ydata(), [0, 1.25, 2.25])                    # mean over seeds
    assert arms[0].get_color() == "tab:blue" and arms[1].get_color() == "tab:red"
    assert len(a.collections) == 2 and len(b.collections) == 0                         # std bands need 2 seeds
    assert a.get_xscale() == "symlog" and [t.get_text() for t in a.get_xticklabels()] == ["0", "2", "4"]
    assert a.get_xlabel() == "TTO iterations (paper: 4)"
    with pytest.raises(ValueError, match=r"\(seeds, 3\)"):
        figures.iteration_sweep_figure({"synth": {"UAO": [[0, 1]]}}, [0, 2, 4])
