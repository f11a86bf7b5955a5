"""The mesh viewer and the image grid build headless with the expected traces and axes."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import pytest  # noqa: E402

from posekit.viz.images import image_grid  # noqa: E402
from posekit.viz.mesh import mesh_viewer  # noqa: E402


def _scene():
    rng = np.random.default_rng(0)
    v = rng.normal(0, 0.3, (30, 3)) + [0, 0, 4]
    f = rng.integers(0, 30, (40, 3))
    K = np.array([[50.0, 0, 16], [0, 50, 16], [0, 0, 1]])
    img = rng.integers(0, 255, (3, 32, 32), dtype=np.uint8)
    return v, f, K, img, rng.normal(0, 0.3, (17, 3)) + [0, 0, 4]


def test_mesh_viewer_traces():
    v, f, K, img, joints = _scene()
    fig = mesh_viewer(v, f, parts=np.arange(30) % 14 + 1, joints=joints, K=K, image=img)
    names = [t.name for t in fig.data]
    assert names == ["body", "joints", "camera", "image plane"]
    assert isinstance(fig.data[0], go.Mesh3d) and len(fig.data[0].vertexcolor) == 30
    assert len(fig.data[3].facecolor) == 2 * 32 * 32
    assert fig.layout.scene.zaxis.title.text == "up -y (m)"
    with pytest.raises(ValueError, match="vertices must be"):
        mesh_viewer(v[:, :2], f)


def test_image_grid_axes():
    v, f, K, img, joints = _scene()
    imgs = np.stack([img] * 3)
    sil = np.zeros((3, 32, 32), bool)
    sil[:, 8:24, 10:20] = True
    fig = image_grid(imgs, joints_2d=np.full((3, 17, 2), 16.0), silhouettes=sil, label_maps=sil.astype(int) * 3)
    assert len(fig.axes) == 6
    assert len(fig.axes[0].images) == 1 and len(fig.axes[0].collections) >= 2  # contour + joints
    assert len(fig.axes[3].images) == 1
    with pytest.raises(ValueError, match="images must be"):
        image_grid(img)
