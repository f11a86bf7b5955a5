"""One package per paper, each registered in `posekit.models.REGISTRY`:
- `ktpformer`: KTPFormer, kinematics and trajectory prior knowledge-enhanced transformer (CVPR 2024);
- `poseda`: PoseDA, unsupervised domain adaptation by global position alignment and local pose augmentation (ICCV 2023);
- `convformer`: ConvFormer, dynamic multi-headed convolutional self-attention (2023);
- `hot`: HoT, hourglass tokenizer for efficient video pose transformers (CVPR 2024);
- `uao`: UAO, uncertainty-aware testing-time optimisation of a GCN-MLP lifter (IEEE TMM 2025);
- `glagcn`: GLA-GCN, global-local adaptive graph convolutional network (ICCV 2023).
"""
