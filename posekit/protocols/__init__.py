"""The papers' evaluation protocols, their published numbers and the reproduction card.

    from posekit.protocols import evaluate, PROTOCOLS
    result = evaluate(model, load_dataset('h36m', root=..., keypoints='cpn'), 'h36m-mixste')

`protocols` defines and runs the protocols (how each codebase windows, flips, zeroes the root and averages),
`published` holds the papers' numbers, `card` writes the JSON record, `command` is `posekit eval --protocol`.
"""
from .scoring import DEFAULT_PROTOCOL, PROTOCOLS, Protocol, evaluate, get_protocol, pck_auc, window_plan
from .published import PUBLISHED, published

__all__ = ["PROTOCOLS", "DEFAULT_PROTOCOL", "Protocol", "evaluate", "get_protocol", "pck_auc", "window_plan",
           "PUBLISHED", "published"]
