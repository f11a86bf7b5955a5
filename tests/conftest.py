import os

import pytest

os.environ.setdefault("POSEKIT_PROFILE", "smoke")


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A small synthetic dataset (100 frames per sequence), generated once per test session."""
    from posekit.data.synthetic import load_synthetic
    return load_synthetic("synth", root=tmp_path_factory.mktemp("synth"), frames_per_sequence=100)
