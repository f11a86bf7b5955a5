"""The one folder posekit keeps generated things in: $POSEKIT_CACHE, else ~/.cache/posekit."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$POSEKIT_CACHE, else ~/.cache/posekit (synthetic data, the built body, floors, trained runs live below it)."""
    return Path(os.environ.get("POSEKIT_CACHE", Path.home() / ".cache" / "posekit"))
