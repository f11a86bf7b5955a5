"""ConvFormer (Diaz-Arias & Shin, arXiv 2304.02147, 2023): a PoseFormer-style spatial + temporal transformer whose
queries, keys and values come from convolutions instead of linear maps ("dynamic multi-headed convolutional
self-attention"). `model.py` holds the forward pass in the paper's order, `figures.py` what notebook 03_convformer
draws. Training is the generic `posekit.train.fit` with MPJPE (the paper's Eq. 2).

There is no official code (the official repository `AJDA1992/ConvFormer` holds only a README), and the method is
patented (US 11,482,048 B1, US 12,033,436 B2, assignee INSEER Inc.): this package is an independent reconstruction
from the paper for teaching and research. From the paper: the spatial/temporal layout, the (d, d, k) and (T, T, k)
convolutions, eta with sum 1, n = 3 kernels of 7, 8 heads, d = 32, 2 + 2 blocks, pre-LN blocks, the
Linear-then-Conv1d(T -> 1) head, MPJPE loss, stochastic depth 0.2 and dropout 0.2 "on the dynamic feature
aggregation". Reconstructed so that all five parameter counts of Table 5 come out to the printed precision
(2.561 / 2.654 / 3.431 / 5.243 / 10.241 M for T = 9 / 27 / 81 / 143 / 243; `parameter_count` in closed form):
- the feed-forward ratio 2 (PoseFormer's), GELU, LayerNorm eps 1e-6 (PoseFormer's);
- the spatial output projection Linear(d -> d), and in the temporal stream a T x T output projection
  Conv1d(T -> T, k=1): a J*d x J*d projection would add 0.6 M parameters and break the counts;
- the final LayerNorm after each stream, every Linear/Conv with a bias.
Open choices, made configurable (defaults in brackets): how sum(eta) = 1 is enforced [softmax over n learned
logits, initialised equal], where the aggregation dropout sits [on the aggregated Q, K, V], the attention scale
[1/sqrt(head dim); `scale='dim'` uses the full width as Eq. 3 literally reads], the optimiser [AdamW of
`posekit.train`; the paper does not name one]. `posekit.evaluation.evaluate` averages with the flipped input at
test time by default; the paper states flipping only for training.
"""
from .figures import TABLE5_PARAMS, plot_parameter_growth, plot_projection_support, projection_support
from .model import (CONFIGS, ETA_MODES, QKV_MODES, STREAMS, ConvAttention, ConvFormer, ConvFormerBlock, DynamicConv1d,
                    build, build_linear, build_single, parameter_count)

__all__ = ["CONFIGS", "ETA_MODES", "QKV_MODES", "STREAMS", "DynamicConv1d", "ConvAttention", "ConvFormerBlock",
           "ConvFormer", "build", "build_single", "build_linear", "parameter_count", "projection_support",
           "TABLE5_PARAMS", "plot_projection_support", "plot_parameter_growth"]
