"""HoT (Hourglass Tokenizer, CVPR 2024): parameter counts and FLOPs at the paper configuration, shapes, the DPC-kNN
token pruning and the token recovering attention on constructed inputs, a training step, clear errors, every figure (headless)."""
import matplotlib
import pytest
import torch

from posekit.complexity import flops_full, flops_linear
from posekit.methods import hot
from posekit.models import build_model, count_parameters
from posekit.nn.layers import explicit_attention

matplotlib.use("Agg")


def _meta(model):
    return model.to("meta"), torch.randn(1, model.receptive_field, 17, 2, device="meta")


def test_parameter_counts_at_paper_configuration():
    # the official hot_mixste.py at its defaults: 35,000,323; TPC adds no parameter to MixSTE's 33,783,811
    assert count_parameters(build_model("hot", "paper")) == 35_000_323
    assert count_parameters(build_model("hot-tpc", "paper")) == 33_783_811
    m = build_model("hot", "paper")
    assert (m.receptive_field, m.tokens, m.prune_layer) == (243, 81, 3)


def test_flops_at_paper_configuration():
    mix, x = _meta(build_model("mixste", "paper"))
    hot_model, _ = _meta(build_model("hot", "paper"))
    base, pruned = flops_linear(mix, x), flops_linear(hot_model, x)
    assert base / 1e9 == pytest.approx(277.25, abs=0.01)
    # 167.52 G in the reference also counts thop's AdaptiveAvgPool1d over the joints (4.5 MFLOPs); Linear only:
    assert pruned / 1e9 == pytest.approx(167.512, abs=0.002)
    assert 1 - pruned / base == pytest.approx(0.396, abs=0.001)
    assert flops_full(hot_model, x) / 1e9 == pytest.approx(176.18, abs=0.01)


def test_output_shapes():
    torch.manual_seed(0)
    m = hot.build("smoke").eval()
    x = torch.randn(2, 27, 17, 2)
    assert m(x).shape == (2, 27, 17, 3)
    assert m.tpc.last_index.shape == (2, 9)
    tpc = hot.build_tpc("smoke").eval()
    centre, kept, index = tpc(x)
    assert centre.shape == (2, 1, 17, 3) and kept.shape == (2, 7, 17, 3) and index.shape == (2, 7)
    assert (index == 13).sum(1).tolist() == [1, 1]
    assert torch.equal(index, index.sort(1).values)
    pos = (index == 13).int().argmax(1)
    assert torch.allclose(centre[:, 0], kept[torch.arange(2), pos])


def test_frames_override_keeps_the_keep_ratio():
    assert hot.build("paper", frames=81, dim=64, heads=8, depth=4, prune_layer=2).tokens == 27
    assert hot.build("cpu", tokens=3).tokens == 3


def _clusters(sizes=(5, 9, 4), dim=16, spread=0.01, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(len(sizes), dim, generator=g) * 3
    feats = torch.cat([c + spread * torch.randn(n, dim, generator=g) for c, n in zip(centres, sizes)])
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    return feats[None], labels


def test_dpc_knn_keeps_one_frame_per_cluster():
    feats, labels = _clusters()
    r = hot.dpc_knn(feats, 3, k=2)
    assert sorted(labels[r.centres[0]].tolist()) == [0, 1, 2]
    assert torch.equal(r.kept, r.centres.sort(-1).values)
    # every frame is assigned to the centre of its own cluster
    assert torch.equal(labels[r.centres[0]][r.assignment[0]], labels)


def test_dpc_knn_density_distance_and_score_follow_the_definitions():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 12, 8, generator=g)
    r = hot.dpc_knn(x, 4, k=2, generator=torch.Generator().manual_seed(0))
    d = torch.cdist(x, x) / 8 ** 0.5
    assert torch.allclose(r.distance_matrix, d, atol=1e-6)
    # k = 2 includes the token itself (distance 0): rho = exp(-(0 + d_nn^2) / 2), up to the 1e-6 noise
    d_nn = (d + torch.eye(12) * 1e9).min(-1).values
    assert torch.allclose(r.density, torch.exp(-d_nn ** 2 / 2), atol=2e-6)
    for b in range(2):
        top = r.density[b].argmax()
        assert r.delta[b, top] == pytest.approx(d[b].max().item(), abs=1e-6)
        other = r.density[b].argmin()
        denser = r.density[b] > r.density[b, other]
        assert r.delta[b, other] == pytest.approx(d[b, other][denser].min().item(), abs=1e-6)
    assert torch.allclose(r.score, r.density * r.delta)
    assert torch.equal(r.centres, r.score.topk(4, -1).indices)


def test_dpc_knn_breaks_ties_and_honours_keep_index():
    x = torch.zeros(1, 10, 4)  # identical frames (like edge padding): only the noise decides
    r = hot.dpc_knn(x, 3)
    assert len(set(r.centres[0].tolist())) == 3
    r = hot.dpc_knn(torch.randn(3, 15, 4), 5, keep_index=7)
    assert (r.centres[:, -1] == 7).all() and ((r.centres == 7).sum(1) == 1).all()


def test_tpc_gathers_tokens_adds_rank_embedding_and_passes_gradients():
    tpc = hot.TokenPruningCluster(frames=12, tokens=4, dim=8)
    with torch.no_grad():
        tpc.pos_embed.copy_(torch.arange(4.0)[None, :, None].expand(1, 4, 8))
    x = torch.randn(2, 12, 3, 8, requires_grad=True)
    kept, index = tpc(x)
    assert kept.shape == (2, 4, 3, 8) and torch.equal(index, index.sort(1).values)
    expect = x[torch.arange(2)[:, None], index] + torch.arange(4.0)[None, :, None, None]
    assert torch.allclose(kept, expect)
    kept.sum().backward()
    grad_rows = (x.grad.abs().sum((2, 3)) > 0)
    assert grad_rows.sum(1).tolist() == [4, 4]       # only the kept frames receive gradient
    assert not tpc.last.score.requires_grad


def test_tra_recovers_full_length_and_attention_is_a_distribution():
    torch.manual_seed(0)
    tra = hot.TokenRecoveringAttention(frames=12, dim=16, heads=4)
    tra.keep_attention = True
    y = tra(torch.randn(2, 4, 3, 16))
    assert y.shape == (2, 12, 3, 16)
    a = tra.attention_map
    assert a.shape == (2 * 3, 4, 12, 4)
    assert torch.allclose(a.sum(-1), torch.ones(()), atol=1e-5)
    # with the kept tokens all equal, every query reads the same value: out = queries + proj(v(token))
    tok = torch.randn(16)
    y = tra(tok.expand(1, 4, 1, 16).contiguous())
    expect = tra.queries[0] + tra.proj(tra.linear_v(tok))
    assert torch.allclose(y[0, :, 0], expect, atol=1e-5)
    # fused and explicit attention agree
    tra.keep_attention = False
    x = torch.randn(1, 4, 2, 16)
    fused = tra(x)
    with explicit_attention():
        assert torch.allclose(fused, tra(x), atol=1e-5)


def test_local_attention_mass():
    kept = torch.arange(0, 27, 3)
    assert hot.local_attention_mass(torch.full((27, 9), 1 / 9), kept) == pytest.approx(2 / 9)
    nearest = torch.zeros(27, 9)
    nearest[torch.arange(27), torch.arange(27) // 3] = 1
    assert hot.local_attention_mass(nearest, kept) == pytest.approx(1.0)


def test_uniform_and_random_selection():
    m = hot.build("smoke", selection="uniform").eval()
    m(torch.randn(1, 27, 17, 2))
    assert m.tpc.last_index[0].tolist() == torch.linspace(0, 26, 9).round().long().tolist()
    m = hot.build("smoke", selection="random").eval()
    m(torch.randn(2, 27, 17, 2))
    assert m.tpc.last_index.shape == (2, 9)


def test_one_training_step_lowers_the_loss():
    torch.manual_seed(0)
    m = hot.build("smoke").train()
    x, y = torch.randn(4, 27, 17, 2), 0.3 * torch.randn(4, 27, 17, 3)
    y[:, :, 0] = 0
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    before = m.loss(m(x), y).item()
    for _ in range(3):
        opt.zero_grad()
        m.loss(m(x), y).backward()
        opt.step()
    assert m.loss(m(x), y).item() < before


def test_tpc_loss_uses_the_kept_frames():
    torch.manual_seed(0)
    m = hot.build_tpc("smoke").train()
    x, y = torch.randn(3, 27, 17, 2), torch.randn(3, 27, 17, 3)
    out = m(x)
    full = m.loss(out, y)
    kept_target = y[torch.arange(3)[:, None], out[2]]
    from posekit.nn.mixste import mixste_loss
    assert torch.allclose(full, mixste_loss(out[1], kept_target))
    assert torch.allclose(m.loss(out, y[:, 13:14]), mixste_loss(out[0], y[:, 13:14]))
    full.backward()


def test_bad_input_raises_clear_errors():
    m = hot.build("smoke")
    with pytest.raises(ValueError, match="built for clips of 27 frames"):
        m(torch.randn(1, 81, 17, 2))
    with pytest.raises(ValueError, match=r"expected 2D keypoints \(B, T, 17, 2\)"):
        m(torch.randn(1, 27, 16, 2))
    with pytest.raises(ValueError, match="tokens must be in"):
        hot.build("smoke", tokens=40)
    with pytest.raises(ValueError, match="prune_layer"):
        hot.build("smoke", prune_layer=5)
    with pytest.raises(ValueError, match="selection"):
        hot.build("smoke", selection="kmeans")
    with pytest.raises(ValueError, match="cannot keep"):
        hot.dpc_knn(torch.randn(1, 5, 3), 6)
    with pytest.raises(ValueError, match="unknown configuration"):
        hot.build("huge")


def test_tpc_fit_trains_on_whole_clips_and_evaluates_one_window_per_frame(tiny_synth):
    import math

    from posekit.train import TrainConfig, evaluate
    torch.manual_seed(0)
    m = hot.build_tpc("smoke")
    seen, loss = [], m.loss
    m.loss = lambda out, y: (seen.append(y.shape[1]), loss(out, y))[1]
    config = TrainConfig(epochs=1, batch_size=8, max_train_windows=16, progress=False, device="cpu")
    history = hot.fit(m, tiny_synth.train, config)
    assert set(seen) == {27} and math.isfinite(history["loss"][0])
    result = evaluate(m, tiny_synth.test.subsample_sequences(30), flip_test=False)
    assert math.isfinite(result.mpjpe) and result.frames > 0


def test_select_frames_follows_tokens_and_layer():
    torch.manual_seed(0)
    m = hot.build("smoke").eval()
    x = m.example_input(2)
    r = hot.select_frames(m, x, generator=torch.Generator().manual_seed(0))
    assert r.kept.shape == (2, 9) and r.distance_matrix.shape == (2, 27, 27)
    assert hot.select_frames(m, x, tokens=4, layer=2).kept.shape == (2, 4)
    tpc = hot.build_tpc("smoke").eval()
    assert (hot.select_frames(tpc, x).kept == 13).sum(1).tolist() == [1, 1]   # the centre frame is always kept


def test_plot_selection_draws_distances_decision_graph_and_scores():
    feats, _ = _clusters()
    r = hot.dpc_knn(feats, 3, generator=torch.Generator().manual_seed(0))
    fig = hot.plot_selection(r, title="TPC")
    dist, decision, scores = fig.axes[:3]
    assert len(fig.axes) == 4 and fig._suptitle.get_text() == "TPC"          # + the distance colour bar
    assert dist.images[0].get_array().shape == (18, 18) and dist.get_xlabel() == "frame j"
    assert decision.get_xlabel() == "density rho" and len(decision.collections) == 2
    assert len(decision.collections[1].get_offsets()) == 3                   # one star per kept frame
    assert len(scores.patches) == 18 and scores.get_ylabel() == "score"
    assert scores.get_legend().get_texts()[0].get_text() == "kept frame"
    matplotlib.pyplot.close(fig)


def test_plot_recovery_attention_marks_the_kept_frames():
    kept = torch.arange(0, 27, 3)
    fig = hot.plot_recovery_attention(torch.full((27, 9), 1 / 9), kept, title="TRA")
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and ax.get_title(loc="right") == "TRA"
    assert ax.images[0].get_array().shape == (27, 9)
    assert ax.collections[0].get_offsets()[:, 1].tolist() == kept.tolist()  # a dot at each kept token's own frame
    assert ax.get_ylabel() == "recovered frame (query)" and fig.axes[1].get_ylabel().startswith("attention weight")
    matplotlib.pyplot.close(fig)


def test_plot_kept_frames_one_row_per_setting():
    rows = {"f=9": torch.arange(0, 27, 3), "f=3": [0, 13, 26]}
    fig = hot.plot_kept_frames(rows, 27, title="kept")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_title() == "kept" and ax.get_xlim() == (-0.5, 26.5)
    assert [len(c.get_offsets()) for c in ax.collections] == [9, 3]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(rows)
    matplotlib.pyplot.close(fig)


def test_plot_flops_vs_error_one_marker_per_model():
    points = {"MixSTE": (10.0, 50.0, 1.0), "HoT": (6.0, 51.0, 0.0)}
    fig = hot.plot_flops_vs_error(points, title="trade-off")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and ax.get_title() == "trade-off" and ax.get_ylabel() == "MPJPE (mm)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(points)
    bars = ax.containers                                            # one errorbar per model
    assert [(c.lines[0].get_xdata()[0], c.lines[0].get_ydata()[0]) for c in bars] == [(10.0, 50.0), (6.0, 51.0)]
    assert [c.has_yerr for c in bars] == [True, False]             # a std of 0 draws no error bar
    matplotlib.pyplot.close(fig)


def test_recovery_attention_scale_shows_uniform_as_uniform():
    # a uniform map with rounding noise must not be stretched over the whole colour range
    noisy = torch.full((27, 9), 1 / 9) + torch.linspace(-4e-5, 4e-5, 27 * 9).reshape(27, 9)
    fig = hot.plot_recovery_attention(noisy, torch.arange(0, 27, 3))
    low, high = fig.axes[0].images[0].get_clim()
    assert low == 0.0 and high >= 3 / 9
    assert hot.attention_uniformity(noisy) < 1e-3
    peaked = torch.zeros(27, 9)
    peaked[:, 0] = 1.0
    assert hot.attention_uniformity(peaked) == pytest.approx(8.0)             # 1 - 1/9 over 1/9
    matplotlib.pyplot.close(fig)


def test_fixed_selection_keeps_the_given_frames_and_restores_dpc():
    torch.manual_seed(0)
    m = hot.build("smoke").eval()
    x = m.example_input(2)
    kept = torch.tensor([0, 3, 6, 9, 12, 15, 18, 21, 26])
    with torch.no_grad(), hot.fixed_selection(m, kept):
        m(x)
        assert m.tpc.last_index.tolist() == [kept.tolist()] * 2
    with torch.no_grad():
        m(x)
    assert m.tpc.last_index.tolist() != [kept.tolist()] * 2                   # DPC-kNN again after the block
    with pytest.raises(ValueError, match="kept frames"), hot.fixed_selection(m, kept[:4]), torch.no_grad():
        m(x)


def test_plugged_hot_copies_every_backbone_weight_and_starts_tra_cold():
    torch.manual_seed(0)
    mix = build_model("mixste", "smoke")
    state = mix.state_dict()
    plugged = hot.plugged_hot(state, "smoke", 27)
    for k, v in state.items():
        assert torch.equal(plugged.state_dict()[k], v), k
    assert not plugged.tra.queries.abs().any()
    # zero queries: every recovered frame gets the same pose
    assert hot.pose_spread(plugged, mix.example_input(1)) == pytest.approx(0.0, abs=1e-4)
    with pytest.raises(ValueError, match="not a MixSTE"):
        hot.plugged_hot(state, "cpu", 27)


def test_ground_truth_spread_is_zero_for_a_still_pose_and_in_mm():
    still = torch.randn(1, 17, 3).repeat(10, 1, 1).numpy()
    assert hot.ground_truth_spread(still) == pytest.approx(0.0, abs=1e-9)
    moving = still.copy()
    moving[5:, 3] += [0.01, 0, 0]                                             # joint 3 moves 1 cm in half the frames
    assert hot.ground_truth_spread(moving) == pytest.approx(10 * 0.5 / 17, rel=1e-6)


def test_fit_with_spread_matches_fit_and_records_the_spread(tiny_synth):
    from posekit.train import TrainConfig
    from posekit.train import fit as generic_fit
    config = TrainConfig(epochs=2, batch_size=8, max_train_windows=16, progress=False, device="cpu", seed=3)
    probe = torch.from_numpy(tiny_synth.test[0].keypoints_2d[:27])[None]
    torch.manual_seed(0)
    a = hot.build("smoke")
    torch.manual_seed(0)
    b = hot.build("smoke")
    ha = hot.fit_with_spread(a, tiny_synth.train, config, probe=probe)
    hb = generic_fit(b, tiny_synth.train, config)
    assert ha["loss"] == pytest.approx(hb["loss"], rel=1e-5)                 # the same run, one epoch at a time
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5)
    assert ha.records[0]["pose_spread_start"] == pytest.approx(0.0, abs=1e-4)
    assert all(r["pose_spread"] >= 0 for r in ha.records) and len(ha.records) == 2
    fig = hot.plot_pose_spread({"HoT": [ha]}, per_epoch=2, target=50.0)
    assert len(fig.axes[0].lines) == 2                                       # the run and the ground-truth line
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="one clip"):
        hot.fit_with_spread(a, tiny_synth.train, config, probe=probe[0])
