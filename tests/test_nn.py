import pytest
import torch

from posekit.complexity import flops_full, flops_linear, report
from posekit.models import build_model, count_parameters, model_names
from posekit.nn import Attention, DropPath


def test_mixste_parameter_count_matches_the_reference():
    # the official MixSTE2 (common/model_cross.py), 243 frames, width 512, depth 8 -> 33,783,811
    assert count_parameters(build_model("mixste", "paper")) == 33_783_811
    assert count_parameters(build_model("mixste", "paper", frames=81)) == 33_783_811 - 162 * 512


def test_mixste_flops_in_both_conventions_match_the_reference():
    model = build_model("mixste", "paper")
    assert flops_linear(model) / 1e9 == pytest.approx(277.25, abs=0.01)
    assert flops_full(model) / 1e9 == pytest.approx(294.85, abs=0.01)


@pytest.mark.parametrize("name,frames,out", [("mixste", 27, 27), ("tcn", 27, 1), ("mlp", 1, 1)])
def test_backbone_shapes(name, frames, out):
    model = build_model(name, "smoke", frames=frames)
    assert model.receptive_field == frames
    y = model(torch.randn(2, frames, 17, 2))
    assert y.shape == (2, out, 17, 3)


def test_tcn_receptive_field_and_longer_clips():
    model = build_model("tcn", "smoke", frames=81).eval()
    assert model.receptive_field == 81
    assert model(torch.randn(1, 90, 17, 2)).shape == (1, 10, 17, 3)
    with pytest.raises(ValueError, match="receptive field"):
        model(torch.randn(1, 30, 17, 2))
    with pytest.raises(ValueError, match="power of 3"):
        build_model("tcn", "smoke", frames=50)


def test_mixste_joint_separation_temporal_attention_is_per_joint():
    model = build_model("mixste", "smoke").eval()
    x = torch.randn(1, 27, 17, 2)
    y0 = model(x)
    x2 = x.clone()
    x2[0, 5, 3] += 1.0  # perturb one joint in one frame
    y1 = model(x2)
    assert (y1 - y0).abs().max() > 0  # the change spreads through space and time
    with pytest.raises(ValueError, match="built for"):
        model(torch.randn(1, 30, 17, 2))


def test_attention_map_is_kept_on_request_and_rows_sum_to_one():
    attn = Attention(16, heads=4)
    attn.keep_attention = True
    attn(torch.randn(3, 5, 16))
    assert attn.attention_map.shape == (3, 4, 5, 5)
    assert torch.allclose(attn.attention_map.sum(-1), torch.ones(3, 4, 5), atol=1e-5)
    attn.keep_attention = False
    x = torch.randn(2, 5, 16)
    fused = attn(x)
    from posekit.nn.layers import explicit_attention
    with explicit_attention():
        assert torch.allclose(attn(x), fused, atol=1e-5)


def test_drop_path_is_identity_in_eval_and_unbiased_in_train():
    dp = DropPath(0.5)
    x = torch.ones(20000, 1)
    assert torch.equal(dp.eval()(x), x)
    assert dp.train()(x).mean().item() == pytest.approx(1.0, abs=0.05)


def test_unknown_model_and_config_errors():
    with pytest.raises(KeyError, match="known"):
        build_model("posenet")
    with pytest.raises(ValueError, match="configuration"):
        build_model("mixste", "huge")


def test_report_counts_per_frame():
    row = report(build_model("mixste", "smoke"))
    assert row["params"] > 0 and row["flops_full"] >= row["flops_linear"] > 0
    assert row["flops_linear_per_frame"] == pytest.approx(row["flops_linear"] / 27)


def test_every_paper_model_builds_on_the_meta_device_without_allocating():
    """`with torch.device("meta")` builds the paper configurations from shapes alone, with the reference counts."""
    expected = {"mixste": 33_783_811, "ktpformer": 35_213_430, "hot": 35_000_323, "uao": 4_509_059,
                "convformer": 10_240_647, "glagcn-released": 1_348_856}
    for name in model_names():
        with torch.device("meta"):
            model = build_model(name, "paper")
        assert all(p.is_meta for p in model.parameters()), name
        if name in expected:
            assert count_parameters(model) == expected[name], name


@pytest.mark.parametrize("name", ["mixste", "ktpformer", "hot"])
def test_fused_and_matmul_attention_give_the_explicit_outputs(name):
    # The training kernels (fused scaled_dot_product_attention, batched matmuls, and 'auto', which picks one per
    # shape) must compute the explicit softmax(q k^T / sqrt(d)) v that the attention-map figures use.
    from posekit.nn.layers import attention_kernel, explicit_attention
    torch.manual_seed(0)
    model = build_model(name, "cpu").eval()
    for p in model.parameters():  # perturb: zero-initialised queries and positions would hide differences
        p.data.add_(0.02 * torch.randn_like(p))
    x = model.example_input(2)
    with torch.no_grad():
        torch.manual_seed(1)  # HoT's DPC-kNN breaks ties with random noise: the same draws in every pass
        with explicit_attention():
            reference = model(x)
        for kind in ("fused", "matmul", "auto"):
            torch.manual_seed(1)
            with attention_kernel(kind):
                assert torch.allclose(model(x), reference, atol=1e-5, rtol=0), kind
    with pytest.raises(ValueError, match="attention kernel"):
        with attention_kernel("flash"):
            pass
