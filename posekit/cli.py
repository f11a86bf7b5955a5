"""The `posekit` command line.

    posekit data synth --out DIR [--name synth|synth-3dhp] [--seed N]
    posekit train METHOD --data NAME [--root DIR] [--keypoints det|gt] --profile P --out DIR [--frames T]
    posekit eval METHOD --checkpoint FILE --data NAME [--root DIR] --profile P [--out DIR]
    posekit eval METHOD --checkpoint FILE --data NAME --root DIR --protocol NAME [--keypoints K] [--out DIR]
    posekit import METHOD FILE --out model.pt        (an official released checkpoint; see data/README.md)
    posekit complexity MODEL --config paper|gpu|cpu|smoke [--frames T] [--json] [--latency N]
    posekit notebooks [NAMES ...] --profile P --out DIR
    posekit bench [--profile cpu] [--device cpu|cuda]

A method may replace the generic loop with its own `fit` / `evaluate` (`posekit.models.trainer_for`). The clip length
of a run is the model's configuration for the profile (its CONFIGS entry, e.g. 27 frames for MixSTE at 'cpu', 9 for
ConvFormer's small model) unless --frames says otherwise; every run prints it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import models, profiles
from . import train as training


def _load(args, profile):
    from .data import load_dataset
    ds = load_dataset(args.data, root=args.root, keypoints=args.keypoints)
    return training.prepare_data(ds, profile)


def cmd_data(args) -> int:
    from .data.synthetic import ensure_synthetic
    if args.what != "synth":
        raise SystemExit("posekit data: only 'synth' can be generated; real datasets are described in data/README.md")
    folder = ensure_synthetic(args.name, root=args.out, seed=args.seed)
    print(folder)
    return 0


def _model_and_profile(args):
    if args.method not in models.REGISTRY:
        raise SystemExit(f"posekit: unknown method {args.method!r}; known: {', '.join(models.model_names())}")
    profile = profiles.get_profile(args.profile)
    model = models.build_model(args.method, config=profile.name, frames=args.frames)
    print(f"posekit {args.command}: {args.method} at configuration {profile.name!r}, clip length "
          f"{model.receptive_field} frames", file=sys.stderr)
    return model, profile


def cmd_train(args) -> int:
    model, profile = _model_and_profile(args)
    trainer = models.trainer_for(args.method)
    train, test = _load(args, profile)
    overrides = {k: v for k, v in dict(epochs=args.epochs, seed=args.seed, device=args.device,
                                       batch_size=args.batch_size, lr=args.lr).items() if v is not None}
    out = Path(args.out)
    config = training.TrainConfig.from_profile(profile, checkpoint_dir=str(out / "checkpoint"), **overrides)
    t0 = time.perf_counter()
    history = trainer.fit(model, train, config, val=None)
    train_seconds = time.perf_counter() - t0
    result = trainer.evaluate(model, test)
    baseline = training.evaluate(None, test, predictions=training.mean_pose_predictions(train, test))
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "method": args.method, "config": profile.name,
                "frames": getattr(model, "receptive_field", None)}, out / "model.pt")
    metrics = {"method": args.method, "data": args.data, "keypoints": args.keypoints, "profile": profile.name,
               "params": models.count_parameters(model), "train_seconds": train_seconds,
               "train_windows_per_epoch": config.max_train_windows, **result.summary(),
               "mean_pose_MPJPE": baseline.mpjpe,
               "per_action": result.per_action, "history": history.records}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("per_action", "history")}, indent=1))
    return 0


def cmd_eval(args) -> int:
    if args.protocol:
        from .protocols.command import run as run_protocol
        return run_protocol(args)
    model, profile = _model_and_profile(args)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model.load_state_dict(state.get("model", state))
    _, test = _load(args, profile)
    result = models.trainer_for(args.method).evaluate(model, test)
    summary = {"method": args.method, "data": args.data, **result.summary(), "per_action": result.per_action}
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "metrics.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


def cmd_import(args) -> int:
    from .weights.command import run
    return run(args)


def cmd_complexity(args) -> int:
    from .complexity import report
    model = models.build_model(args.model, config=args.config, frames=args.frames)
    row = {"model": args.model, "config": args.config,
           **report(model, latency_repeats=args.latency, device=args.device)}
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        print(f"{args.model} ({args.config}, {row['frames']} frames)")
        print(f"  parameters:             {row['params']:,}")
        print(f"  FLOPs, papers' convention (Linear/Conv, 2 x MACs): {row['flops_linear'] / 1e9:.2f} G per clip, "
              f"{row['flops_linear_per_frame'] / 1e6:.1f} M per output frame")
        print(f"  FLOPs, full count (torch.utils.flop_counter):       {row['flops_full'] / 1e9:.2f} G per clip")
        if args.latency:
            print(f"  latency ({args.device}, batch 1): {row['latency_median_ms']:.2f} ms median")
    return 0


def cmd_notebooks(args) -> int:
    import papermill
    root = Path(__file__).resolve().parent.parent / "notebooks"
    paths = sorted(root.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem == n or p.stem.startswith(n) or p.stem.endswith(n) for n in args.names)]
        if not paths:
            raise SystemExit(f"posekit notebooks: no notebook matches {args.names}; have {[p.stem for p in sorted(root.glob('*.ipynb'))]}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        t0 = time.perf_counter()
        papermill.execute_notebook(str(path), str(out / path.name), parameters={"PROFILE": args.profile},
                                   cwd=str(root), progress_bar=False)
        print(f"{path.name}: {time.perf_counter() - t0:.0f} s -> {out / path.name}")
    return 0


def cmd_bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(profile=args.profile, device=args.device)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="posekit", description="posekit: 3D human pose estimation course kit")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="generate the embedded synthetic dataset")
    d.add_argument("what", choices=["synth"])
    d.add_argument("--name", default="synth", choices=["synth", "synth-3dhp"])
    d.add_argument("--out", default=None, help="cache folder (default $POSEKIT_CACHE or ~/.cache/posekit)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_data)

    for name, func in (("train", cmd_train), ("eval", cmd_eval)):
        t = sub.add_parser(name, help=f"{name} a method")
        t.add_argument("method")
        t.add_argument("--data", default="synth")
        t.add_argument("--root", default=None, help="dataset folder (real datasets; see data/README.md)")
        t.add_argument("--keypoints", default="det", help="2D input: det (detector-like) or gt")
        t.add_argument("--profile", default="auto", help="smoke, cpu, gpu, paper or auto")
        t.add_argument("--frames", type=int, default=None,
                       help="clip length (default: the model's configuration for the profile, printed at the start)")
        t.add_argument("--out", required=(name == "train"), default=None)
        if name == "train":
            t.add_argument("--epochs", type=int, default=None)
            t.add_argument("--batch-size", type=int, default=None)
            t.add_argument("--lr", type=float, default=None)
            t.add_argument("--seed", type=int, default=None)
            t.add_argument("--device", default=None)
        else:
            t.add_argument("--checkpoint", required=True)
            t.add_argument("--protocol", default=None,
                           help="a published evaluation protocol (posekit.protocols.PROTOCOLS); writes a "
                                "reproduction card")
            t.add_argument("--device", default="auto")
        t.set_defaults(func=func)

    from .weights.command import add_arguments as import_arguments
    i = sub.add_parser("import", help="import an official released checkpoint")
    import_arguments(i)
    i.set_defaults(func=cmd_import)

    c = sub.add_parser("complexity", help="parameters, FLOPs and latency of a model")
    c.add_argument("model")
    c.add_argument("--config", default="paper", choices=models.CONFIG_NAMES)
    c.add_argument("--frames", type=int, default=None)
    c.add_argument("--json", action="store_true")
    c.add_argument("--latency", type=int, default=0, metavar="N", help="time N forward passes")
    c.add_argument("--device", default="cpu")
    c.set_defaults(func=cmd_complexity)

    n = sub.add_parser("notebooks", help="execute notebooks with papermill")
    n.add_argument("names", nargs="*")
    n.add_argument("--profile", default="smoke")
    n.add_argument("--out", default="runs/notebooks")
    n.set_defaults(func=cmd_notebooks)

    b = sub.add_parser("bench", help="print the benchmark table")
    b.add_argument("--profile", default="cpu")
    b.add_argument("--device", default="auto")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (KeyError, ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"posekit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
