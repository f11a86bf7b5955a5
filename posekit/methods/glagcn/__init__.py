"""GLA-GCN: Global-local Adaptive Graph Convolutional Network (Yu et al., ICCV 2023, arXiv 2307.05853).

`model` is the forward pass in the paper's order (Sec. 3.1-3.3, Eq. 1-6) with its loss and builders, `training`
the whole-window targets GLA-GCN's global loss needs, `figures` what notebook 08 draws.

From the paper and the released code (`bruceyo/GLA-GCN` fd72990, an earlier version of the method): the released
H36M model (`common/s_agcn.py`) has the shared individually connected head and no global branch;
`build('paper', head='shared', global_branch=False)` (registry name 'glagcn-released') is exactly it, 1,348,856
parameters at T = 243, C = 96.
Reconstructed: the global branch and the unshared head (Eq. 5) come from the paper and from the 3DHP script's loss
(`main_sagcn_gpus_individual_fc_3dhp.py`, the only released trace of L_global + L_local, 1:1); their modules are
missing from the repository. The paper draws the decoder as AGCN(96, 3, 1) on F(96, 243, 17); a ReLU there could not
produce negative coordinates, so ours is the adaptive graph convolution of an AGCN block without its final ReLU and
without the temporal convolution (3,789 parameters at C = 96).
Where it follows the code, not the paper: partitions use the 2s-AGCN 'spatial' labelling normalised by column sums
(A D^-1, `common/agcn.py`) rather than the paper's L^-1/2 A L^-1/2 (alpha = 0.001); B_k starts at 1e-6 (paper: 0);
C_k = softmax(a^T b / (C_inter T)) over the first joint axis (not sqrt(d)); the gcn's BN gamma starts at 1e-6,
Kaiming (fan_out) init, dropout 0.1 inside every gcn and after every block of a stage.
Where it departs from the code: it runs on any device (the released forward allocates with `.cuda()`); training is
posekit's AdamW loop with exponential decay (the code: Ranger with cosine annealing and exponential BN-momentum
decay), and the code's always-on `random_move` target jitter (in-plane rotation of the 3D target by {-5, 0, +5}
degrees, x, y scaled by {0.95, 1, 1.05}) is `fit(..., random_move=True)`, off by default: it is not in the paper
and adds label noise of a few centimetres.
"""
from .figures import input_saliency, joint_dependency, plot_adjacencies, plot_partitions, plot_receptive_field, \
    receptive_fields
from .model import (CONFIGS, GLAGCN, GRAPHS, HEADS, AdaptiveGraphConv, AGCNBlock, FullyConnectedHead,
                    IndividuallyConnected, StridedStage, TemporalConv, build, build_released, build_unshared,
                    glagcn_loss, partitions)
from .training import WindowTargets, fit, random_move

__all__ = [
    "CONFIGS", "HEADS", "GRAPHS", "partitions", "AdaptiveGraphConv", "TemporalConv", "AGCNBlock", "StridedStage",
    "IndividuallyConnected", "FullyConnectedHead", "GLAGCN", "glagcn_loss", "build", "build_released",
    "build_unshared", "random_move", "WindowTargets", "fit", "receptive_fields", "input_saliency",
    "joint_dependency", "plot_partitions", "plot_receptive_field", "plot_adjacencies",
]
