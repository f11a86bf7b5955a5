"""The synthetic image set: labels agree with the pixels, K_crop maps 3D to crop pixels, seeded, cached layout."""
import json

import numpy as np
import pytest

pytest.importorskip("anny")
from posekit.data.images import KEYS, ImageGenerator, generate_images, load_images  # noqa: E402


@pytest.fixture(scope="module")
def sample():
    return ImageGenerator(size=48, seed=3).generate(6)


def test_joints_fall_inside_the_silhouette(sample):
    sil = sample["silhouette"]
    inside = []
    for i in range(len(sil)):
        u, v = np.floor(sample["joints_2d"][i]).astype(int).T
        ok = (u >= 0) & (u < 48) & (v >= 0) & (v < 48)
        assert ok.all()
        # a joint is inside the body or one pixel from its outline (thin limbs at 48 px)
        grown = sil[i] | np.roll(sil[i], 1, 0) | np.roll(sil[i], -1, 0) | np.roll(sil[i], 1, 1) | np.roll(sil[i], -1, 1)
        inside.append(grown[v, u])
    assert np.mean(inside) > 0.9
    assert ((sample["parts"] > 0) == sil).all() and ((sample["classes"] > 0) == sil).all()


def test_crop_intrinsics_map_camera_points_to_crop_pixels(sample):
    for i in range(6):
        Kc, K = sample["K_crop"][i].astype(np.float64), sample["K"][i].astype(np.float64)
        p = sample["vertices"][i] @ Kc.T
        uv = p[:, :2] / p[:, 2:]
        ys, xs = np.nonzero(sample["silhouette"][i])
        assert abs(uv[:, 0].min() - xs.min()) < 2 and abs(uv[:, 0].max() - (xs.max() + 1)) < 2
        assert abs(uv[:, 1].min() - ys.min()) < 2 and abs(uv[:, 1].max() - (ys.max() + 1)) < 2
        j = sample["joints_3d"][i] @ Kc.T
        assert np.allclose(j[:, :2] / j[:, 2:], sample["joints_2d"][i], atol=1e-3)
        A = Kc @ np.linalg.inv(K)  # the crop is a scale and a shift of the full frame
        assert np.allclose(A[0, 1], 0, atol=1e-6) and np.allclose(A[0, 0], A[1, 1], rtol=1e-5)
        assert np.allclose(A[2], [0, 0, 1], atol=1e-6)


def test_same_seed_same_samples_and_any_split():
    a = ImageGenerator(size=24, seed=5).generate(3)
    b = ImageGenerator(size=24, seed=5).generate(2, start=1)
    assert np.array_equal(a["image"][1:], b["image"]) and np.allclose(a["joints_3d"][1:], b["joints_3d"])
    assert not np.array_equal(a["image"][0], a["image"][1])


def test_rotation_to_subject_centres_the_crop():
    s = ImageGenerator(size=32, seed=1, rotate_to_subject=True).generate(3)
    assert np.allclose(s["K_crop"][:, :2, 2], 16, atol=1e-3)  # principal point at the crop centre
    assert not np.allclose(s["rotation"], np.eye(3), atol=1e-3)


def test_generated_folder_has_one_layout(tmp_path):
    folder = generate_images(5, size=16, seed=2, root=tmp_path, batch=4, verbose=False)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["n"] == 5 and meta["keys"] == list(KEYS)
    data = load_images(folder)
    assert data["image"].shape == (5, 3, 16, 16) and data["faces"].shape[1] == 3
    assert generate_images(5, size=16, seed=2, root=tmp_path, batch=4, verbose=False) == folder
    other = generate_images(2, size=16, seed=2, root=tmp_path, verbose=False, fov=(60.0, 60.0))
    assert other != folder and json.loads((other / "meta.json").read_text())["options"]["fov"] == [60.0, 60.0]
    with pytest.raises(FileNotFoundError, match="meta.json"):
        load_images(tmp_path / "missing")
