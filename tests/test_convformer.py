"""ConvFormer (posekit.methods.convformer): parameter counts of the paper, shapes, the convolutional Q/K/V's
receptive fields, the dynamic aggregation, one training step, input errors, every figure (headless)."""
import matplotlib
import pytest
import torch

from posekit.methods import convformer as cf
from posekit.models import build_model, count_parameters

matplotlib.use("Agg")

# Table 5 of the paper (2.56 / 2.65 / 3.43 / 5.24 / 10.24 M); exact values of the reconstruction
TABLE5 = {9: 2_560_533, 27: 2_653_647, 81: 3_430_653, 143: 5_243_347, 243: 10_240_647}
TABLE5_PAPER = {9: 2.56, 27: 2.65, 81: 3.43, 143: 5.24, 243: 10.24}


@pytest.mark.parametrize("frames", sorted(TABLE5))
def test_parameter_counts_table5(frames):
    n = count_parameters(cf.build("paper", frames=frames))
    assert n == TABLE5[frames] == cf.parameter_count(frames)
    assert round(n / 1e6, 2) == TABLE5_PAPER[frames]


def test_flops_in_the_papers_convention():
    from posekit.complexity import flops_linear
    # Table 5: about 100 MFLOPs at T = 9; FLOP counting runs the three convolutions of Eq. 6, as the paper counts them
    assert 95e6 < flops_linear(cf.build("paper", frames=9)) < 100e6


def test_parameter_counts_ablation_tables():
    # Table 4: one kernel of 7 -> 2.47 M, one kernel of 3 -> 2.44 M; Table 3: 32/2/4 -> 4.95 M, 32/4/2 -> 2.70 M
    assert round(count_parameters(cf.build_single("paper", frames=9)) / 1e6, 2) == 2.47
    assert round(count_parameters(cf.build("paper", frames=9, kernels=(3,))) / 1e6, 2) == 2.44
    assert round(count_parameters(cf.build("paper", frames=9, temporal_depth=4)) / 1e6, 2) == 4.95
    assert round(count_parameters(cf.build("paper", frames=9, spatial_depth=4)) / 1e6, 2) == 2.70
    # the number of heads does not change the count (Table 3)
    assert count_parameters(cf.build("paper", frames=9, heads=1)) == TABLE5[9]


def test_registry_and_shapes():
    x = torch.randn(2, 9, 17, 2)
    for name in ("convformer", "convformer-single", "convformer-linear"):
        m = build_model(name, "smoke").eval()
        assert m.output == "center" and m.receptive_field == 9
        assert m(x).shape == (2, 1, 17, 3)
    m = cf.build("cpu").eval()
    z = m.embed(x)
    assert z.shape == (18, 17, 16)
    z = m.spatial(z)
    assert z.shape == (18, 17, 16)
    t = m.to_temporal(z)
    assert t.shape == (2, 9, 17 * 16)
    assert m.temporal(t).shape == (2, 9, 17 * 16)
    assert m.head(m.temporal(t)).shape == (2, 1, 17, 3)


def _jacobian_support(f, x, out_index):
    """Which input entries the output entry out_index of f(x) depends on (|gradient| > 0)."""
    x = x.clone().requires_grad_(True)
    f(x)[out_index].backward()
    return x.grad.abs() > 0


def test_spatial_conv_qkv_sees_neighbouring_joints():
    torch.manual_seed(0)
    conv = cf.ConvAttention(8, 17, heads=2, stream="spatial", qkv="conv", kernels=(7, 7, 7))
    lin = cf.ConvAttention(8, 17, heads=2, stream="spatial", qkv="linear")
    x = torch.randn(1, 17, 8)
    support = _jacobian_support(lambda v: conv.project(v)[0], x, (0, 8, 0)).any(-1)[0]  # query of joint 8
    assert support.nonzero().flatten().tolist() == list(range(5, 12))  # joints 8 +- 3 in index order
    support = _jacobian_support(lambda v: lin.project(v)[0], x, (0, 8, 0)).any(-1)[0]
    assert support.nonzero().flatten().tolist() == [8]
    # zero padding at the ends: joint 0 sees joints 0..3
    support = _jacobian_support(lambda v: conv.project(v)[0], x, (0, 0, 0)).any(-1)[0]
    assert support.nonzero().flatten().tolist() == [0, 1, 2, 3]


def test_temporal_joints_profile_sees_all_frames_of_neighbouring_features():
    torch.manual_seed(0)
    frames, width = 9, 40
    conv = cf.ConvAttention(width, frames, heads=4, stream="temporal", qkv="conv", kernels=(7, 7, 7))
    lin = cf.ConvAttention(width, frames, heads=4, stream="temporal", qkv="linear")
    x = torch.randn(1, frames, width)
    s = _jacobian_support(lambda v: conv.project(v)[1], x, (0, 4, 20))[0]  # key of frame 4, feature 20
    assert s.any(1).all()                                                # every frame
    assert s.any(0).nonzero().flatten().tolist() == list(range(17, 24))  # features 20 +- 3
    s = _jacobian_support(lambda v: lin.project(v)[1], x, (0, 4, 20))[0]
    assert s.any(1).nonzero().flatten().tolist() == [4]                  # only its own frame
    assert s.any(0).all()                                                # but every feature
    assert isinstance(conv.proj, torch.nn.Conv1d) and conv.proj.in_channels == frames


def test_projection_support_helper():
    m = cf.build("smoke")
    s = cf.projection_support(m.spatial_blocks[0].attn, token=8, channel=0)
    assert s.shape == (17, 8) and (s.sum(1) > 0).nonzero().flatten().tolist() == list(range(5, 12))
    t = cf.projection_support(m.temporal_blocks[0].attn, token=4, channel=60, which="v")
    assert t.shape == (9, 136) and (t.sum(0) > 0).nonzero().flatten().tolist() == list(range(57, 64))


@pytest.mark.parametrize("mode", ["softmax", "normalized"])
def test_dynamic_aggregation_weights_sum_to_one(mode):
    dc = cf.DynamicConv1d(4, 4, (3, 5, 7), eta=mode)
    with torch.no_grad():
        dc.eta_param.copy_(torch.tensor([0.3, -1.0, 2.0]) if mode == "softmax" else torch.tensor([0.2, 0.5, 1.3]))
    assert torch.allclose(dc.eta.sum(), torch.tensor(1.0))
    assert (dc.eta > 0).all()
    assert cf.DynamicConv1d(4, 4, (7,)).eta_param is None


def test_fused_equals_eq6_outputs_and_gradients():
    torch.manual_seed(0)
    dc = cf.DynamicConv1d(5, 6, (3, 5, 7), eta="softmax")
    with torch.no_grad():
        dc.eta_param.copy_(torch.tensor([0.5, -0.2, 1.0]))
    x = torch.randn(2, 5, 20)
    grads = []
    for fused in (True, False):
        dc.fused = fused
        dc.zero_grad()
        y = dc(x)
        (y ** 2).sum().backward()
        grads.append((y.detach(), [p.grad.clone() for p in dc.parameters()]))
    (y1, g1), (y2, g2) = grads
    assert torch.allclose(y1, y2, atol=1e-5)
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-4)
    # and the merged single convolution computes the same function
    assert torch.allclose(dc.merged()(x), y2, atol=1e-5)


def test_attention_maps_and_eta_inspection():
    m = cf.build("smoke").eval()
    m.keep_attention(True)
    m(torch.randn(3, 9, 17, 2))
    maps = {k: a.attention_map for k, a in m.attention_modules().items()}
    assert maps["spatial.0"].shape == (27, 4, 17, 17) and maps["temporal.1"].shape == (3, 4, 9, 9)
    assert torch.allclose(maps["temporal.0"].sum(-1), torch.ones(3, 4, 9))
    eta = m.eta()
    assert len(eta) == 12 and all(torch.allclose(v, torch.full((3,), 1 / 3)) for v in eta.values())


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    m = cf.build("smoke")
    x, y = torch.randn(16, 9, 17, 2), 0.3 * torch.randn(16, 1, 17, 3)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)

    def loss():
        return torch.linalg.norm(m(x) - y, dim=-1).mean()
    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    assert loss().item() < before.item()
    assert m.spatial_blocks[0].attn.q.eta_param.grad is not None


def test_bad_input_raises_clear_errors():
    m = cf.build("smoke")
    with pytest.raises(ValueError, match="exactly 9 frames"):
        m(torch.randn(2, 27, 17, 2))
    with pytest.raises(ValueError, match=r"\(B, 9, 17, 2\)"):
        m(torch.randn(2, 9, 16, 2))
    with pytest.raises(ValueError, match=r"\(B, 9, 17, 2\)"):
        m(torch.randn(9, 17, 2))
    with pytest.raises(ValueError, match="divisible"):
        cf.build("smoke", heads=3)
    with pytest.raises(ValueError, match="eta"):
        cf.build("smoke", eta="sigmoid")
    with pytest.raises(ValueError, match="configuration"):
        cf.build("laptop")


def test_plot_projection_support_conv_band_against_linear_row():
    from posekit.skeleton import H36M_17
    models = {"conv": cf.build("smoke"), "linear": cf.build_linear("smoke")}
    fig = cf.plot_projection_support(models, H36M_17.joint_names, joint=8, title="support")
    assert len(fig.axes) == 4 and fig._suptitle.get_text() == "support"
    conv_s, lin_s, conv_t, lin_t = fig.axes
    assert [p.get_height() for p in conv_s.patches] == [0.0] * 5 + [1.0] * 7 + [0.0] * 5   # joints 8 +- 3
    assert [p.get_height() for p in lin_s.patches] == [0.0] * 8 + [1.0] + [0.0] * 8
    assert conv_s.get_title().startswith("spatial, conv") and "Thorax" in conv_s.get_title()
    conv_map, lin_map = conv_t.images[0].get_array(), lin_t.images[0].get_array()
    assert conv_map.shape == lin_map.shape == (9, 136) and conv_t.get_ylabel() == "input frame"
    assert conv_map.any(1).all() and conv_map.any(0).nonzero()[0].tolist() == list(range(65, 72))  # feature 68 +- 3
    assert lin_map.any(1).nonzero()[0].tolist() == [4] and lin_map.any(0).all()
    assert len(conv_t.lines) == 16                                  # a separator between the joints' feature blocks
    with pytest.raises(ValueError, match="joint_names"):
        cf.plot_projection_support(models, H36M_17.joint_names[:5], joint=8)
    matplotlib.pyplot.close(fig)


def test_plot_parameter_growth_against_table5():
    fig = cf.plot_parameter_growth(title="growth")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_title() == "growth" and ax.get_ylabel() == "parameters (M)"
    ours, paper = ax.lines
    assert list(ours.get_xdata()) == list(TABLE5) and list(ours.get_ydata()) == pytest.approx(
        [n / 1e6 for n in TABLE5.values()])
    assert list(paper.get_ydata()) == list(TABLE5_PAPER.values())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["reconstruction (posekit)", "paper, Table 5"]
    matplotlib.pyplot.close(fig)


def test_eval_mode_fuses_and_flop_counting_runs_eq6():
    torch.manual_seed(1)
    dc = cf.DynamicConv1d(3, 4, (3, 5, 7)).eval()
    x = torch.randn(2, 3, 11)
    with torch.no_grad():
        fused = dc(x)
        dc.fused = False
        eq6 = dc(x)
        dc.fused = True
        calls = []
        for conv in dc.convs:                 # a FLOP counter's hooks: Eq. 6 runs as written
            conv.register_forward_hook(lambda *a: calls.append(1))
        hooked = dc(x)
    assert len(calls) == 3
    assert torch.allclose(fused, eq6, atol=1e-5) and torch.allclose(hooked, eq6, atol=1e-6)


def test_multiscale_mix_and_parameter_matched_baseline():
    # the multi-scale mix (3, 5, 7) of the notebook: the closed form holds for kernels of different sizes
    m = cf.build("cpu", kernels=(3, 5, 7))
    assert count_parameters(m) == cf.parameter_count(9, dim=16, kernels=(3, 5, 7)) == 646_769
    # the notebook's parameter-matched linear baseline (width 12, heads of 2 channels) is within 6 % of it
    lin = cf.build_linear("cpu", dim=12, heads=6)
    assert abs(count_parameters(lin) / count_parameters(m) - 1) < 0.065
    assert lin(lin.example_input(2)).shape == (2, 1, 17, 3)
