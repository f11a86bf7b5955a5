"""`posekit demo VIDEO --method NAME --out DIR`: a video to 2D, 3D and an HTML page (see `posekit.video`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("video", nargs="?", default="",
                        help="a video file (mp4, mov, avi, webm); omitted or 'sample': posekit's sample clip")
    parser.add_argument("--method", default="tcn", help="registered lifter, trained on synthetic detector-like 2D "
                        "on first use and cached (default tcn); ignored with --checkpoint")
    parser.add_argument("--checkpoint", default=None, help="a model.pt from posekit train (17 joints) instead")
    parser.add_argument("--out", required=True, help="folder for index.html and poses.npz")
    parser.add_argument("--profile", default=None, help="training budget of --method: smoke, cpu, gpu, paper or "
                        "auto (default $POSEKIT_PROFILE, else auto)")
    parser.add_argument("--max-frames", type=int, default=None, help="use only the first N frames")
    parser.add_argument("--max-side", type=int, default=640, help="scale frames down to this longer side (px)")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from .. import models
    from ..profiles import get_profile
    from .pipeline import analyse
    if not args.checkpoint and args.method not in models.REGISTRY:
        raise KeyError(f"unknown method {args.method!r}; known: {', '.join(models.model_names())}")
    profile = get_profile(args.profile).name
    result = analyse(args.video, method=args.method, profile=profile, checkpoint=args.checkpoint, seed=args.seed,
                     max_frames=args.max_frames, max_side=args.max_side)
    paths = result.save(Path(args.out))
    for note in result.notes:
        print(f"posekit demo: note: {note}", file=sys.stderr)
    t = result.track
    print(json.dumps({"video": t.clip.source, "frames": t.clip.num_frames, "fps": t.clip.fps,
                      "detected": round(float(t.found.mean()), 3), "method": result.method,
                      "html": str(paths["html"]), "npz": str(paths["npz"])}, indent=1))
    return 0
