"""The free parametric body: anny (NAVER LABS Europe, "Human Mesh Modeling for Anny Body", arXiv 2511.03589).

anny (PyPI `anny`, Apache-2.0 code, CC0 MakeHuman assets) is a linear-blend-skinned mesh driven by a 104-bone rig
and six phenotype parameters in [0, 1] (gender, age, muscle, weight, height, proportions). posekit uses the
decimated topologies shipped with it (`notoes_collapse{3,5,10}pc`: 369 / 615 / 1,229 vertices).

Frame: metres, Z up, the body faces -Y and its left is +X; the root bone head (the pelvis) is the origin at rest.
Pose: one rotation per bone in the "local-ref" parameterisation of anny's `models/rigged_model.py`: rotations are
about each bone's head in axes aligned with the world at rest, and compose down the tree, G_b = G_parent(b) @ R_b.

Building a topology compiles warp kernels and writes about 570 MB of intermediate data (a minute or more on two
cores). posekit builds it once in a temporary directory, exports the compact model data (3-7 MB safetensors) to
$POSEKIT_CACHE/body/ and deletes the rest, so every later use anywhere reloads in milliseconds. `python -m
posekit.body` pre-builds it (CI does so before its parallel test workers).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..cache import cache_root

TOPOLOGIES = {"3pc": "notoes_collapse3pc", "5pc": "notoes_collapse5pc", "10pc": "notoes_collapse10pc"}
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
ANNY_VERSION = "0.6.2"


def cache_dir() -> Path:
    """$POSEKIT_CACHE/body (default ~/.cache/posekit/body)."""
    return cache_root() / "body"


def _import_anny():
    try:
        import anny
    except ImportError as err:
        raise ImportError("posekit.body needs the anny body model: pip install 'posekit[image]' "
                          f"(or pip install anny=={ANNY_VERSION})") from err
    return anny


def _topology_name(topology: str) -> str:
    if topology in TOPOLOGIES:
        return TOPOLOGIES[topology]
    if topology in TOPOLOGIES.values():
        return topology
    raise ValueError(f"unknown anny topology {topology!r}; choose one of {', '.join(TOPOLOGIES)} "
                     "(369, 615 or 1,229 vertices)")


def model_data_path(topology: str = "3pc") -> Path:
    anny = _import_anny()
    return cache_dir() / f"anny-{anny.__version__}-{_topology_name(topology)}.safetensors"


def build_model_data(topology: str = "3pc", verbose: bool = True) -> Path:
    """Build a topology once (compiling anny's warp kernels in a temporary cache) and export its model data."""
    path = model_data_path(topology)
    if path.exists():
        return path
    anny = _import_anny()
    from anny.paths import get_anny_cache_path, set_anny_cache_path
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = get_anny_cache_path()
    tmp = Path(tempfile.mkdtemp(prefix="anny-build-", dir=path.parent))
    if verbose:
        print(f"posekit.body: building anny topology {_topology_name(topology)} once (about a minute) -> {path}")
    try:
        set_anny_cache_path(tmp)
        try:
            import warp  # the retopology kernels; keep their cache out of the user's home as well
            warp.config.kernel_cache_dir = str(tmp / "warp")
        except ImportError:
            pass
        anny.Anny(rig="anny", topology=_topology_name(topology), pose_parameterization="local-ref",
                  skinning_method="lbs")
        built = sorted(tmp.glob("v*/build_compact_model_data_*.safetensors"))
        if len(built) != 1:
            raise RuntimeError(f"anny {anny.__version__} did not write one compact model file in {tmp}: {built}; "
                               f"posekit.body is tested with anny=={ANNY_VERSION}")
        part = path.with_suffix(".part")
        shutil.copyfile(built[0], part)
        part.replace(path)
    finally:
        set_anny_cache_path(previous)
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_anny(topology: str = "3pc", dtype: torch.dtype = torch.float32):
    """The anny model (a torch Module) for a topology, reloaded from the posekit cache (built on first use)."""
    anny = _import_anny()
    from anny.models.model_data import ModelData
    from anny.models.model_data import RigConfig
    data = ModelData.load_safetensors(build_model_data(topology))
    rig = RigConfig.from_string("anny")  # what anny's own constructor passes (models/phenotype.py)
    model = anny.Anny.from_model_data(data, skinning_method="lbs", pose_parameterization="local-ref",
                                      bone_orientation=rig.bone_orientation,
                                      root_identity_orientation=rig.root_identity_orientation)
    return model.to(dtype)


class AnnyBody(torch.nn.Module):
    """anny in float32 with posekit's names: forward(pose, phenotype, translation) -> vertices and bone heads.

    pose: (B, 104, 3, 3) local-ref rotations (None = the reference pose), phenotype: (B, 6) in [0, 1] in the
    order of `PHENOTYPES` (None = 0.5 everywhere), translation: (B, 3) metres added to everything.
    Returns a dict: vertices (B, V, 3), bone_heads (B, 104, 3) and joints (B, 17, 3), the Human3.6M-17 joints
    (see `posekit.body.joints`). Differentiable in pose, phenotype and translation.
    """

    def __init__(self, topology: str = "3pc", dtype: torch.dtype = torch.float32):
        super().__init__()
        self.topology = _topology_name(topology)
        self.anny = load_anny(topology, dtype)
        self.bone_labels: list[str] = list(self.anny.bone_labels)
        self.parents: list[int] = list(self.anny.bone_parents)
        self.register_buffer("faces", self.anny.get_triangular_faces().long(), persistent=False)
        self.register_buffer("weights", self.anny.vertex_bone_weights.to(dtype), persistent=False)
        self.register_buffer("weight_bones", self.anny.vertex_bone_indices.long(), persistent=False)
        with torch.no_grad():
            rest = self.anny(pose_parameters=None, phenotype_kwargs=None)
        self.register_buffer("reference_vertices", rest["vertices"][0].to(dtype), persistent=False)
        self.register_buffer("reference_heads", rest["bone_poses"][0, :, :3, 3].to(dtype), persistent=False)
        from .joints import h36m_regressor
        self._h36m = h36m_regressor(self)

    @property
    def num_vertices(self) -> int:
        return int(self.reference_vertices.shape[0])

    @property
    def num_bones(self) -> int:
        return len(self.bone_labels)

    def bone(self, label: str) -> int:
        try:
            return self.bone_labels.index(label)
        except ValueError:
            raise KeyError(f"anny has no bone {label!r}; bones are e.g. {self.bone_labels[:6]}") from None

    def forward(self, pose: torch.Tensor | None = None, phenotype: torch.Tensor | None = None,
                translation: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        dtype, dev = self.reference_vertices.dtype, self.reference_vertices.device
        batch = next((t.shape[0] for t in (pose, phenotype, translation) if t is not None), 1)
        if pose is None:
            pose = torch.eye(3, dtype=dtype, device=dev).expand(batch, self.num_bones, 3, 3)
        if pose.shape[1:] != (self.num_bones, 3, 3):
            raise ValueError(f"pose must be (B, {self.num_bones}, 3, 3) rotation matrices, got {tuple(pose.shape)}")
        if phenotype is None:
            phenotype = torch.full((batch, len(PHENOTYPES)), 0.5, dtype=dtype, device=dev)
        if phenotype.ndim != 2 or phenotype.shape[1] != len(PHENOTYPES):
            raise ValueError(f"phenotype must be (B, 6) in [0, 1] ordered {PHENOTYPES}, got {tuple(phenotype.shape)}")
        homo = torch.zeros(pose.shape[0], self.num_bones, 4, 4, dtype=dtype, device=dev)
        homo[..., :3, :3] = pose.to(dtype)
        homo[..., 3, 3] = 1
        out = self.anny(pose_parameters=homo, phenotype_kwargs=phenotype.to(dtype))
        vertices, heads = out["vertices"], out["bone_poses"][..., :3, 3]
        if translation is not None:
            vertices = vertices + translation[:, None]
            heads = heads + translation[:, None]
        return {"vertices": vertices, "bone_heads": heads, "joints": self._h36m(vertices, heads)}

    def numpy_faces(self) -> np.ndarray:
        return self.faces.cpu().numpy()
