"""One module per paper, each registered in `posekit.models.REGISTRY`:
ktpformer, poseda, convformer, hot, dsr, perspose, uao, glagcn."""
