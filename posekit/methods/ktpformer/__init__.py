"""KTPFormer: Kinematics and Trajectory Prior Knowledge-Enhanced Transformer (Peng, Zhou and Mok, CVPR 2024).

MixSTE (`posekit.nn.mixste`) whose first layer gets two graph priors before its attention: KPA, a graph
convolution over the kinematic tree that *is* the input embedding, and TPA, two graph convolutions over each
joint's trajectory (frame t linked to t-1); both add a learnable dense adjacency to the fixed one. `model.py` holds
the forward pass in the paper's order, `figures.py` what notebook 01_ktpformer draws. Training is the generic
`posekit.train.fit` with the model's `loss` (MixSTE's). Parameter counts at 243 / 81 / 27 frames (width 512,
8 layers): 35,213,430 / 34,859,622 / 34,765,014, as the official code (`JihuaPeng/KTPFormer`) instantiates it.

From the paper and the official code: the topologies and their normalisation (`common/graph_utils.py`), the
learnable graph convolution, KPA/TPA with BatchNorm and ReLU, the loss. Departures, none changing a parameter count:
- `depth` counts all layers, the prior layer included (MixSTE's convention): the paper configuration is depth 8,
  i.e. the official `-dep 7` plain layers plus the KPA/TPA layer;
- the positional embeddings live on the backbone (`spatial_pos`, `temporal_pos`), not inside KPAttention /
  TPAttention; they are added at the same place (after the GCN, before the attention);
- the official KPA/TPA attention blocks build their first LayerNorm with eps 1e-5 (the other norms 1e-6); here
  every block norm uses 1e-6 like the rest of the backbone (a negligible difference);
- training uses a plain backward of MixSTE's loss, not the official ½L² gradient quirk;
- `kinematic_prior` / `trajectory_prior` switch each prior off for the ablation (both off is exactly MixSTE), and
  `learn_topology=False` freezes the learnable adjacency at 0 (not in the official code).
"""
from .figures import (attention_qkv, layer_attention, learned_topologies, neighbour_contrast, plot_ablation,
                      plot_matrices, plot_topologies, qkv_similarity, token_similarity)
from .model import (CONFIGS, KPA, TPA, GraphPrior, KTPFormer, LearnableGraphConv, build, build_kpa_only,
                    build_tpa_only, kinematic_adjacency, prior_adjacency, trajectory_adjacency)

__all__ = ["CONFIGS", "prior_adjacency", "kinematic_adjacency", "trajectory_adjacency", "LearnableGraphConv",
           "GraphPrior", "KPA", "TPA", "KTPFormer", "build", "build_kpa_only", "build_tpa_only",
           "attention_qkv", "token_similarity", "qkv_similarity", "neighbour_contrast", "layer_attention",
           "learned_topologies", "plot_matrices", "plot_topologies", "plot_ablation"]
