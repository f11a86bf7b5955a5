"""DSR: Learning to Regress Bodies from Images using Differentiable Semantic Rendering (Dwivedi, Athanasiou,
Kocabas, Black; ICCV 2021, arXiv 2110.03480; official code `saidwivedi/DSR` at 7d55d17).

`model`: the SPIN/HMR regressor (ResNet-50 or a small CNN, 3 IEF iterations, 6D rotations) with a free anny
body head or the SMPL head (`build("paper")`: the official regressor, 26,977,501 parameters);
`semantics`: the per-vertex clothing-semantic prior and the DSR-MC / DSR-C targets; `losses`: keypoints 2D/3D,
priors, camera, DSR-MC (soft IoU) and DSR-C (class-weighted cross-entropy) with the released weights;
`training`: the image batch source, DSR's fit, evaluate (MPJPE, PA-MPJPE, PVE, part IoU) and the mean floor;
`pw3d`: the real-data path, 3DPW crops with gendered SMPL ground truth (the user's files) scored by the same
`evaluate`; `fitting`: optimise one body to one image with or without the semantic terms; `figures`: the notebook's pictures.

Where this departs from the official code, and why:
- Body: anny (free) replaces SMPL on the synthetic data; its 13 posekit-driven bones and 6 phenotype values take
  the place of SMPL's 24 joint rotations and 10 betas. The SMPL head is there for the user's SMPL files.
- Prior and segmentation: built from anny's parts and procedural outfits (`posekit.body.clothing`) instead of
  scans and Graphonomy; per vertex (the paper's wording) rather than per face (the released `semantic_prior.npy`).
- Camera: the crop's own focal length replaces f = 5000, so the perspective matches the wide-angle synthetic
  cameras; the crop is rotated onto the subject (principal point at the centre), as DSR's crops assume.
- Supervision: no fitted SMPL parameters exist for the images, so the pose/beta losses are replaced by a prior
  holding the shape to its mean (weight 0.001, the beta weight); keypoint, camera and semantic terms as released.
- No augmentation in the CPU budgets; no ImageNet initialisation (no weights are downloaded).
"""
from .losses import DEFAULTS, DSRLoss, soft_iou_loss, weighted_ce
from .model import CONFIGS, AnnyLayer, DSRModel, IEFHead, SMPLLayer, build, camera_translation, matrix_to_rot6d, \
    rot6d_to_matrix
from .semantics import LABELS, MC_LABELS, MERGED, image_labels, merge_matrix, targets, vertex_prior
from .pw3d import EVAL_JOINTS_14, PW3DImages, load_3dpw_images, load_mean_params, smpl_regressor, \
    start_floor
from .training import DSRResult, ImageSet, evaluate, fit, loss_for, mean_floor, per_image, predict, score, summary

__all__ = ["DEFAULTS", "DSRLoss", "soft_iou_loss", "weighted_ce", "CONFIGS", "AnnyLayer", "DSRModel", "IEFHead",
           "SMPLLayer", "build", "camera_translation", "matrix_to_rot6d", "rot6d_to_matrix", "LABELS", "MC_LABELS",
           "MERGED", "image_labels", "merge_matrix", "targets", "vertex_prior", "DSRResult", "ImageSet", "evaluate",
           "fit", "loss_for", "mean_floor", "per_image", "predict", "score", "summary", "EVAL_JOINTS_14", "PW3DImages",
           "load_3dpw_images", "load_mean_params", "smpl_regressor", "start_floor"]
