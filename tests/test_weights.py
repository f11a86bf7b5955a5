"""Importing the papers' released checkpoints (posekit.weights).

The official state dicts below are written from the official model definitions' key names and tensor shapes
(MixSTE common/model_cross.py MixSTE2; KTPFormer common/model_ktpformer.py; HoT model/mixste/hot_mixste.py; UAO
model/model_Gaussian.py; GLA-GCN common/s_agcn.py + common/agcn.py; VideoPose3D common/model.py), independently of
posekit.weights' name maps, filled with random values and wrapped as the official scripts save them.
"""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from posekit import models
from posekit.cli import main as cli_main
from posekit.weights import LAYOUTS, CheckpointMismatch, import_official, load, save

G = torch.Generator().manual_seed(0)


def rnd(*shape):
    return torch.randn(*shape, generator=G)


def linear(sd, name, out, inp, bias=True):
    sd[f"{name}.weight"] = rnd(out, inp)
    if bias:
        sd[f"{name}.bias"] = rnd(out)


def norm(sd, name, n):
    sd[f"{name}.weight"], sd[f"{name}.bias"] = rnd(n), rnd(n)


def bn(sd, name, n):
    norm(sd, name, n)
    sd[f"{name}.running_mean"], sd[f"{name}.running_var"] = rnd(n), torch.rand(n, generator=G) + 0.5
    sd[f"{name}.num_batches_tracked"] = torch.tensor(1000)


def vit_block(sd, name, dim, hidden):
    norm(sd, f"{name}.norm1", dim)
    linear(sd, f"{name}.attn.qkv", 3 * dim, dim)
    linear(sd, f"{name}.attn.proj", dim, dim)
    norm(sd, f"{name}.norm2", dim)
    linear(sd, f"{name}.mlp.fc1", hidden, dim)
    linear(sd, f"{name}.mlp.fc2", dim, hidden)


def official_mixste(frames=27, dim=32, depth=2, joints=17):
    sd = {}
    linear(sd, "Spatial_patch_to_embedding", dim, 2)
    sd["Spatial_pos_embed"], sd["Temporal_pos_embed"] = rnd(1, joints, dim), rnd(1, frames, dim)
    for i in range(depth):
        vit_block(sd, f"STEblocks.{i}", dim, 2 * dim)
        vit_block(sd, f"TTEblocks.{i}", dim, 2 * dim)
    norm(sd, "Spatial_norm", dim)
    norm(sd, "Temporal_norm", dim)
    norm(sd, "head.0", dim)
    linear(sd, "head.1", 3, dim)
    return sd


def graph_conv(sd, name, inp, out, nodes):
    sd[f"{name}.W"], sd[f"{name}.M"] = rnd(2, inp, out), rnd(nodes, out)
    sd[f"{name}.adj2"], sd[f"{name}.bias"] = rnd(nodes, nodes), rnd(out)


def official_ktpformer(frames=27, dim=32, dep=1):
    sd = {}
    for attn, gcn, pos, n in (("kpattention", "kpa", "Spatial_pos_embed", 17),
                              ("tpattention", "tpa", "Temporal_pos_embed", frames)):
        vit_block(sd, attn, dim, 2 * dim)   # norm1, attn.qkv, attn.proj land in the attention module below
        for part in ("norm1", "attn.qkv", "attn.proj"):
            for p in ("weight", "bias"):
                sd[f"{attn}.attn.{part.replace('attn.', '')}.{p}"] = sd.pop(f"{attn}.{part}.{p}")
        sd[f"{attn}.attn.{pos}"] = rnd(1, n, dim)
        if gcn == "kpa":
            graph_conv(sd, f"{attn}.attn.kpa.gconv", 2, dim, 17)
            bn(sd, f"{attn}.attn.kpa.bn", dim)
        else:
            for g in ("gconv1", "gconv2"):
                graph_conv(sd, f"{attn}.attn.tpa.{g}.gconv", dim, dim, frames)
                bn(sd, f"{attn}.attn.tpa.{g}.bn", dim)
    for i in range(dep):
        vit_block(sd, f"STEblocks.{i}", dim, 2 * dim)
        vit_block(sd, f"TTEblocks.{i}", dim, 2 * dim)
    for n in ("Spatial_norm", "Temporal_norm", "head.0"):
        norm(sd, n, dim)
    linear(sd, "head.1", 3, dim)
    return sd


def official_hot(frames=27, dim=32, depth=2, tokens=9):
    sd = official_mixste(frames, dim, depth)
    sd["pos_embed_token"], sd["x_token"] = rnd(1, tokens, dim), rnd(1, frames, dim)
    for p in ("linear_q", "linear_k", "linear_v", "proj"):
        linear(sd, f"cross_attention.{p}", dim, dim)
    return sd


def official_uao(layers=3):
    sd = {}
    linear(sd, "encoder.fc1", 64, 2)
    linear(sd, "encoder.fc5", 512, 64)
    for i in range(layers):
        b = f"GCN_MLP.blocks.{i}"
        norm(sd, f"{b}.norm1", 17)
        sd[f"{b}.gcn1.conv1d.weight"], sd[f"{b}.gcn1.conv1d.bias"] = rnd(2048, 512, 1), rnd(2048)
        norm(sd, f"{b}.norm2", 512)
        for name, o, i_ in (("down", 256, 512), ("mid", 256, 256), ("up", 512, 256)):
            linear(sd, f"{b}.channel_mlp.linear_{name}.linear.0", o, i_)
        norm(sd, f"{b}.norm3", 17)
        for name, o, i_ in (("up1", 51, 17), ("up2", 102, 51), ("mid", 102, 102), ("down1", 51, 102),
                            ("down2", 17, 51)):
            linear(sd, f"{b}.spatial_mlp.linear_{name}.linear.0", o, i_)
    norm(sd, "GCN_MLP.norm_mu", 512)
    norm(sd, "GCN_MLP.norm_s", 512)
    for head, out in (("pred_mu", 3), ("pred_s", 1)):
        linear(sd, f"{head}.fc1", 256, 512)
        linear(sd, f"{head}.fc5", out, 256)
    return sd


def agcn_unit(sd, name, inp, out, residual):
    inter = out // 4 or 3
    sd[f"{name}.gcn1.PA"] = rnd(3, 17, 17)
    for k in range(3):
        for conv, o in (("conv_a", inter), ("conv_b", inter), ("conv_d", out)):
            sd[f"{name}.gcn1.{conv}.{k}.weight"], sd[f"{name}.gcn1.{conv}.{k}.bias"] = rnd(o, inp, 1, 1), rnd(o)
    if inp != out:
        sd[f"{name}.gcn1.down.0.weight"], sd[f"{name}.gcn1.down.0.bias"] = rnd(out, inp, 1, 1), rnd(out)
        bn(sd, f"{name}.gcn1.down.1", out)
    bn(sd, f"{name}.gcn1.bn", out)
    sd[f"{name}.tcn1.conv.weight"], sd[f"{name}.tcn1.conv.bias"] = rnd(out, out, 9, 1), rnd(out)
    bn(sd, f"{name}.tcn1.bn", out)
    if residual:
        sd[f"{name}.residual.conv.weight"], sd[f"{name}.residual.conv.bias"] = rnd(out, inp, 1, 1), rnd(out)
        bn(sd, f"{name}.residual.bn", out)


def official_glagcn(channels=8, stages=3):
    sd = {}
    bn(sd, "data_bn", 34)
    agcn_unit(sd, "expand_gcn", 2, channels, residual=True)
    for i in range(stages):
        agcn_unit(sd, f"layers_tcngcn.{2 * i}", channels, channels, residual=False)     # identity residual
        agcn_unit(sd, f"layers_tcngcn.{2 * i + 1}", channels, channels, residual=False)  # residual=False
    sd["fc.weight"], sd["fc.bias"] = rnd(3, channels, 1), rnd(3)
    return sd


def official_tcn(widths=(3, 3, 3), channels=64, joints=17):
    sd = {"expand_conv.weight": rnd(channels, 2 * joints, widths[0])}
    bn(sd, "expand_bn", channels)
    for i, w in enumerate(widths[1:]):
        sd[f"layers_conv.{2 * i}.weight"] = rnd(channels, channels, w)
        bn(sd, f"layers_bn.{2 * i}", channels)
        sd[f"layers_conv.{2 * i + 1}.weight"] = rnd(channels, channels, 1)
        bn(sd, f"layers_bn.{2 * i + 1}", channels)
    linear(sd, "shrink", 3 * joints, channels)
    sd["shrink.weight"] = sd["shrink.weight"][:, :, None]
    return sd


def training_checkpoint(sd, data_parallel):
    """{'epoch', 'lr', 'random_state', 'optimizer', 'model_pos'} as MixSTE / KTPFormer / GLA-GCN / VideoPose3D save."""
    return {"epoch": 80, "lr": 1e-5, "random_state": np.random.RandomState(1234).get_state(),
            "optimizer": {"state": {}, "param_groups": [{"lr": 1e-5, "params": [0, 1]}]},
            "model_pos": {("module." if data_parallel else "") + k: v for k, v in sd.items()}}


CASES = {  # method: (official state dict, how the official script saves it, build keywords the file cannot tell)
    "mixste": (official_mixste, lambda sd: training_checkpoint(sd, True), {}),
    "ktpformer": (official_ktpformer, lambda sd: training_checkpoint(sd, True), {}),
    "hot": (official_hot, lambda sd: sd, {"prune_layer": 1}),
    "hot-tpc": (official_mixste, lambda sd: sd, {"tokens": 7, "prune_layer": 1}),
    "uao": (official_uao, lambda sd: sd, {}),
    "glagcn-released": (official_glagcn, lambda sd: training_checkpoint(sd, True), {}),
    "tcn": (official_tcn, lambda sd: {**training_checkpoint(sd, False), "model_traj": None}, {}),
}


@pytest.fixture(autouse=True)
def _seed():
    G.manual_seed(0)   # every test draws the same official values, whatever ran before


def fingerprint(t: torch.Tensor):
    return round(float(t.double().abs().sum()), 6)


def example_input(model, batch=2):
    return torch.randn(batch, model.receptive_field, 17, 2, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("method", sorted(CASES))
def test_import_is_complete_and_matches(method, tmp_path):
    make, wrap, extra = CASES[method]
    official = make()
    path = tmp_path / f"{method}.bin"
    torch.save(wrap(official), path)
    model, card = import_official(method, path, **extra)
    state = model.state_dict()
    # every official tensor lands in the model, every posekit tensor comes from the file (or is a fixed constant)
    got = {fingerprint(v) for v in state.values()}
    assert all(fingerprint(v) in got for v in official.values()), "an official tensor was not imported"
    derived = [k for k in state if LAYOUTS[method].official_name(k) is None]
    want = {fingerprint(v) for v in official.values()}
    assert all(fingerprint(state[k]) in want for k in state if k not in derived)
    assert card["parameters"] == models.count_parameters(model)
    data_parallel = method in ("mixste", "ktpformer", "glagcn-released")
    assert card["source"]["sha256"] and card["source"]["prefix"] == ("module." if data_parallel else "")
    # the posekit checkpoint gives the same model back, outputs identical
    out = save(model, card, tmp_path / "model.pt")
    again, card2 = load(out)
    x = example_input(model)
    for m in (model, again):
        if hasattr(m, "tpc"):   # HoT's tie-breaking noise: the same draws for both
            m.tpc.generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        a, b = model(x), again(x)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert torch.equal(a, b) and torch.isfinite(a).all()
    assert card2["checkpoint_sha256"] and card2["options"] == card["options"]


def test_names_land_where_the_official_code_uses_them(tmp_path):
    sd = official_ktpformer()
    torch.save(training_checkpoint(sd, True), tmp_path / "k.bin")
    m, card = import_official("ktpformer", tmp_path / "k.bin")
    assert torch.equal(m.spatial_blocks[0].norm1.weight, sd["kpattention.attn.norm1.weight"])
    assert torch.equal(m.spatial_blocks[0].mlp.fc1.weight, sd["kpattention.mlp.fc1.weight"])
    assert torch.equal(m.spatial_blocks[1].attn.qkv.weight, sd["STEblocks.0.attn.qkv.weight"])
    assert torch.equal(m.tpa.gconv2.gconv.adj2, sd["tpattention.attn.tpa.gconv2.gconv.adj2"])
    assert torch.equal(m.temporal_pos, sd["tpattention.attn.Temporal_pos_embed"])
    assert m.depth == 2 and m.receptive_field == 27
    # official_ln_eps: layer 0's pre-attention norms at PyTorch's default eps, the rest at 1e-6
    assert card["options"] == {"official_ln_eps": True}
    assert m.spatial_blocks[0].norm1.eps == 1e-5 and m.temporal_blocks[0].norm1.eps == 1e-5
    assert m.spatial_blocks[0].norm2.eps == 1e-6 and m.spatial_blocks[1].norm1.eps == 1e-6


def test_glagcn_head_is_the_official_conv1d(tmp_path):
    sd = official_glagcn()
    torch.save(training_checkpoint(sd, True), tmp_path / "g.bin")
    m, _ = import_official("glagcn-released", tmp_path / "g.bin")
    v = torch.randn(4, 8, 17)
    # official: for each joint i, fc(pose_3d_[:, :, :, i].mean(2).view(N, -1, 1)), a Conv1d(C, 3, 1)
    ref = torch.stack([torch.nn.functional.conv1d(v[:, :, i:i + 1], sd["fc.weight"], sd["fc.bias"])[:, :, 0]
                       for i in range(17)], 1)
    assert torch.allclose(m.head(v), ref, atol=1e-6)


def test_tcn_sizes_from_the_file(tmp_path):
    torch.save(training_checkpoint(official_tcn((3, 3, 3, 3), 16), False), tmp_path / "t.bin")
    m, card = import_official("tcn", tmp_path / "t.bin")
    assert m.receptive_field == 81 and card["build"]["channels"] == 16 and card["frames"] == 81


def test_hot_official_cdist(tmp_path):
    torch.save(official_hot(), tmp_path / "h.pth")
    m, card = import_official("hot", tmp_path / "h.pth", prune_layer=1)
    exact, _ = import_official("hot", tmp_path / "h.pth", prune_layer=1, options={})
    assert card["options"] == {"official_cdist": True}
    x = example_input(m)
    with torch.no_grad():
        feats = m.features(x).mean(dim=2)                       # the frame features TPC clusters
        for model in (m, exact):
            model.tpc.generator = torch.Generator().manual_seed(0)
            assert model(x).shape == (2, 27, 17, 3)
    c = feats.shape[-1] ** 0.5
    # the official option uses torch.cdist's default (matrix-product) formula, posekit the exact one
    assert torch.equal(m.tpc.last.distance_matrix, torch.cdist(feats, feats) / c)
    assert torch.equal(exact.tpc.last.distance_matrix,
                       torch.cdist(feats, feats, compute_mode="donot_use_mm_for_euclid_dist") / c)
    assert (m.tpc.last.distance_matrix - exact.tpc.last.distance_matrix).abs().max() < 1e-3
    # and nothing else differs: the option only switches dpc_knn's distance formula
    from posekit.methods.hot import dpc_knn
    for keep in (None, 13):
        ours = dpc_knn(feats, 9, 2, keep, torch.Generator().manual_seed(0), exact=False)
        ref = dpc_knn(feats, 9, 2, keep, torch.Generator().manual_seed(0))
        assert torch.equal(ours.distance_matrix, torch.cdist(feats, feats) / c)
        assert (ours.distance_matrix - ref.distance_matrix).abs().max() < 1e-3


def test_refusal_lists_missing_unexpected_and_misshaped(tmp_path):
    sd = official_mixste()
    del sd["STEblocks.1.mlp.fc2.bias"]
    sd["STEblocks.0.attn.rel_pos"] = rnd(3)
    sd["TTEblocks.0.attn.proj.weight"] = rnd(16, 32)
    torch.save(training_checkpoint(sd, True), tmp_path / "bad.bin")
    with pytest.raises(CheckpointMismatch) as exc:
        import_official("mixste", tmp_path / "bad.bin")
    msg = str(exc.value)
    assert "1 missing: STEblocks.1.mlp.fc2.bias" in msg
    assert "1 unexpected: STEblocks.0.attn.rel_pos" in msg
    assert "1 mis-shaped: TTEblocks.0.attn.proj.weight [16, 32] (expected [32, 32])" in msg
    assert exc.value.missing == ["STEblocks.1.mlp.fc2.bias"]


def test_wrong_method_is_refused_with_the_key_lists(tmp_path):
    torch.save(official_hot(), tmp_path / "hot.pth")
    with pytest.raises(CheckpointMismatch) as exc:
        import_official("mixste", tmp_path / "hot.pth")
    assert "unexpected: " in str(exc.value) and "x_token" in str(exc.value)


def test_untrusted_pickle_is_refused(tmp_path):
    torch.save({"model_pos": official_tcn(), "args": argparse.Namespace(lr=1e-3)}, tmp_path / "odd.bin")
    with pytest.raises(ValueError, match="trust"):
        import_official("tcn", tmp_path / "odd.bin")
    model, _ = import_official("tcn", tmp_path / "odd.bin", trust=True)
    assert model.receptive_field == 27


def test_cli_import(tmp_path, capsys):
    torch.save(training_checkpoint(official_mixste(), True), tmp_path / "best_epoch.bin")
    out = tmp_path / "mixste.pt"
    assert cli_main(["import", "mixste", str(tmp_path / "best_epoch.bin"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sha256" in printed and out.is_file()
    model, card = load(out, "mixste")
    assert card["source"]["file"] == "best_epoch.bin" and card["frames"] == 27
    assert cli_main(["import", "mixste", str(tmp_path / "missing.bin"), "--out", str(out)]) == 2


PAPER = {  # the official configurations of the released models (run scripts' defaults / README commands)
    "mixste": (lambda: official_mixste(243, 512, 8), {}),
    "ktpformer": (lambda: official_ktpformer(243, 512, 7), {}),
    "hot": (lambda: official_hot(243, 512, 8, 81), {}),
    "hot-tpc": (lambda: official_mixste(243, 512, 8), {}),
    "uao": (lambda: official_uao(3), {}),
    "glagcn-released": (lambda: official_glagcn(96, 5), {}),
    "tcn": (lambda: official_tcn((3, 3, 3, 3, 3), 1024), {}),
}
PAPER_PARAMETERS = {"mixste": 33_783_811, "ktpformer": 35_213_430, "hot": 35_000_323, "uao": 4_509_059,
                    "glagcn-released": 1_348_856}


@pytest.mark.parametrize("method", sorted(PAPER))
def test_paper_configuration_layouts(method, monkeypatch):
    """At the papers' sizes (on the meta device: shapes only) every official name maps, and the official
    parameter counts come out."""
    from posekit.weights.convert import build_for, convert
    monkeypatch.setattr(torch, "randn", lambda *s, generator=None: torch.empty(*s, device="meta"))
    monkeypatch.setattr(torch, "rand", lambda *s, generator=None: torch.empty(*s, device="meta"))
    make, extra = PAPER[method]
    official = make()
    with torch.device("meta"):
        model, size = build_for(method, official, **extra)
    state = convert(LAYOUTS[method], official, model, "paper", size)
    assert set(state) == set(model.state_dict())
    if method in PAPER_PARAMETERS:
        n_official = sum(v.numel() for k, v in official.items() if "running" not in k and "num_batches" not in k)
        assert n_official == PAPER_PARAMETERS[method] == models.count_parameters(model)


# ---------------------------------------------------------------- the official forward passes, written from the
# official definitions with the official names, compared with the imported posekit models

F_ = torch.nn.functional


def official_tcn_forward(sd, x, widths):
    """VideoPose3D TemporalModel in eval mode (common/model.py): dilated convolutions, residual slices."""
    def bn_relu(h, name):
        return F_.relu(F_.batch_norm(h, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"],
                                     sd[f"{name}.bias"], training=False, eps=1e-5))
    b, t, j, _ = x.shape
    h = bn_relu(F_.conv1d(x.reshape(b, t, -1).transpose(1, 2), sd["expand_conv.weight"]), "expand_bn")
    dilation = widths[0]
    for i, w in enumerate(widths[1:]):
        pad = (w - 1) * dilation // 2
        res = h[:, :, pad:h.shape[2] - pad]
        h = bn_relu(F_.conv1d(h, sd[f"layers_conv.{2 * i}.weight"], dilation=dilation), f"layers_bn.{2 * i}")
        h = res + bn_relu(F_.conv1d(h, sd[f"layers_conv.{2 * i + 1}.weight"]), f"layers_bn.{2 * i + 1}")
        dilation *= w
    out = F_.conv1d(h, sd["shrink.weight"], sd["shrink.bias"]).transpose(1, 2)
    return out.reshape(b, -1, j, 3)


def official_mixste_forward(sd, x, depth, heads=8):
    """MixSTE2 in eval mode (common/model_cross.py): STE / TTE blocks, shared norms, pos. embeddings at layer 0."""
    def ln(h, name, eps=1e-6):
        return F_.layer_norm(h, h.shape[-1:], sd[f"{name}.weight"], sd[f"{name}.bias"], eps)

    def lin(h, name):
        return F_.linear(h, sd[f"{name}.weight"], sd.get(f"{name}.bias"))

    def block(h, name):
        n, t, c = h.shape
        qkv = lin(ln(h, f"{name}.norm1"), f"{name}.attn.qkv")
        q, k, v = qkv.reshape(n, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(-1) @ v
        h = h + lin(a.transpose(1, 2).reshape(n, t, c), f"{name}.attn.proj")
        return h + lin(F_.gelu(lin(ln(h, f"{name}.norm2"), f"{name}.mlp.fc1")), f"{name}.mlp.fc2")
    b, f, j, _ = x.shape
    h = lin(x.reshape(b * f, j, 2), "Spatial_patch_to_embedding") + sd["Spatial_pos_embed"]
    for i in range(depth):
        h = ln(block(h, f"STEblocks.{i}"), "Spatial_norm")
        h = h.reshape(b, f, j, -1).permute(0, 2, 1, 3).reshape(b * j, f, -1)
        if i == 0:
            h = h + sd["Temporal_pos_embed"]
        h = ln(block(h, f"TTEblocks.{i}"), "Temporal_norm")
        h = h.reshape(b, j, f, -1).permute(0, 2, 1, 3).reshape(b * f, j, -1)
    return lin(ln(h, "head.0", 1e-5), "head.1").reshape(b, f, j, 3)


def test_imported_outputs_equal_the_official_forward(tmp_path):
    sd = official_tcn((3, 3, 3), 16)
    sd = {k: (v.abs() + 0.5 if "running_var" in k else v * 0.3) for k, v in sd.items()}
    torch.save(training_checkpoint(sd, False), tmp_path / "t.bin")
    tcn, _ = import_official("tcn", tmp_path / "t.bin")
    x = torch.randn(2, 31, 17, 2, generator=G)
    with torch.no_grad():
        assert torch.allclose(tcn(x), official_tcn_forward(sd, x, (3, 3, 3)), atol=1e-4)
    sd = {k: v * 0.2 for k, v in official_mixste(27, 32, 2).items()}
    torch.save(training_checkpoint(sd, True), tmp_path / "m.bin")
    mixste, _ = import_official("mixste", tmp_path / "m.bin")
    x = torch.randn(2, 27, 17, 2, generator=G)
    with torch.no_grad():
        assert torch.allclose(mixste(x), official_mixste_forward(sd, x, 2), atol=1e-5)


def test_same_shaped_tensors_land_in_their_own_places(tmp_path):
    """Tensors a shape check cannot tell apart (a swap would import silently): checked one by one."""
    sd = official_uao()
    torch.save(sd, tmp_path / "u.pth")
    uao, _ = import_official("uao", tmp_path / "u.pth")
    b = uao.blocks[1]
    assert torch.equal(b.norm_gcn.weight, sd["GCN_MLP.blocks.1.norm1.weight"])        # LayerNorm over 17 joints
    assert torch.equal(b.norm_spatial.weight, sd["GCN_MLP.blocks.1.norm3.weight"])    # the other one over 17
    assert torch.equal(uao.norm_mu.bias, sd["GCN_MLP.norm_mu.bias"])
    assert torch.equal(uao.norm_s.bias, sd["GCN_MLP.norm_s.bias"])
    assert torch.equal(uao.head_mu[0].weight, sd["pred_mu.fc1.weight"])
    assert torch.equal(uao.head_s[0].weight, sd["pred_s.fc1.weight"])
    sd = official_hot()
    torch.save(sd, tmp_path / "h.pth")
    hot, _ = import_official("hot", tmp_path / "h.pth", prune_layer=1)
    for name in ("linear_q", "linear_k", "linear_v", "proj"):
        assert torch.equal(getattr(hot.tra, name).weight, sd[f"cross_attention.{name}.weight"])
    assert torch.equal(hot.tra.queries, sd["x_token"]) and torch.equal(hot.temporal_pos, sd["Temporal_pos_embed"])
    sd = official_glagcn()
    torch.save(training_checkpoint(sd, True), tmp_path / "g.bin")
    gla, _ = import_official("glagcn-released", tmp_path / "g.bin")
    g = gla.stages[2].strided.gcn
    assert torch.equal(g.theta[1].weight, sd["layers_tcngcn.5.gcn1.conv_a.1.weight"])
    assert torch.equal(g.phi[1].weight, sd["layers_tcngcn.5.gcn1.conv_b.1.weight"])
    assert torch.equal(g.B, sd["layers_tcngcn.5.gcn1.PA"])
    assert torch.equal(gla.stages[2].block.tcn.conv.weight, sd["layers_tcngcn.4.tcn1.conv.weight"])
    sd = official_ktpformer()
    torch.save(training_checkpoint(sd, True), tmp_path / "k.bin")
    ktp, _ = import_official("ktpformer", tmp_path / "k.bin")
    assert torch.equal(ktp.temporal_blocks[0].norm1.weight, sd["tpattention.attn.norm1.weight"])
    assert torch.equal(ktp.temporal_blocks[0].norm2.weight, sd["tpattention.norm2.weight"])
    assert torch.equal(ktp.tpa.gconv1.gconv.W, sd["tpattention.attn.tpa.gconv1.gconv.W"])
    assert torch.equal(ktp.spatial_norm.weight, sd["Spatial_norm.weight"])
