"""HoT: Hourglass Tokenizer for efficient transformer-based 3D human pose estimation (Li, Liu, Liu, Wang, Cai and
Sebe, CVPR 2024; official code `NationalGAILab/HoT`).

A plug-in that shapes a seq2seq video pose transformer (MixSTE, `posekit.nn.mixste`) like an hourglass: the first
layers see all F frames; Token Pruning Cluster (TPC, Sec. 3.2) keeps the f frames that DPC-kNN finds
representative; the remaining layers run on them; Token Recovering Attention (TRA, Sec. 3.3) restores F frames
for the head. The seq2frame "TPC w. MixSTE" has no TRA and predicts the kept frames, the centre frame among them.
`model.py` holds the forward pass, `training.py` the official seq2frame training (`fit`), `plug.py` the
plug-and-play use on a trained MixSTE, `figures.py` what notebook 04_hot draws. HoT w. MixSTE at the paper configuration: 35,000,323 parameters, 167.51 GFLOPs (Linear).

Departures from the official code:
- the backbone is posekit's shared MixSTE (same math as the official re-implementation: depth 8, width 512, MLP
  hidden 1024, shared Spatial/Temporal norms, drop path 0.1);
- the TRA query projection runs on the learnable queries repeated over every (clip, joint) pair, as the official
  code does although the result is the same for all: this keeps the paper's FLOPs (computing it once would save
  2 x 243 x 17 x 512^2 = 2.17 GFLOPs a clip);
- `dpc_knn` computes the distances exactly (the official `torch.cdist` default switches to a matrix-product formula
  above 25 tokens, whose rounding of about 1e-4 can reorder near-equal densities), takes an optional
  torch.Generator for its tie-breaking noise (the official code draws from the global generator) and returns the
  density, distance and score of every frame so that a notebook can draw them;
- with flip test-time augmentation the mirrored clip of the seq2frame model runs its own clustering (the official
  test loop reuses the un-mirrored clip's kept frames; the centre frame is kept either way);
- `HoTMixSTE(selection='uniform' | 'random')` replaces the clustering by evenly spaced or random frames, an
  ablation switch that is not in the official code (default 'dpc' is the paper's method).
"""
from .figures import (attention_uniformity, fixed_selection, local_attention_mass, plot_flops_vs_error,
                      plot_kept_frames, plot_pose_spread, plot_recovery_attention, plot_selection, select_frames)
from .plug import fit_with_spread, ground_truth_spread, plugged_hot, pose_spread
from .model import (CONFIGS, SELECTIONS, TPC_CONFIGS, DPCResult, HoTMixSTE, TokenPruningCluster,
                    TokenRecoveringAttention, TPCMixSTE, build, build_tpc, dpc_knn, frame_features, uniform_index)
from .training import fit

__all__ = ["CONFIGS", "TPC_CONFIGS", "SELECTIONS", "frame_features", "DPCResult", "dpc_knn", "uniform_index",
           "TokenPruningCluster", "TokenRecoveringAttention", "HoTMixSTE", "TPCMixSTE", "build", "build_tpc", "fit",
           "select_frames", "local_attention_mass", "plot_selection", "plot_recovery_attention", "plot_kept_frames",
           "plot_flops_vs_error", "attention_uniformity", "fixed_selection", "plot_pose_spread", "plugged_hot",
           "pose_spread", "ground_truth_spread", "fit_with_spread"]
