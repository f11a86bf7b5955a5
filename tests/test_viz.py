"""Unit tests of posekit.viz: figure structure, subsampling, axis ranges, input errors, matplotlib figures."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from posekit import viz
from posekit.camera import h36m_cameras
from posekit.skeleton import COCO_17, H36M_17, HUMANEVA_15
from posekit.viz.common import polyline, subsample

J = H36M_17.num_joints


def standing(t: int = 40, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """A (T, 17, 3) camera-frame person (y down): feet at +0.9 m, head at -0.7 m, swaying in x."""
    rng = np.random.default_rng(seed)
    base = np.zeros((J, 3))
    height = {0: 0.0, 1: 0.0, 4: 0.0, 2: 0.45, 5: 0.45, 3: 0.9, 6: 0.9, 7: -0.25, 8: -0.5, 9: -0.6, 10: -0.7,
              11: -0.48, 14: -0.48, 12: -0.2, 15: -0.2, 13: 0.05, 16: 0.05}
    side = {1: -0.13, 2: -0.13, 3: -0.13, 4: 0.13, 5: 0.13, 6: 0.13, 11: 0.18, 12: 0.2, 13: 0.22, 14: -0.18,
            15: -0.2, 16: -0.22}
    for j in range(J):
        base[j] = [side.get(j, 0.0), height[j], 0.0]
    sway = 0.1 * np.sin(np.linspace(0, 2 * np.pi, t))[:, None]
    poses = np.repeat(base[None], t, axis=0)
    poses[..., 0] += sway
    poses += 0.01 * rng.standard_normal(poses.shape)
    return (poses * scale).astype(np.float32)


def frame_names(fig) -> list[str]:
    return [f.name for f in fig.frames]


# ----------------------------------------------------------------------------------------------- 3D viewer

def test_viewer_traces_frames_and_slider():
    gt, pred = standing(40), standing(40, seed=1)
    fig = viz.skeleton_viewer({"ground truth": gt, "MixSTE": pred}, title="clip")
    assert isinstance(fig, go.Figure)
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["ground truth", "MixSTE"]
    bones = [t for t in fig.data if t.type == "scatter3d" and t.showlegend is False]
    assert len(bones) == 2  # one trace of bones per pose set, gaps (None) between chains
    assert None in bones[0].x and len(bones[0].x) < 3 * len(H36M_17.bones)
    assert len(set(bones[0].line.color)) == 3  # left / right / centre shades
    assert bones[0].line.color != bones[1].line.color  # a distinct colour per pose set
    assert len(fig.frames) == 40 and frame_names(fig) == [str(i) for i in range(40)]
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 40 and [s.label for s in steps] == frame_names(fig)
    assert list(steps[7].args[0]) == ["7"] and steps[7].method == "animate"
    buttons = fig.layout.updatemenus[0].buttons
    assert len(buttons) == 2 and buttons[0].args[0] is None  # play, then pause
    assert fig.layout.title.text == "clip"


def test_viewer_plots_upright_and_rounds_to_millimetres():
    gt = standing(3)
    fig = viz.skeleton_viewer(gt)
    bones = [t for t in fig.data if t.showlegend is False][0]
    names = list(bones.text)
    head, foot = names.index("Head"), names.index("RFoot")
    assert bones.z[head] > bones.z[foot]  # plot z is -y: the head is above the feet
    assert bones.z[head] == pytest.approx(-gt[0, 10, 1], abs=1e-3)
    assert bones.y[head] == pytest.approx(gt[0, 10, 2], abs=1e-3)  # plot y is depth
    values = [v for v in bones.x if v is not None]
    assert all(round(v, 3) == v for v in values)
    scene = fig.layout.scene
    assert "up" in scene.zaxis.title.text and "depth" in scene.yaxis.title.text
    assert scene.camera.up.z == 1


def test_viewer_subsamples_long_clips_keeping_first_and_last():
    long = standing(1000)
    fig = viz.skeleton_viewer({"a": long, "b": long + 0.01}, max_frames=300)
    names = frame_names(fig)
    assert len(names) <= 300 and names[0] == "0" and names[-1] == "999"
    assert [s.label for s in fig.layout.sliders[0].steps] == names  # labels show original frame indices
    idx = [int(n) for n in names]
    assert idx == sorted(set(idx))
    assert len(fig.to_json()) < 500_000


def test_viewer_axis_ranges_cover_all_frames_and_sets():
    a, b = standing(30), standing(30, seed=2, scale=1.6)
    b[17 % 30, 3] += [2.0, 0.5, 1.0]  # one outlier joint in one frame of one set
    fig = viz.skeleton_viewer({"a": a, "b": b}, max_frames=5)
    scene = fig.layout.scene
    plot = np.stack([np.concatenate([a, b])[..., k] for k in (0, 2)] + [-np.concatenate([a, b])[..., 1]], -1)
    for axis, k in ((scene.xaxis, 0), (scene.yaxis, 1), (scene.zaxis, 2)):
        lo, hi = axis.range
        assert lo <= plot[..., k].min() and hi >= plot[..., k].max(), (axis.title.text, axis.range)
        assert axis.autorange is False
    spans = [ax.range[1] - ax.range[0] for ax in (scene.xaxis, scene.yaxis, scene.zaxis)]
    ratio = scene.aspectratio
    assert [ratio.x, ratio.y, ratio.z] == pytest.approx(list(np.array(spans) / max(spans)), abs=2e-3)


def test_viewer_marked_frames_and_joint_values():
    gt, pred = standing(500), standing(500, seed=3)
    sigma = np.abs(np.random.default_rng(0).normal(size=(500, J)))
    fig = viz.skeleton_viewer({"gt": gt, "UAO": pred}, max_frames=50, marked_frames=[123, 124],
                              joint_values=sigma, values_title="sigma (mm)")
    names = frame_names(fig)
    assert "123" in names and "124" in names and len(names) <= 50
    labels = {s.args[0][0]: s.label for s in fig.layout.sliders[0].steps}
    assert labels["123"].endswith("★") and not labels["0"].endswith("★")
    marked = [f for f in fig.frames if f.name == "123"][0]
    assert "★" in marked.layout.title.text
    markers = [t for t in fig.data if t.mode == "markers"]
    assert len(markers) == 1 and markers[0].marker.showscale
    assert markers[0].marker.colorbar.title.text == "sigma (mm)"
    assert markers[0].marker.color == pytest.approx(np.round(sigma[0], 4))
    frame_markers = marked.data[list(marked.traces).index(fig.data.index(markers[0]))]
    assert frame_markers.marker.color == pytest.approx(np.round(sigma[123], 4))


def test_viewer_with_2d_panel():
    cam = h36m_cameras("S1")[0]
    gt = standing(20)
    kp = np.random.default_rng(0).uniform(-0.5, 0.5, (20, J, 2))
    fig = viz.skeleton_viewer({"gt": gt}, keypoints_2d={"input 2D": kp}, camera=cam)
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # image y points down
    assert fig.layout.xaxis.range[0] <= 0 and fig.layout.xaxis.range[1] >= cam.res_w
    assert any(t.type == "scatter" for t in fig.frames[5].data)


def test_viewer_accepts_torch_and_single_pose():
    torch = pytest.importorskip("torch")
    fig = viz.skeleton_viewer(torch.from_numpy(standing(4)))
    assert len(fig.frames) == 4
    fig = viz.skeleton_viewer(standing(1)[0])  # (J, 3): one frame, no slider
    assert len(fig.frames) == 1 and not fig.layout.sliders


@pytest.mark.parametrize("bad, needle", [
    (np.zeros((10, 16, 3)), "(10, 16, 3)"),
    (np.zeros((10, 17, 2)), "(10, 17, 2)"),
    (np.zeros((2, 10, 17, 3)), "(2, 10, 17, 3)"),
])
def test_viewer_rejects_bad_shapes(bad, needle):
    with pytest.raises(ValueError) as err:
        viz.skeleton_viewer({"pred": bad})
    assert needle in str(err.value) and "17" in str(err.value)


def test_viewer_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="same number of frames"):
        viz.skeleton_viewer({"a": standing(10), "b": standing(12)})
    with pytest.raises(ValueError, match=r"\(3, 17\)"):
        viz.skeleton_viewer(standing(10), joint_values=np.zeros((3, J)))
    with pytest.raises(ValueError, match="humaneva15"):
        viz.skeleton_viewer(standing(5), skeleton=HUMANEVA_15)
    with pytest.raises(ValueError, match="max_frames"):
        viz.skeleton_viewer(standing(5), max_frames=1)


def test_chains_cover_every_bone_once():
    for skeleton in (H36M_17, HUMANEVA_15, COCO_17):
        idx, sides = polyline(skeleton)
        segments = {tuple(sorted(p)) for p in zip(idx[:-1], idx[1:]) if min(p) >= 0}
        assert segments == {tuple(sorted(b)) for b in skeleton.bones}
        for (a, b), s in zip(zip(idx[:-1], idx[1:]), sides):
            if min(a, b) >= 0:
                child = a if skeleton.parents[a] == b else b
                assert skeleton.side(child) == s


def test_subsample():
    assert list(subsample(5, 10)) == [0, 1, 2, 3, 4]
    idx = subsample(1001, 100, keep=[3, 500])
    assert len(idx) <= 100 and idx[0] == 0 and idx[-1] == 1000 and 3 in idx and 500 in idx


# ----------------------------------------------------------------------------------------------- other plotly

def test_keypoints_2d_figure():
    cam = h36m_cameras("S1")[1]
    kp = np.random.default_rng(0).uniform(-0.5, 0.5, (8, J, 2))
    fig = viz.keypoints_2d_figure({"input 2D": kp, "GT 2D": kp[3]}, camera=cam, frame=3)
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names[0].startswith("image") and names[1:] == ["input 2D", "GT 2D"]
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1] and fig.layout.yaxis.scaleanchor == "x"
    fig = viz.keypoints_2d_figure(kp[0] * 500 + 500, units="pixels")
    assert "px" in fig.layout.xaxis.title.text
    with pytest.raises(ValueError, match=r"\(8, 17, 3\)"):
        viz.keypoints_2d_figure(np.zeros((8, J, 3)))
    with pytest.raises(ValueError, match="frame 9"):
        viz.keypoints_2d_figure(kp, frame=9)


def test_camera_rig_figure():
    cams = h36m_cameras("S9")
    world = standing(10)[..., [0, 2, 1]] * [1, 1, -1] + [0, 0, 0.9]
    fig = viz.camera_rig_figure(cams, world)
    names = [t.name for t in fig.data]
    assert "camera frusta" in names and "root path" in names
    centres = [t for t in fig.data if t.name == "camera centres"][0]
    assert list(centres.text) == [c.id for c in cams]
    assert np.allclose(np.c_[centres.x, centres.y, centres.z], [c.translation for c in cams], atol=1e-3)
    assert "up" in fig.layout.scene.zaxis.title.text
    assert len(viz.camera_rig_figure(cams[:2]).data) == 3
    with pytest.raises(ValueError, match="Camera"):
        viz.camera_rig_figure(["not a camera"])


# ----------------------------------------------------------------------------------------------- matplotlib

def test_frame_grid():
    fig = viz.frame_grid({"gt": standing(30), "pred": standing(30, seed=1)}, frames=[0, 10, 29], title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["frame 0", "frame 10", "frame 29"]
    assert len(fig.axes[0].lines) == 2 * len(H36M_17.bones)
    with pytest.raises(ValueError, match="out of range"):
        viz.frame_grid(standing(5), frames=[7])


class _History:
    def __init__(self, records):
        self.records = records


def test_training_curves():
    h = _History([{"epoch": e, "loss": 1 / (e + 1), "val_mpjpe": 80 - e, "lr": 1e-3, "seconds": 2.0}
                  for e in range(5)])
    fig = viz.training_curves({"TCN": h, "MLP": [{"epoch": e, "loss": 2 / (e + 1)} for e in range(3)]})
    assert len(fig.axes) == 3
    assert fig.axes[1].get_title().startswith("validation MPJPE")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["TCN (10 s)", "MLP"]
    assert len(viz.training_curves([{"epoch": 0, "loss": 1.0}]).axes) == 1
    with pytest.raises(ValueError, match="'loss'"):
        viz.training_curves({"x": [{"epoch": 0}]})


def test_bars():
    errors = {"A": np.linspace(20, 60, J), "B": np.linspace(30, 50, J)}
    fig = viz.per_joint_bars(errors, H36M_17)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * J and [t.get_text() for t in ax.get_xticklabels()] == list(H36M_17.joint_names)
    with pytest.raises(ValueError, match=r"\(16,\)"):
        viz.per_joint_bars({"A": np.zeros(16)})
    actions = {"A": {"Walking": 40.0, "Average": 45.0, "Eating": 50.0}, "B": {"Walking": 42.0, "Eating": 48.0}}
    fig = viz.per_action_bars(actions)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["Eating", "Walking", "Average"]
    with pytest.raises(ValueError, match="action"):
        viz.per_action_bars({"A": [1, 2]})


# ----------------------------------------------------------------------------------------------- notebook glue

def test_setup_notebook_sets_renderer():
    import matplotlib as mpl
    import plotly.io as pio
    old = pio.renderers.default
    try:
        with mpl.rc_context():
            viz.setup_notebook()
            assert mpl.rcParams["axes.grid"] is True
        assert pio.renderers.default == viz.RENDERER
        bundle = viz.skeleton_viewer(standing(2))._repr_mimebundle_()  # what IPython displays
        assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
        html = bundle["text/html"]
        assert "Plotly.newPlot" in html and "cdn" not in html.lower() and "<script src" not in html
    finally:
        pio.renderers.default = old


def _dataset():
    from posekit.data.dataset import PoseDataset, Sequence
    cams = h36m_cameras("S9")
    seqs = []
    for ci, cam in enumerate(cams[:2]):
        poses = standing(20, seed=ci)
        kp = cam.project_normalized(poses + [0, 0, 5.0]).astype(np.float32)
        seqs.append(Sequence("S9", "Walking", cam, ci, poses, np.tile([0, 0, 5.0], (20, 1)).astype(np.float32),
                             kp, kp + 0.01))
    seqs.append(Sequence("S1", "Eating", cams[0], 0, standing(20), np.zeros((20, 3), np.float32),
                         np.zeros((20, J, 2), np.float32)))
    return PoseDataset("tiny", seqs, train_subjects=("S1",), test_subjects=("S9",))


def test_explorer_switches_sequence_camera_and_models():
    pytest.importorskip("ipywidgets")
    ds = _dataset()
    preds = {"TCN": {s.name: s.poses_3d + 0.01 for s in ds}, "MLP": {ds[0].name: ds[0].poses_3d}}
    ex = viz.explorer(ds, preds, max_frames=10)
    assert ex.sequence.options == ((("S9 · Walking"), ("S9", "Walking")),)  # test subjects only
    assert [v for _, v in ex.camera.options] == [0, 1]
    legend = lambda: [t.name for t in ex.figure.data if t.showlegend is not False and t.type == "scatter3d"]
    assert legend() == ["ground truth", "TCN", "MLP"]
    ex.camera.value = 1
    assert ex.figure.layout.title.text == "S9/Walking/cam1" and legend() == ["ground truth", "TCN"]
    assert "no prediction from MLP" in ex.status.value
    ex.models.value = ("MLP",)
    assert legend() == ["ground truth"]
    assert "GT 2D" in [t.name for t in ex.figure.data]
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_explorer_rejects_bad_predictions():
    ds = _dataset()
    with pytest.raises(ValueError, match="no key matches"):
        viz.explorer(ds, {"TCN": {"S9/Walking/0": np.zeros((20, J, 3))}})
    with pytest.raises(ValueError, match=r"\(19, 17, 3\)"):
        viz.explorer(ds, {"TCN": {ds[0].name: np.zeros((19, J, 3))}})
    with pytest.raises(ValueError, match="model_name"):
        viz.explorer(ds, {"TCN": np.zeros((20, J, 3))})


def test_accuracy_vs_cost_draws_each_method_with_its_spread_and_the_floors():
    fig = viz.accuracy_vs_cost({"MixSTE": (1e6, 98.7, 2.0), "TCN": (7e5, 101.6, float("nan"))},
                               xlabel="FLOPs per frame", floors={"lookup": 157.0})
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_xscale() == "log"
    assert {"MixSTE", "TCN"} <= {t.get_text() for t in ax.texts}       # each point named beside it
    assert any(line.get_ydata()[0] == 157.0 for line in ax.get_lines() if len(line.get_ydata()) == 2)
    with pytest.raises(ValueError, match="positive finite"):
        viz.accuracy_vs_cost({"x": (0.0, 1.0, 0.0)}, xlabel="FLOPs")


def test_error_heatmap_has_one_row_per_method_and_blank_missing_cells():
    fig = viz.error_heatmap({"A": {"Walk": 10.0, "Sit": 30.0}, "B": {"Walk": 20.0}}, title="per action")
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (2, 2) and (np.ma.is_masked(image[1, 1]) or np.isnan(image[1, 1]))
    assert [t.get_text() for t in fig.axes[0].texts] == ["10", "30", "20"]
    with pytest.raises(ValueError, match="method"):
        viz.error_heatmap({}, title="x")
