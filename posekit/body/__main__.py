"""python -m posekit.body [topology ...]: build and cache the anny topologies once (default: 3pc)."""
import sys

from .model import build_model_data

for topology in sys.argv[1:] or ["3pc"]:
    print(build_model_data(topology))
