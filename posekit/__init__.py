"""posekit: a Jupyter-first course and reproducibility kit for modern 3D human pose estimation."""
__version__ = "0.1.0"
