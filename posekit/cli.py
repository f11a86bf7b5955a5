"""The `posekit` command line.

    posekit data synth --out DIR [--name synth|synth-3dhp] [--seed N]
    posekit train METHOD --data NAME [--root DIR] [--keypoints det|gt] --profile P --out DIR [--frames T]
    posekit eval METHOD --checkpoint FILE --data NAME [--root DIR] --profile P [--out DIR]
    posekit complexity MODEL --config paper|gpu|cpu|smoke [--frames T] [--json] [--latency N]
    posekit notebooks [NAMES ...] --profile P --out DIR
    posekit bench [--profile cpu] [--device cpu|cuda]

A method module may replace the generic loop by defining `fit(model, train, config, val)` and/or
`evaluate(model, test)` with the signatures of `posekit.train.fit` / `posekit.train.evaluate`.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

import torch

from . import models, profiles
from . import train as training


def _method_module(name: str):
    if name not in models.REGISTRY:
        raise SystemExit(f"posekit: unknown method {name!r}; known: {', '.join(models.model_names())}")
    return importlib.import_module(models.REGISTRY[name].split(":")[0])


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
    profile = profiles.get_profile(args.profile)
    frames = args.frames
    model = models.build_model(args.method, config=profile.name, frames=frames)
    return model, profile


def cmd_train(args) -> int:
    model, profile = _model_and_profile(args)
    module = _method_module(args.method)
    train, test = _load(args, profile)
    overrides = {k: v for k, v in dict(epochs=args.epochs, seed=args.seed, device=args.device,
                                       batch_size=args.batch_size, lr=args.lr).items() if v is not None}
    out = Path(args.out)
    config = training.TrainConfig.from_profile(profile, checkpoint_dir=str(out / "checkpoint"), **overrides)
    fit = getattr(module, "fit", training.fit)
    evaluate = getattr(module, "evaluate", training.evaluate)
    t0 = time.perf_counter()
    history = fit(model, train, config, val=None)
    train_seconds = time.perf_counter() - t0
    result = evaluate(model, test)
    from .floors import floors, format_floors
    floor = floors(train, test)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "method": args.method, "config": profile.name,
                "frames": getattr(model, "receptive_field", None)}, out / "model.pt")
    metrics = {"method": args.method, "data": args.data, "keypoints": args.keypoints, "profile": profile.name,
               "params": models.count_parameters(model), "train_seconds": train_seconds,
               "train_windows_per_epoch": config.max_train_windows, **result.summary(),
               **floor,
               "per_action": result.per_action, "history": history.records}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("per_action", "history")}, indent=1))
    print(format_floors(floor, result.mpjpe))
    return 0


def cmd_eval(args) -> int:
    model, profile = _model_and_profile(args)
    module = _method_module(args.method)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model.load_state_dict(state.get("model", state))
    _, test = _load(args, profile)
    result = getattr(module, "evaluate", training.evaluate)(model, test)
    summary = {"method": args.method, "data": args.data, **result.summary(), "per_action": result.per_action}
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "metrics.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


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
    d.add_argument("--name", default="synth", choices=["synth", "synth-3dhp", "synth-3dhp-cams"])
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
        t.add_argument("--frames", type=int, default=None, help="clip length (default: the profile's)")
        t.add_argument("--out", required=(name == "train"), default=None)
        if name == "train":
            t.add_argument("--epochs", type=int, default=None)
            t.add_argument("--batch-size", type=int, default=None)
            t.add_argument("--lr", type=float, default=None)
            t.add_argument("--seed", type=int, default=None)
            t.add_argument("--device", default=None)
        else:
            t.add_argument("--checkpoint", required=True)
        t.set_defaults(func=func)

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
