"""Time posekit's MixSTE against the official MixSTE at the same configuration, in one process.

    python benchmarks/vs_official_mixste.py --official PATH/TO/MixSTE [--size cpu] [--threads 1] [--rounds 9]

PATH is your own clone of github.com/JinluZhang1126/MixSTE; nothing of it is copied into posekit. The official
file needs `einops` (pip install einops). Both models get the same weights and are checked to compute the same
function; the table gives the medians of alternating rounds (CPU time) of one training step and of one inference.
Details: `posekit.bench_official`; the same table comes with `posekit bench --official PATH`.
"""
from __future__ import annotations

import argparse

import torch

from posekit import bench_official
from posekit.nn.mixste import CONFIGS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", required=True, help="root of your clone of JinluZhang1126/MixSTE")
    ap.add_argument("--size", default="cpu", choices=list(CONFIGS), help="posekit configuration (default cpu)")
    ap.add_argument("--batch", type=int, default=16, help="clips per training step (cpu profile: 16)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(bench_official.table(bench_official.compare(args.official, args.size, args.batch, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
