"""The anny body: cached build, Human3.6M-17 joints, joint limits, parts, clothing, retargeting, gradients."""
import numpy as np
import pytest
import torch

pytest.importorskip("anny")
from posekit.body import (CLASSES, PARTS, AnnyBody, ClothingLayout, Retargeter, dress, sample_angles,  # noqa: E402
                          sample_outfit, sample_phenotype, semantic_prior, vertex_parts)
from posekit.body.model import model_data_path  # noqa: E402
from posekit.data.motion import HI, LO, REST_OFFSETS, Body, forward_kinematics  # noqa: E402
from posekit.skeleton import H36M_17  # noqa: E402


@pytest.fixture(scope="module")
def body():
    return AnnyBody("3pc")


def test_topology_is_cached_and_float32(body):
    assert model_data_path("3pc").exists()
    assert body.num_vertices == 369 and body.faces.shape[1] == 3 and body.num_bones == 104
    out = body()
    assert out["vertices"].dtype == torch.float32 and out["joints"].shape == (1, 17, 3)
    with pytest.raises(ValueError, match="unknown anny topology"):
        AnnyBody("2pc")


def test_h36m_joints_are_the_mapped_bone_heads(body):
    out = body()
    j, heads = out["joints"][0], out["bone_heads"][0]
    for i, name in [(0, "root"), (2, "lowerleg01.R"), (8, "neck01"), (13, "wrist.L")]:
        assert torch.equal(j[i], heads[body.bone(name)])
    left, right = list(H36M_17.joints_left), list(H36M_17.joints_right)
    assert (j[left, 0] > 0).all() and (j[right, 0] < 0).all()  # the body's left is +X
    assert j[10, 2] == j[:, 2].max() and j[3, 2] < j[2, 2] < j[1, 2] < j[0, 2]  # head top highest, legs down


def test_sampled_poses_respect_the_joint_limits_and_follow_posekit_motion(body):
    rng = np.random.default_rng(0)
    q, names = sample_angles(rng, 6)
    assert (q[:, 1:] >= LO[1:] - 1e-9).all() and (q[:, 1:] <= HI[1:] + 1e-9).all() and len(names) == 6
    joints = body(Retargeter(body)(q))["joints"].numpy()
    ref = forward_kinematics(q, Body(REST_OFFSETS, 1.75), np.zeros((6, 3))) @ np.array(
        [[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]]).T  # posekit frame -> anny frame
    for j in (2, 3, 5, 6, 12, 13, 15, 16):  # every limb segment points the way posekit's does
        p = H36M_17.parents[j]
        a, b = joints[:, j] - joints[:, p], ref[:, j] - ref[:, p]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        assert cos.min() > 0.999


def test_mesh_is_differentiable_in_pose_and_phenotype(body):
    rng = np.random.default_rng(1)
    pose = Retargeter(body)(sample_angles(rng, 2)[0]).requires_grad_(True)
    phen = torch.from_numpy(sample_phenotype(rng, 2)).float().requires_grad_(True)
    out = body(pose, phen, torch.zeros(2, 3))
    (out["vertices"].square().sum() + out["joints"].sum()).backward()
    assert pose.grad.abs().sum() > 0 and phen.grad.abs().sum() > 0
    heights = body(None, torch.tensor([[0.5, 0.7, 0.5, 0.5, h, 0.5] for h in (0.1, 0.9)]))["vertices"][..., 2]
    assert (heights.amax(1) - heights.amin(1)).diff() > 0.1  # the height phenotype makes a taller body


def test_parts_and_clothing(body):
    parts = vertex_parts(body)
    assert set(parts.tolist()) == set(range(1, len(PARTS) + 1))
    layout = ClothingLayout(body)
    rng = np.random.default_rng(2)
    labels = layout.labels(sample_outfit(rng))
    assert labels.shape == (369,) and labels.min() >= 0 and labels.max() < len(CLASSES)
    prior = semantic_prior(layout, n_outfits=64)
    assert torch.allclose(prior.sum(1), torch.ones(369))
    assert prior[parts == PARTS.index("torso") + 1].argmax(1).ne(0).float().mean() > 0.9  # torsos are clothed
    v = body()["vertices"]
    lab = torch.from_numpy(labels)[None]
    dressed = dress(v, body.faces, lab, torch.tensor([[0.0, 0.01, 0.02, 0.02, 0.01]]))
    moved = (dressed - v).norm(dim=-1)[0]
    assert torch.allclose(moved[lab[0] == 2], torch.tensor(0.02)) and (moved[lab[0] == 0] == 0).all()


def test_smpl_path_loads_a_chumpy_pickle_without_chumpy(tmp_path, monkeypatch):
    """A tiny fake SMPL of the official structure (24 joints, chumpy arrays, sparse regressor), through smplx."""
    pytest.importorskip("smplx")
    import pickle
    import sys
    import types

    import scipy.sparse

    from posekit.body.smpl import load_smpl_arrays, smpl_model

    fake = types.ModuleType("chumpy.ch")

    class Ch:  # what the official pickles hold: an object whose state carries the array as 'x'
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x}

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    fake.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", fake)
    rng = np.random.default_rng(0)
    V = 30
    parents = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21])
    weights = np.zeros((V, 24))
    weights[np.arange(V), np.arange(V) % 24] = 1
    model = {"v_template": Ch(rng.normal(size=(V, 3))), "shapedirs": Ch(rng.normal(0, 0.01, (V, 3, 10))),
             "posedirs": rng.normal(0, 0.001, (V, 3, 207)), "weights": Ch(weights), "f": rng.integers(0, V, (40, 3)),
             "J_regressor": scipy.sparse.csc_matrix(weights.T / np.maximum(weights.T.sum(1, keepdims=True), 1)),
             "kintree_table": np.stack([np.where(parents < 0, 4294967295, parents), np.arange(24)])}
    with open(tmp_path / "SMPL_NEUTRAL.pkl", "wb") as fh:
        pickle.dump(model, fh, protocol=2)
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")
    arrays = load_smpl_arrays(tmp_path)
    assert arrays["shapedirs"].shape == (V, 3, 10) and arrays["J_regressor"].shape == (24, V)
    smpl = smpl_model(tmp_path, vertex_ids={"nose": 0, "reye": 1, "leye": 2, "rear": 3, "lear": 4},
                      use_hands=False, use_feet_keypoints=False)
    out = smpl(betas=torch.zeros(1, 10), body_pose=torch.zeros(1, 69), global_orient=torch.zeros(1, 3))
    assert out.vertices.shape == (1, V, 3) and out.joints.shape == (1, 29, 3)
    assert torch.allclose(out.vertices[0], torch.from_numpy(arrays["v_template"]).float(), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="licensed"):
        load_smpl_arrays(tmp_path / "nowhere")


def test_silhouette_gradients_reach_the_pose(body):
    from posekit.render import SoftRasterizer
    pose = Retargeter(body)(sample_angles(np.random.default_rng(3), 2)[0]).requires_grad_(True)
    to_cam = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # camera 3 m in front of the body, looking at it
    v = body(pose)["vertices"] @ to_cam.T + torch.tensor([0, 0, 3.0])
    alpha = SoftRasterizer(32, 32, sigma=0.5)(v, body.faces, torch.tensor([[40.0, 0, 16], [0, 40, 16], [0, 0, 1]]))["alpha"]
    assert 20 < alpha[0].sum() < 32 * 32 / 2
    (alpha * torch.linspace(0, 1, 32)).sum().backward()  # move mass to the right: the arms must get gradients
    arm = [body.bone(b) for b in ("upperarm01.L", "upperarm01.R")]
    assert pose.grad[:, arm].abs().sum() > 0
