"""Image backbones: a small from-scratch CNN for CPU notebooks; ResNet-50 (DSR) and HRNet-W48 (PersPose) at the
papers' configurations, randomly initialised (no weights are downloaded)."""
from .hrnet import HRNetGlobalHead, HRNetW48
from .resnet import ResNet50
from .small_cnn import SmallImageCNN

__all__ = ["SmallImageCNN", "ResNet50", "HRNetW48", "HRNetGlobalHead"]
