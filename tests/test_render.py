"""The soft rasteriser: exact coverage as sigma -> 0, gradients against finite differences, joints land on pixels."""
import numpy as np
import pytest
import torch

from posekit.render import SoftRasterizer, project, vertex_normals

K = torch.tensor([[40.0, 0, 8], [0, 40.0, 8], [0, 0, 1]], dtype=torch.float64)


def _triangle(dtype=torch.float64):
    v = torch.tensor([[[-0.3, -0.25, 2.0], [0.3, -0.1, 2.0], [-0.05, 0.33, 2.1]]], dtype=dtype)
    return v, torch.tensor([[0, 1, 2]])


def _inside(px, tri):
    """Pixel centres (N, 2) inside a 2D triangle (3, 2), by edge signs."""
    def cross(a, b, p):
        return (b[0] - a[0]) * (p[:, 1] - a[1]) - (b[1] - a[1]) * (p[:, 0] - a[0])
    s = np.stack([cross(tri[0], tri[1], px), cross(tri[1], tri[2], px), cross(tri[2], tri[0], px)], 1)
    return (s >= 0).all(1) | (s <= 0).all(1)


def test_soft_silhouette_tends_to_exact_coverage():
    v, f = _triangle()
    tri = project(v, K)[0, :, :2].numpy()
    ys, xs = np.mgrid[0:16, 0:16] + 0.5
    exact = _inside(np.stack([xs.ravel(), ys.ravel()], 1), tri).reshape(16, 16)
    hard = SoftRasterizer(16, 16, hard=True)(v, f, K)["alpha"][0].numpy()
    assert (hard == exact).all() and exact.sum() > 20
    soft = SoftRasterizer(16, 16, sigma=1e-6)(v, f, K)["alpha"][0].numpy()
    assert np.abs(soft - exact).max() < 1e-3
    wide = SoftRasterizer(16, 16, sigma=2.0)(v, f, K)["alpha"][0].numpy()
    assert np.abs(wide - exact).max() > 0.2  # a wide sigma does blur the edges


def test_gradients_match_finite_differences():
    v, f = _triangle()
    colors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=torch.float64)
    raster = SoftRasterizer(16, 16, sigma=1.5, gamma=1e-2)
    weight = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def loss(vertices):
        out = raster(vertices, f, K, attributes=colors, background=torch.tensor([0.2, 0.3], dtype=torch.float64))
        return (out["alpha"] * weight[0]).sum() + (out["image"] * weight[1:]).sum()

    assert torch.autograd.gradcheck(loss, (v.clone().requires_grad_(True),), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_hard_attributes_take_the_nearest_face():
    near = torch.tensor([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.0, 0.5, 2.0]], dtype=torch.float64)
    v = torch.cat([near, near * torch.tensor([1.0, 1.0, 1.5])])[None]
    f = torch.tensor([[3, 4, 5], [0, 1, 2]])
    attr = torch.tensor([[1.0]] * 3 + [[0.0]] * 3, dtype=torch.float64)
    out = SoftRasterizer(16, 16, hard=True)(v, f, K, attributes=attr)
    assert out["image"][0, 0, 8, 8] == 1.0  # the near (z = 2) triangle wins although listed second
    soft = SoftRasterizer(16, 16, sigma=0.05, gamma=1e-4)(v, f, K, attributes=attr)
    assert soft["image"][0, 0, 8, 8] > 0.99


def _octahedron(centre, r):
    d = torch.tensor([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=centre.dtype)
    faces = torch.tensor([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    return centre[:, None] + r * d, faces


def test_rendered_joint_lands_on_its_projection():
    joints = torch.tensor([[0.31, -0.22, 3.0], [-0.4, 0.35, 2.5]], dtype=torch.float64)
    Kb = torch.tensor([[60.0, 0, 32], [0, 60.0, 32], [0, 0, 1]], dtype=torch.float64)
    v, f = _octahedron(joints, 0.08)
    alpha = SoftRasterizer(64, 64, hard=True)(v, f, Kb)["alpha"]
    ys, xs = torch.meshgrid(torch.arange(64.0) + 0.5, torch.arange(64.0) + 0.5, indexing="ij")
    centroid = torch.stack([(alpha * xs).sum((1, 2)), (alpha * ys).sum((1, 2))], 1) / alpha.sum((1, 2))[:, None]
    expected = project(joints[None], Kb)[0, :, :2].float()
    assert (centroid.float() - expected).abs().max() < 0.35


def test_vertex_normals_point_outwards():
    v, f = _octahedron(torch.zeros(1, 3, dtype=torch.float64), 1.0)
    n = vertex_normals(v, f)
    assert torch.allclose((n * v).sum(-1), torch.ones(1, 6, dtype=torch.float64))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="vertices must be"):
        SoftRasterizer(8, 8)(torch.zeros(3, 3), torch.tensor([[0, 1, 2]]), K)
    with pytest.raises(ValueError, match="sigma and gamma"):
        SoftRasterizer(8, 8, sigma=0)
