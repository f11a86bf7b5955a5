"""PoseDA: "Global Adaptation meets Local Generalization: Unsupervised Domain Adaptation for 3D Human Pose
Estimation" (Chai, Jiang, Hwang, Wang, ICCV 2023, arXiv 2303.16456). A lifter trained on a labelled source dataset
(Human3.6M) is adapted to an unlabelled target (MPI-INF-3DHP) with only the target's 2D keypoints and intrinsics.

`model`: the single-frame VideoPose3D lifter it adapts (PoseAug's framework, the README's GPA table); `gpa`: Global
Position Alignment (Sec. 3.2); `lpa` and `lpa_training`: Local Pose Augmentation's networks and their adversarial
training (Sec. 3.3); `adapt`: GPA/LPA over datasets and the lifter's training per ablation arm; `figures`.

From the paper's authors: GPA follows their public "core code" (README of rese1f/PoseDA; the same maths in
hbing-l/PoSynDA): random pairing, s = (w + h) / 2 of the target 2D box, z = (f_x dx + f_y dy) / 2s,
root = z * ((u0 - c_x) / f_x, (v0 - c_y) / f_y, 1). Two deliberate departures: every pair uses its own target camera
(the code uses row 0's focal length for the whole batch; identical with one target camera, correct with several);
the camera vector is read as [f_x, f_y, c_x, c_y] in VideoPose3D's normalisation (both axes divided by the image
width), which is what the code effectively does (its docstring's "cx, cy, fx, fy" is wrong).

Reconstructed: LPA is not public. It is rebuilt from the abstract, the author's answer in PoseDA issue #1 (augmented
data generated first, the lifter trained on it afterwards: no feedback loss) and PoseAug (Zhang et al., CVPR 2021):
its bone-angle, bone-length and rotation generators (256-wide MLP template, Kaiming init), its part-aware KCS 3D and
2D discriminators, LSGAN losses with a 4096-sample history pool and its range regularisers. Our guesses:
no translation generator (GPA sets the global position, PoseDA issue #3); rotation bounded by `max_rotation` (pi / 4;
PoseAug: pi); the "anchors" are source 3D poses for the KCS discriminator and target-domain 2D poses, root-relative
and divided by the 2D box scale, for the 2D discriminator (AdaptPose's choice); output layers start small
(`out_init`) so a short CPU schedule starts near the identity; BL keeps the skeleton's summed bone length
(`keep_total_length`): neither critic sees a uniform change of bone lengths and GPA undoes it in 2D, so without
PoseAug's feedback loss nothing held BL's overall scale (its ratios drifted to the -10 % penalty bound, a label-scale
error); PoseAug's unconstrained BL is `LPAGenerator(keep_size=False)`. `RandomAugmenter` is the control: the same
transformations with random parameters of given sizes. posekit uses 17 joints (PoseAug: 16, without Neck/Nose); at
PoseAug's 16-joint skeleton with the translation branch the networks have exactly PoseAug's parameter counts.
The paper's body was not checked line by line; section numbers are those of its method section.
"""
from .adapt import (VARIANTS, adapt, adaptation_data, align_dataset, augment_dataset, bone_length_ratio,
                    concat_datasets, drop_out_of_view, pose_coverage, target_of)
from .figures import distribution_figure, lpa_curves_figure
from .gpa import (GlobalPositionAlignment, TargetPool, bbox_scale, domain_statistics, global_position_alignment,
                  gpa_depth, pair_randomly, project_pinhole)
from .lpa import (FIXED_ANGLE_BONES, FIXED_LENGTH_BONES, KCS_PARTS, POSEAUG_16, AnchorDiscriminator,
                  BoneAngleGenerator, BoneLengthGenerator, BoneModel, KCSDiscriminator, KCSPath, LPAGenerator,
                  ParameterMLP, PoseDiscriminator2D, RandomAugmenter, RotationGenerator, apply_length_ratios,
                  axis_angle_to_matrix, bone_length_groups, keep_total_length, normalize_2d_for_discriminator)
from .lpa_training import (LPA_BUDGETS, HistoryPool, LPAConfig, LPAResult, augment_poses, bone_angle_range_loss,
                           bone_length_range_loss, discriminator_loss, discriminator_scores,
                           generator_adversarial_loss, train_lpa)
from .model import CONFIGS, build

__all__ = [
    "CONFIGS", "build", "bbox_scale", "gpa_depth", "global_position_alignment", "pair_randomly", "project_pinhole",
    "GlobalPositionAlignment", "domain_statistics", "TargetPool", "align_dataset", "POSEAUG_16", "KCS_PARTS",
    "FIXED_ANGLE_BONES", "FIXED_LENGTH_BONES", "BoneModel", "ParameterMLP", "BoneAngleGenerator", "bone_length_groups",
    "BoneLengthGenerator", "axis_angle_to_matrix", "RotationGenerator", "LPAGenerator", "KCSPath", "KCSDiscriminator",
    "PoseDiscriminator2D", "normalize_2d_for_discriminator", "AnchorDiscriminator", "discriminator_loss",
    "generator_adversarial_loss", "bone_angle_range_loss", "bone_length_range_loss", "HistoryPool", "LPAConfig",
    "LPA_BUDGETS", "LPAResult", "train_lpa", "augment_poses", "discriminator_scores",
    "augment_dataset", "drop_out_of_view", "distribution_figure", "lpa_curves_figure", "VARIANTS",
    "concat_datasets", "adaptation_data", "adapt", "target_of", "RandomAugmenter", "keep_total_length",
    "apply_length_ratios", "bone_length_ratio", "pose_coverage",
]
