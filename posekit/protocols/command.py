"""`posekit eval METHOD --checkpoint model.pt --data h36m --root DIR --protocol NAME`: a published protocol on a
posekit checkpoint (imported or trained), a JSON reproduction card, and the paper's number beside the measured one."""
from __future__ import annotations

import json
from pathlib import Path

from ..data import load_dataset
from ..evaluation import resolve_device
from ..weights import load
from .card import reproduction_card
from .scoring import evaluate, get_protocol
from .published import published, side_by_side


def test_split(data: str) -> dict:
    """Loader arguments that read only the test split: a released checkpoint needs no training subjects."""
    if data == "h36m":
        from ..data.h36m import H36M_TEST
        return {"subjects": H36M_TEST}
    return {}


def run(args) -> int:
    protocol = get_protocol(args.protocol)
    if protocol.dataset != args.data:
        raise ValueError(f"protocol {protocol.name} is defined on {protocol.dataset!r}, not --data {args.data!r}")
    if args.root is None:
        raise ValueError(f"--root DIR is required: the folder with the {args.data} files (see data/README.md)")
    model, card = load(args.checkpoint, args.method)
    dataset = load_dataset(args.data, root=args.root, keypoints=args.keypoints, **test_split(args.data))
    device = resolve_device(args.device)
    result = evaluate(model, dataset, protocol, device=device)
    paper = published(args.method, args.data, dataset.keypoints, card.get("frames"))
    record = reproduction_card(args.method, args.checkpoint, card, protocol, args.data, args.root, dataset.keypoints,
                               result, paper, device)
    out = Path(args.out) / "reproduction.json" if args.out else Path(f"reproduction-{args.method}-{protocol.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, default=float))
    digest = str(card.get("checkpoint_sha256"))[:12]
    print(f"{args.method} ({card.get('frames')} frames, checkpoint sha256 {digest}) on "
          f"{args.data} / {dataset.keypoints} 2D, protocol {protocol.name} ({result['frames_scored']} frames scored)")
    for line in side_by_side(result, paper, protocol.headline, protocol.name):
        print("  " + line)
    print(f"reproduction card: {out}")
    return 0
