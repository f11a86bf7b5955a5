"""UAO: Uncertainty-Aware Testing-Time Optimization for 3D human pose lifting (Wang, Liu, Liu, Ren, You, Li, Sebe,
Li; IEEE Transactions on Multimedia 2025, arXiv 2402.02339; official code `xiu-cs/UAO-Pose3D`, cb50588).

`model`: the single-frame GCN-MLP lifter "GUMLP" with its per-joint log-scale head and the heteroscedastic loss;
`tto`: the test-time optimisation of one batch (2D input optimised, network frozen, uncertainty-weighted anchor);
`predict`: the same over a whole dataset, and the `evaluate` the registry uses for 'uao'.

From the paper and the official code: the network, the loss, and the optimisation with its defaults (4 Adam steps,
lr 1e-3 on the 2D, w_g = 0.005, w_p = 1, flip branches projected onto the same non-flipped 2D).
Where this implementation departs from the official code, and why:
- Privileged information. The official code reprojects with the ground-truth root position of every test frame.
  That is not available at test time, so `test_time_optimize` estimates the root from the 2D input and the camera
  intrinsics by default (`root=None`), once, from the first (flip-averaged) prediction, and holds it fixed; the
  ground-truth root is used only when asked for (`predict_tto(..., root='gt')`), to compare with the paper. The
  intrinsics (focal length, centre, distortion) are known, as in the official code and for any calibrated camera.
- Root joint. The official network predicts all 17 joints and its loss trains the root towards 0, so the root's
  error can shrink without bound and its log-scale run to -inf. Here the pose head's output is made root-relative
  (mu_j - mu_root, no extra parameters) and `heteroscedastic_loss` leaves the root out; a floor on s (`S_MIN`,
  0.1 mm) guards the other joints likewise.
- The projection uses the root-relative prediction (X_j - X_root) plus the root, where the official code adds the
  root to the raw output of joints 1..16; the two coincide when the predicted root is 0.
- The adjacency is a registered buffer (the official one is a tensor fixed on cuda:0), so the model moves between
  devices; like the official one it is not a parameter (4,509,059 parameters at the paper configuration).
- Training uses posekit's loop (AdamW, weight decay, grad clipping, per-epoch decay) instead of Adam with amsgrad
  and x0.95 per epoch, and selects no checkpoint on the test set (the official `main.py` keeps the best test epoch).
"""
from .model import (CONFIGS, GUMLP, H36M_SYMMETRIC_LINKS, S_MIN, SUBSETS, ChannelUMLP, GUMLPBlock, SkeletonGCN,
                    SpatialUMLP, build, heteroscedastic_loss, uao_adjacency)
from .predict import TTOPredictions, evaluate, predict_tto, predict_uncertainty
from .tto import WEIGHTINGS, TTOConfig, TTOResult, anchor_weights, estimate_root, test_time_optimize

__all__ = [
    "CONFIGS", "S_MIN", "H36M_SYMMETRIC_LINKS", "SUBSETS", "uao_adjacency", "SkeletonGCN", "ChannelUMLP",
    "SpatialUMLP", "GUMLPBlock", "GUMLP", "build", "heteroscedastic_loss", "WEIGHTINGS", "TTOConfig", "TTOResult",
    "estimate_root", "anchor_weights", "test_time_optimize", "TTOPredictions", "predict_tto", "predict_uncertainty",
    "evaluate",
]
