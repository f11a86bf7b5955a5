"""The free body model (anny, CC0 assets): mesh, Human3.6M-17 joints, 14 parts, clothing, posekit motion.

    body = AnnyBody("3pc")                       # 369 vertices; "5pc" 615, "10pc" 1,229
    q, actions = sample_angles(rng, 8)           # key poses of posekit's actions, within joint limits
    out = body(Retargeter(body)(q), torch.from_numpy(sample_phenotype(rng, 8)).float())
    out["vertices"], out["joints"]               # (8, V, 3), (8, 17, 3) metres, Z up, facing -Y

Needs the optional extra: pip install 'posekit[image]'. SMPL, when you have the licensed files: `smpl_model(folder)`.
"""
from .clothing import CLASSES, CLASS_COLORS, ClothingLayout, Outfit, dress, sample_outfit, semantic_prior
from .joints import H36M_BONES
from .model import PHENOTYPES, TOPOLOGIES, AnnyBody, build_model_data, cache_dir
from .parts import PART_COLORS, PARTS, part_onehot, vertex_parts
from .retarget import Retargeter, sample_angles, sample_phenotype
from .smpl import load_smpl_arrays, smpl_model

__all__ = ["AnnyBody", "build_model_data", "cache_dir", "TOPOLOGIES", "PHENOTYPES", "H36M_BONES", "PARTS",
           "PART_COLORS", "vertex_parts", "part_onehot", "CLASSES", "CLASS_COLORS", "Outfit", "sample_outfit",
           "ClothingLayout", "semantic_prior", "dress", "Retargeter", "sample_angles", "sample_phenotype",
           "load_smpl_arrays", "smpl_model"]
