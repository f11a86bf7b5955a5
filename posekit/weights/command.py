"""`posekit import METHOD FILE --out model.pt`: an official checkpoint as a posekit checkpoint with its run card."""
from __future__ import annotations

import json

from .convert import import_official, save
from .layouts import LAYOUTS


def add_arguments(p) -> None:
    p.add_argument("method", help=f"one of {', '.join(LAYOUTS)}")
    p.add_argument("file", help="the checkpoint file as the official code saved it (.bin / .pth)")
    p.add_argument("--out", required=True, help="the posekit checkpoint to write (e.g. model.pt)")
    p.add_argument("--layer-index", type=int, default=None, dest="prune_layer",
                   help="HoT only: the official --layer_index the model was trained with (hot: 3, hot-tpc: 7)")
    p.add_argument("--token-num", type=int, default=None, dest="tokens",
                   help="hot-tpc only: the official --token_num (default 61; hot reads it from the file)")
    p.add_argument("--exact", action="store_true",
                   help="do not switch on the official numerics (official_ln_eps, official_cdist)")
    p.add_argument("--trust-pickle", action="store_true", dest="trust",
                   help="unpickle arbitrary Python objects (only for files from a source you trust)")


def run(args) -> int:
    overrides = {k: v for k, v in (("prune_layer", args.prune_layer), ("tokens", args.tokens)) if v is not None}
    model, card = import_official(args.method, args.file, trust=args.trust,
                                  options={} if args.exact else None, **overrides)
    path = save(model, card, args.out)
    print(json.dumps({k: card[k] for k in ("method", "config", "build", "frames", "options", "parameters", "source")},
                     indent=1, default=str))
    print(f"wrote {path}")
    return 0
